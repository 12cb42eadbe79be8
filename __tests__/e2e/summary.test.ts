// The job summary of a real run: the scripted model makes the real Codex run 30 commands, some of
// them failing and some carrying text that would be markup, a table break, a code span or a
// workflow command if it were not escaped; the summary must show all of it as text.
import { afterEach, describe, expect, it } from 'vitest'
import { message, shell } from '../../test-support/responses-server.js'
import { act, scratchRepository, startWorld, type World } from './harness.js'

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

const HOSTILE_COMMAND = "echo '<script>alert(1)</script> | `whoami` ::stop-commands::abc ::warning::agent-was-here'; exit 3"

describe('the job summary', () => {
  it('shows the conclusion, the message, the diffstat, every command with its exit code and time (failures first), usage, isolation, stages and the artifact, as text', async () => {
    const commands = Array.from({ length: 30 }, (_, i) => {
      if (i === 7) return HOSTILE_COMMAND
      if (i % 10 === 4) return `sleep 1; echo failing-${i}; exit ${i}`
      return `echo line-${i} >> notes.txt`
    })
    world = await startWorld([...commands.map((command) => ({ output: [shell(command)] })), { output: [message('Done: <img src=x onerror=alert(1)> | `code` ::error::agent-error')] }])

    const run = await act(world, scratchRepository())

    const log = run.main.stdout + run.main.stderr
    expect(run.main.outputs.conclusion, log).toBe('success')
    const summary = run.summary
    expect(summary).toContain('<h2>✅ Codex: success</h2>')
    expect(summary).toContain('<pre lang="markdown"><code>Done: &lt;img src=x onerror=alert(1)&gt; | `code` ::error::agent-error</code></pre>')
    expect(summary).toMatch(/<tr><td><code>notes\.txt<\/code><\/td><td>26<\/td><td><code>\++<\/code><\/td><\/tr><\/table>\n1 file changed, 26 insertions\(\+\)/)

    // 30 commands, 4 failed (4, 14, 24 and the hostile one), failures first in the order they ran.
    expect(summary).toContain('<h3>Commands</h3>\n<details><summary>30 run, 4 failed</summary>')
    const table = /<th>command<\/th><th>exit<\/th><th>time<\/th><\/tr>(.*?)<\/table>/.exec(summary)?.[1] ?? ''
    const rows = table.split('</tr>').filter(Boolean)
    expect(rows).toHaveLength(30)
    const exits = rows.map((row) => /<\/code><\/td><td>(\d+|—)<\/td>/.exec(row)?.[1])
    expect(exits).toEqual(['4', '3', '14', '24', ...Array(26).fill('0')])
    expect(rows[0]).toMatch(/^<tr><td>❌ <code>\/bin\/bash -lc 'sleep 1; echo failing-4; exit 4'<\/code><\/td><td>4<\/td><td>(\d+ ms|\d+\.\d s)<\/td>$/)
    // Timed between Codex's started and completed events as they reach the action: close to, not exactly, the sleep.
    const [, amount, unit] = /<td>([\d.]+) (ms|s)<\/td>$/.exec(rows[0]) ?? []
    expect(Number(amount) * (unit === 's' ? 1000 : 1), rows[0]).toBeGreaterThanOrEqual(700)
    expect(rows[1]).toContain(
      `<tr><td>❌ <code>/bin/bash -lc &quot;echo '&lt;script&gt;alert(1)&lt;/script&gt; &#124; &quot;'&#96;whoami&#96; ::stop-commands::abc ::warning::agent-was-here'&quot;'; exit 3&quot;</code></td><td>3</td>`
    )
    expect(rows[4]).toContain("<code>/bin/bash -lc 'echo line-0 &gt;&gt; notes.txt'</code></td><td>0</td>")
    expect(summary).not.toMatch(/<script|<img/)

    expect(summary).toMatch(/<tr><th>requests<\/th>.*<\/tr><tr><td>31<\/td>/)
    expect(summary).toMatch(/Isolation: user \(the agent runs as the unprivileged user 'codex-agent-[0-9a-z]+' \(uid \d+\), without sudo\)\.<br>\nSandbox: bypass/)
    expect(summary).toMatch(/<details><summary>Time of each stage<\/summary>\n\n<table><tr><th>stage<\/th><th>time<\/th><\/tr><tr><td>startup<\/td><td>[\d.]+ ms<\/td><\/tr><tr><td>inputs<\/td>.*<tr><td>run<\/td><td>[\d.]+ (ms|s)<\/td><\/tr>/)
    expect(summary).toMatch(/<a href="https:\/\/github\.com\/[^"]+\/artifacts\/1">Patch and logs \(artifact\)<\/a>\n/)

    // The same agent text in the log stayed text too: no warning or error of the agent's reached the runner.
    const agentCommands = run.main.commands.filter((command) => /agent-(was-here|error)/.test(command.message))
    expect(agentCommands).toEqual([])
  })
})
