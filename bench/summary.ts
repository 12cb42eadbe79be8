// Job summary benchmark: how long the action takes to render the summary of a run whose agent
// wrote megabytes of text dense with characters to escape, against escaping each part whole
// before cutting it (what the summary did before it cut first). Interleaved round-robin in one
// process, so machine noise hits both alike. See bench/README.md.
//
//   npx tsx bench/summary.ts [--rounds 5] [--megabytes 2]
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { escapeHtml } from '../src/agent-text.js'
import { SUMMARY_PART_BYTES, cutEscapedText } from '../src/output-limits.js'
import type { Report } from '../src/publish.js'
import { CommandCollector } from '../src/run/commands.js'
import { StageClock } from '../src/stage-clock.js'
import { renderSummary } from '../src/summary.js'

const { values: options } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, megabytes: { type: 'string', default: '2' } } })
const rounds = Number(options.rounds)
const bytes = Number(options.megabytes) * 1024 * 1024

// Every character needs escaping, as in an agent's message full of generated HTML or shell redirections.
const dense = '<&>"'.repeat(bytes / 4)
const commands = new CommandCollector((text) => text)
for (let i = 0; i < 5000; i++) commands.add({ type: 'item.completed', item: { id: `c${i}`, type: 'command_execution', command: `${i} ${dense.slice(0, 10_000)}`, exit_code: i % 3 ? 0 : 1 } })
const report: Report = {
  settings: { sandbox: 'bypass' } as Report['settings'],
  codex: { binary: '/x/codex', folder: '/x', version: '0.169.0', source: 'tool-cache' },
  identity: { mode: 'user', reason: 'bench' } as Report['identity'],
  configuration: {} as Report['configuration'],
  outcome: { conclusion: 'failure', failure: dense, finalMessage: dense, exitCode: 1, signal: null, events: {} as Report['outcome']['events'], commands: commands.log, eventsFile: '', logFile: '', startedAt: new Date(), durationMs: 1 },
  changes: { patchFile: '', hasChanges: true, changedFiles: [], diffstat: Array.from({ length: 20_000 }, (_, i) => ` dir/<file>-${i} | 1 +`).join('\n') + '\n 20000 files changed', redacted: false, nestedRepositories: [], oversizedFiles: [], outsideSlice: [] },
  usage: { requests: 1, input_tokens: 1, cached_input_tokens: 0, output_tokens: 1, reasoning_output_tokens: 0, total_tokens: 2 },
  clock: new StageClock(),
  withheld: []
}

const methods: Record<string, () => number> = {
  // The message and the failure escaped whole, then cut: what the summary did before.
  'escape whole, then cut': () => cutEscapedText(escapeHtml(report.outcome.finalMessage), '…').length + cutEscapedText(escapeHtml(report.outcome.failure ?? ''), '…').length,
  // The whole summary as the action renders it now (message, failure, diffstat, 100 commands, the rest).
  'renderSummary (cut, escape, cut)': () => renderSummary(report, {}).length
}

const times: Record<string, number[]> = Object.fromEntries(Object.keys(methods).map((name) => [name, []]))
for (let round = 0; round < rounds; round++) {
  const names = Object.keys(methods)
  if (round % 2) names.reverse()
  for (const name of names) {
    const started = performance.now()
    methods[name]()
    times[name].push(performance.now() - started)
  }
}
console.log(`${options.megabytes} MiB message and failure of '<&>"', 5000 commands of 10 KB, 20000-file diffstat; ${rounds} rounds; part limit ${SUMMARY_PART_BYTES} bytes`)
for (const [name, list] of Object.entries(times)) {
  const sorted = [...list].sort((a, b) => a - b)
  console.log(`${name.padEnd(34)} median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms  min ${sorted[0].toFixed(1)} ms  max ${sorted.at(-1)?.toFixed(1)} ms`)
}
