// Stands in for `codex exec --json` with a chatty agent: prints `--megabytes` MB of JSONL events as
// fast as the reader takes them, each a finished command whose output is 1 MiB, as Codex keeps it.
// `--kind text` is plain text (escaped newlines); `--kind control` is control characters, which
// JSON escapes six-fold (\u0001), so each event line is about 6 MB. `--kind line` is one line of `--megabytes`
// MB, the text of an agent message that does not end until the run's last events: what a reader must
// not hold whole.
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { megabytes: { type: 'string' }, kind: { type: 'string' } } })
const total = Number(values.megabytes) * 1e6
const output = values.kind === 'control' ? '\u0001\u0002\u001b[0m'.repeat(1 << 18) : 'compiling src/module.ts ... ok\n'.repeat((1 << 20) / 32)
let written = 0
let id = 0
function event() {
  const item = { id: `item_${id++}`, type: 'command_execution', command: "bash -lc 'npm test'", aggregated_output: output, exit_code: 0, status: 'completed' }
  return Buffer.from(JSON.stringify({ type: 'item.completed', item }) + '\n')
}
const line = values.kind === 'line' ? Buffer.from('compiling src/module.ts ... ok\\n'.repeat((1 << 20) / 32)) : event()
const header = Buffer.from(`{"type":"thread.started","thread_id":"bench"}\n{"type":"turn.started"}\n${values.kind === 'line' ? '{"type":"item.completed","item":{"id":"long","type":"agent_message","text":"' : ''}`)
process.stdout.write(header)
function pump() {
  while (written < total) {
    written += line.length
    if (!process.stdout.write(line)) return void process.stdout.once('drain', pump)
  }
  process.stdout.write(`${values.kind === 'line' ? '"}}\n' : ''}{"type":"item.completed","item":{"id":"last","type":"agent_message","text":"done"}}\n{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1}}\n`)
}
pump()
