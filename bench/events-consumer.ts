// The action's run stage alone, for bench/events.ts: `runCodex` (events reader, redaction, log
// limits, the files) with `bench/agent-output.mjs` standing in for Codex. Bundled and run with
// plain `node`, as the action is, so its peak RSS is the action's and not a TypeScript loader's.
// Prints one JSON line on stderr: { runMs, maxRssMb }.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import type { AgentIdentity } from '../src/isolation.js'
import type { Settings } from '../src/inputs.js'
import { Redactor } from '../src/redact.js'
import { runCodex } from '../src/run/index.js'

const [producer, megabytes, kind] = process.argv.slice(2)
const output = mkdtempSync(path.join(os.tmpdir(), 'codex-events-bench-'))
const identity = {
  mode: 'none',
  reason: 'bench',
  spawnCommand: (_program: string, _args: string[], env: Record<string, string>) => ({ file: process.execPath, args: [producer!, '--megabytes', megabytes!, '--kind', kind!], options: { env } }),
  signalAll: async () => {},
  stop: async () => [],
  sweep: async () => {},
  remove: async () => []
} as unknown as AgentIdentity
const settings = { prompt: 'bench', timeoutMs: 3_600_000, sandbox: 'workspace-write', codexArgs: [] } as unknown as Settings
// As many values as a run has: the API key, the GitHub token, the proxy's client token.
const redactor = new Redactor(['sk-proj-' + 'a'.repeat(40), 'ghs_' + 'b'.repeat(36), 'c'.repeat(64)])
// A model proxy whose budget never runs out: the bench measures the events path alone.
const proxy = { budgetExceeded: new Promise<never>(() => {}), budget: () => ({}), usage: { requests: 0, input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0, total_tokens: 0 } }
const t0 = performance.now()
const outcome = await runCodex('codex', settings, { directories: { output, codexHome: output }, configPath: '', env: {}, workingDirectory: output }, identity, redactor, proxy)
const runMs = performance.now() - t0
rmSync(output, { recursive: true, force: true })
if (outcome.conclusion !== 'success') throw new Error(`the run did not succeed: ${outcome.failure}`)
// VmHWM, this process's own peak: getrusage's maxRSS also counts the parent's pages this process was forked with,
// and the parent (npm run bench, after the 100k-file collect) is larger than the consumer ever gets.
const peakKb = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1])
process.stderr.write(JSON.stringify({ runMs, maxRssMb: peakKb / 1024, events: outcome.events.eventCount }) + '\n')
