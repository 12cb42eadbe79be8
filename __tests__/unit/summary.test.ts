import { describe, expect, it } from 'vitest'
import type { Report } from '../../src/publish.js'
import { CommandCollector, COMMAND_TEXT_CHARS, type CommandLog } from '../../src/run/commands.js'
import type { CodexEvent } from '../../src/run/events.js'
import { StageClock } from '../../src/stage-clock.js'
import { RUNNER_SUMMARY_LIMIT_BYTES, renderSummary } from '../../src/summary.js'

const HOSTILE = "<script>alert(1)</script> | `rm -rf` ::stop-commands::x ![i](https://evil.example/p.png) &amp; a\n\nb"

function commandLog(commands: { command: string; exit: number | null }[]): CommandLog {
  const collector = new CommandCollector((text) => text)
  commands.forEach(({ command, exit }, i) => collector.add({ type: 'item.completed', item: { id: `item_${i}`, type: 'command_execution', command, exit_code: exit, status: exit === 0 ? 'completed' : 'failed' } }))
  return collector.log
}

function report(overrides: Partial<Report> = {}, outcome: Partial<Report['outcome']> = {}, changes: Partial<Report['changes']> = {}): Report {
  const clock = new StageClock()
  Object.assign(clock.milliseconds, { inputs: 3.2, install: 1250, run: 41_000.5 })
  return {
    settings: { sandbox: 'bypass' } as Report['settings'],
    codex: { binary: '/x/codex', folder: '/x', version: '0.169.0', source: 'tool-cache' },
    identity: { mode: 'user', reason: "the agent runs as the unprivileged user 'codex-agent-1' (uid 1000001), without sudo" } as Report['identity'],
    configuration: {} as Report['configuration'],
    outcome: { conclusion: 'success', exitCode: 0, signal: null, finalMessage: 'All done.', events: {} as Report['outcome']['events'], commands: commandLog([]), eventsFile: '', logFile: '', startedAt: new Date(), durationMs: 4200, ...outcome },
    changes: { patchFile: '/p', hasChanges: true, changedFiles: ['src/a.ts'], diffstat: ' src/a.ts | 3 ++-\n 1 file changed, 2 insertions(+), 1 deletion(-)', redacted: false, nestedRepositories: [], oversizedFiles: [], outsideSlice: [], ...changes },
    usage: { requests: 4, input_tokens: 1200, cached_input_tokens: 200, output_tokens: 300, reasoning_output_tokens: 0, total_tokens: 1500 },
    clock,
    withheld: [],
    ...overrides
  }
}

const ARTIFACT = { artifactId: 7, artifactUrl: 'https://github.com/o/r/actions/runs/1/artifacts/7' }

describe('renderSummary', () => {
  it('shows the conclusion, the message, the diffstat as a table, usage, isolation, stage times and the artifact', () => {
    const html = renderSummary(report(), ARTIFACT)
    expect(html).toContain('<h2>✅ Codex: success</h2>\nCodex 0.169.0 ran for 4.2 s.')
    expect(html).toContain('<h3>Final message</h3>\n\n<pre lang="markdown"><code>All done.</code></pre>')
    expect(html).toContain('<table><tr><th>file</th><th>lines</th><th></th></tr><tr><td><code>src/a.ts</code></td><td>3</td><td><code>++-</code></td></tr></table>\n1 file changed, 2 insertions(+), 1 deletion(-)\n')
    expect(html).toContain('<tr><td>4</td><td>1200</td><td>200</td><td>300</td><td>1500</td></tr>')
    expect(html).toContain("Isolation: user (the agent runs as the unprivileged user 'codex-agent-1' (uid 1000001), without sudo).<br>\nSandbox: bypass (Codex's own sandbox is off")
    expect(html).toContain('<tr><td>inputs</td><td>3 ms</td></tr><tr><td>install</td><td>1.3 s</td></tr><tr><td>run</td><td>41.0 s</td></tr>')
    expect(html.endsWith(`<a href="${ARTIFACT.artifactUrl}">Patch and logs (artifact)</a>\n`)).toBe(true)
    expect(html).not.toContain('<h3>Commands</h3>')
    expect(html).not.toContain('Budget')
  })

  it('lists the commands collapsed, failures first, with exit code and time', () => {
    const commands = commandLog([
      { command: "/bin/bash -lc 'npm test'", exit: 0 },
      { command: "/bin/bash -lc 'make lint'", exit: 2 },
      { command: "/bin/bash -lc 'ls'", exit: 0 }
    ])
    commands.others[0].durationMs = 1500
    const html = renderSummary(report({}, { commands }), ARTIFACT)
    expect(html).toContain('<h3>Commands</h3>\n<details><summary>3 run, 1 failed</summary>\n\n<table><tr><th>command</th><th>exit</th><th>time</th></tr>')
    const rows = html.slice(html.indexOf('<th>time</th></tr>')).split('</tr>').slice(1, 4)
    expect(rows).toEqual([
      "<tr><td>❌ <code>/bin/bash -lc 'make lint'</code></td><td>2</td><td>—</td>",
      "<tr><td><code>/bin/bash -lc 'npm test'</code></td><td>0</td><td>1.5 s</td>",
      "<tr><td><code>/bin/bash -lc 'ls'</code></td><td>0</td><td>—</td>"
    ])
  })

  it("shows agent text as text: no tag, no table pipe, no code span, no blank line, no Markdown", () => {
    const html = renderSummary(
      report({}, { conclusion: 'failure', failure: HOSTILE, finalMessage: HOSTILE, commands: commandLog([{ command: HOSTILE, exit: 1 }]) }, { diffstat: ` ${HOSTILE.replace(/\n/g, ' ')} | 1 +\n 1 file changed, 1 insertion(+)` }),
      ARTIFACT
    )
    expect(html).not.toMatch(/<script|<img|\n\n\n/)
    // Markdown (an image, a link) is not read inside an HTML block: every copy of the text is in <pre> or a table cell.
    expect(html.split('![i](https').length - 1).toBe(4)
    for (let at = html.indexOf('![i]('); at >= 0; at = html.indexOf('![i](', at + 1)) {
      const before = html.slice(0, at)
      const opened = Math.max(before.lastIndexOf('<pre'), before.lastIndexOf('<td>'))
      expect(opened, `copy at ${at}`).toBeGreaterThan(Math.max(before.lastIndexOf('</pre>'), before.lastIndexOf('</td>')))
    }
    expect(html).toContain('<pre><code>&lt;script&gt;alert(1)&lt;/script&gt; | `rm -rf` ::stop-commands::x ![i](https://evil.example/p.png) &amp;amp; a\n\nb</code></pre>')
    // In table cells: | and ` as entities, line breaks as ⏎, so no blank line ends the HTML block.
    expect(html).toContain('<td>❌ <code>&lt;script&gt;alert(1)&lt;/script&gt; &#124; &#96;rm -rf&#96; ::stop-commands::x ![i](https://evil.example/p.png) &amp;amp; a⏎⏎b</code></td><td>1</td>')
    expect(html).toContain('<td><code>&lt;script&gt;alert(1)&lt;/script&gt; &#124; &#96;rm -rf&#96; ::stop-commands::x ![i](https://evil.example/p.png) &amp;amp; a  b</code></td><td>1</td>')
    // A table is one line: no line break of the agent's can end its HTML block.
    const tables = html.match(/<table>[\s\S]*?<\/table>/g) ?? []
    expect(tables.length).toBe(4)
    for (const table of tables) expect(table).not.toContain('\n')
  })

  it('starts every <pre> block after a blank line, so a blank line of the agent cannot end the block around it', () => {
    // Right after <h3> (or any line), a <pre> is only a continuation of that HTML block, which CommonMark ends at the
    // first blank line: the agent's text after it rendered as Markdown (an image, a link). After a blank line, <pre>
    // starts a block of its own, which only </pre> ends.
    const html = renderSummary(
      report({ structuredOutput: { errors: [`/ must NOT have additional properties ('x\n\n${HOSTILE}')`] } }, { conclusion: 'failure', failure: HOSTILE, finalMessage: HOSTILE }),
      ARTIFACT
    )
    const blocks = html.split('<pre').length - 1
    expect(blocks).toBe(3)
    expect(html.split('\n\n<pre').length - 1).toBe(blocks)
  })

  it('shows the budget, which limit stopped the run, and the estimated cost as an estimate', () => {
    const html = renderSummary(
      report({ budget: { maxTokens: 1000, maxModelRequests: 10, exceeded: 'max-tokens' }, cost: { model: 'gpt-5.5', estimatedUsd: 0.01234, source: 'built-in' } }, { conclusion: 'budget-exceeded', failure: 'The run used 1500 tokens, over max-tokens (1000).' }),
      ARTIFACT
    )
    expect(html).toContain('<h2>💸 Codex: budget-exceeded</h2>')
    expect(html).toContain('<b>Stopped by the budget:</b> max-tokens (1000 tokens) was reached.')
    expect(html).toContain('Budget: 1500 of 1000 tokens (max-tokens); 4 of 10 model requests (max-model-requests); <b>max-tokens was reached and stopped the run</b>.')
    expect(html).toContain("Estimated cost: about $0.0123 for gpt-5.5 (an estimate from the action's built-in price list; your provider's bill is what counts).")
  })

  it('says what the patch leaves out: private entries, nested repositories, paths outside the leg', () => {
    const html = renderSummary(report({ withheld: ['secret.pem'] }, {}, { nestedRepositories: ['vendor/lib'], outsideSlice: ['web/a.ts', 'web/b.ts'] }), ARTIFACT)
    expect(html).toContain("1 private entries of earlier steps were not lent to the agent and are not in the patch; 1 git repositories inside the work tree are not in the patch; 2 changed paths outside this leg's paths are not in the patch (run.json in the artifact lists them).")
    expect(renderSummary(report(), ARTIFACT)).not.toContain('run.json in the artifact lists them')
  })

  it('shows the network part with refused hosts as text only, after a blank line', () => {
    const refusedHosts = ['evil.test:443', "x'$(id)';<b>x.test", ...Array.from({ length: 60 }, (_, i) => `h${i}.test`)]
    const html = renderSummary(report({ network: { mode: 'allow-list', enforcement: 'iptables', refusedHosts, attempts: { allowed: 3, refused: 62, failed: 1 } } }), ARTIFACT)
    expect(html).toContain('<h3>Network</h3>\nnetwork: allow-list; 3 connections allowed, 62 refused, 1 failed.\n')
    expect(html).toContain('\n\n<pre lang="text"><code>evil.test:443\nx???id????b?x.test\nh0.test')
    expect(html).toContain('h47.test\n# and 12 more in network.jsonl</code></pre>')
    expect(html).not.toContain('<b>x.test')
    expect(renderSummary(report(), ARTIFACT)).not.toContain('<h3>Network</h3>')
  })

  it('shows structured output errors, escaped', () => {
    const html = renderSummary(report({ structuredOutput: { errors: ['/answer must be <number>'] } }), ARTIFACT)
    expect(html).toContain('The final message did not match the output schema:\n\n<pre><code>/answer must be &lt;number&gt;</code></pre>')
    expect(renderSummary(report({ structuredOutput: { value: { answer: 1 } } }), ARTIFACT)).toContain('The final message matched the output schema.')
  })

  it('stays within the runner limit for a huge report, cutting each part and naming what it left out', () => {
    const huge = '<&>|`'.repeat(400_000)
    const longCommand = huge.slice(0, 10_000)
    const commands = commandLog(Array.from({ length: 5000 }, (_, i) => ({ command: `${i} ${longCommand}`, exit: i % 3 === 0 ? 1 : 0 })))
    const diffstat = Array.from({ length: 20_000 }, (_, i) => ` dir/${'<x>'.repeat(30)}-${i} | 1 +`).join('\n') + '\n 20000 files changed, 20000 insertions(+)'
    const big = report({ withheld: ['a'] }, { conclusion: 'failure', failure: huge, finalMessage: huge, commands }, { diffstat })
    const html = renderSummary(big, ARTIFACT)
    // Booleans, not string matchers: a failure must not print a megabyte of diff.
    const has = (text: string): boolean => html.includes(text)
    expect(Buffer.byteLength(html)).toBeLessThan(RUNNER_SUMMARY_LIMIT_BYTES)
    // Each part is cut to its own size first, so at the runner's limit nothing has to be left out whole.
    expect(has('Left out to stay within')).toBe(false)
    expect(has('…(cut; the whole message is last-message.md in the artifact)')).toBe(true)
    expect(has('…(cut; events.jsonl and codex.log in the artifact have all of it)')).toBe(true)
    expect(has('… 19700 more files; the patch in the artifact has every change')).toBe(true)
    expect(has('5000 run, 1667 failed; showing the first 50 failures and the last 50 others, events.jsonl has them all')).toBe(true)
    expect(html.endsWith('Patch and logs (artifact)</a>\n')).toBe(true)
    // No entity is split by a cut.
    expect(/&(?:a|am|amp|l|lt|g|gt|#|#1|#12|#124|#9|#96)(?![;a-z0-9#])/.test(html)).toBe(false)

    // With less room, whole parts are left out and named, the link still comes last.
    const small = renderSummary(big, ARTIFACT, 120 * 1024)
    expect(Buffer.byteLength(small)).toBeLessThanOrEqual(120 * 1024)
    expect(/<b>Left out to stay within GitHub's step summary limit:<\/b> [a-z ,]*commands[a-z ,]*\. The artifact has all of it/.test(small)).toBe(true)
    expect(small.includes('<h2>❌ Codex: failure</h2>')).toBe(true)
    expect(small.endsWith('Patch and logs (artifact)</a>\n')).toBe(true)
  })
})

describe('CommandCollector', () => {
  const started = (id: string): CodexEvent => ({ type: 'item.started', item: { id, type: 'command_execution', command: 'x', exit_code: null, status: 'in_progress' } })
  const completed = (id: string, command: string, exit: number | null, status = exit === 0 ? 'completed' : 'failed'): CodexEvent => ({ type: 'item.completed', item: { id, type: 'command_execution', command, exit_code: exit, status } })

  it('keeps the first failures and the last others, with the counts of all, and times each from start to completion', () => {
    const collector = new CommandCollector((text) => text, 3, 2)
    for (let i = 0; i < 100; i++) {
      collector.add(started(`c${i}`), i * 10)
      collector.add(completed(`c${i}`, `cmd ${i}`, i % 4 === 0 ? 1 : 0), i * 10 + 5)
    }
    collector.add({ type: 'item.completed', item: { id: 'm', type: 'agent_message', text: 'hi' } })
    collector.add(completed('d', 'declined', null, 'declined'))
    const log = collector.log
    expect(log.total).toBe(101)
    expect(log.failedTotal).toBe(26)
    expect(log.failures.map((c) => c.command)).toEqual(['cmd 0', 'cmd 4', 'cmd 8'])
    expect(log.others.map((c) => c.command)).toEqual(['cmd 98', 'cmd 99'])
    expect(log.others[1]).toEqual({ command: 'cmd 99', exitCode: 0, failed: false, durationMs: 5 })
  })

  it('redacts each command whole, then cuts it', () => {
    const secret = 'sk-secret-0123456789'
    const collector = new CommandCollector((text) => text.replaceAll(secret, '***'))
    collector.add(completed('a', `${'x'.repeat(COMMAND_TEXT_CHARS - 5)}${secret}`, 0))
    const [record] = collector.log.others
    expect(record.command).toBe(`${'x'.repeat(COMMAND_TEXT_CHARS - 5)}***`)
    collector.add(completed('b', 'y'.repeat(COMMAND_TEXT_CHARS * 3), 0))
    expect(collector.log.others[1].command).toBe(`${'y'.repeat(COMMAND_TEXT_CHARS)}…`)
  })
})
