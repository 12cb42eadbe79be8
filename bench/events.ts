// Run-stage benchmark: how much the action slows an agent that prints a lot, and how much memory
// it takes. Side by side, alternating: the stand-in agent (bench/agent-output.mjs) writing
// straight into a file, as a bare `codex exec --json > events.jsonl` would, against the same agent
// run through the action's `runCodex` (bench/events-consumer.ts, bundled, plain node). See bench/README.md.
//
//   npx tsx bench/events.ts [--rounds 3] [--megabytes 250]
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { median } from './measure.js'

const here = path.dirname(fileURLToPath(import.meta.url))

export async function benchEvents(rounds: number, megabytes: number): Promise<string[]> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'codex-events-bench-'))
  const producer = path.join(here, 'agent-output.mjs')
  const consumer = path.join(scratch, 'consumer.mjs')
  await build({ entryPoints: [path.join(here, 'events-consumer.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: consumer, logLevel: 'error', banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } })
  const lines: string[] = []
  try {
    for (const kind of ['text', 'control', 'line']) {
      const bare: number[] = []
      const action: number[] = []
      const rss: number[] = []
      for (let round = 0; round < rounds; round++) {
        const file = path.join(scratch, 'events.jsonl')
        const fd = openSync(file, 'w')
        const t0 = performance.now()
        await exited(spawn(process.execPath, [producer, '--megabytes', String(megabytes), '--kind', kind], { stdio: ['ignore', fd, 'inherit'] }))
        bare.push(performance.now() - t0)
        closeSync(fd)
        rmSync(file)
        let report = ''
        const child = spawn(process.execPath, [consumer, producer, String(megabytes), kind], { stdio: ['ignore', 'ignore', 'pipe'] })
        child.stderr.on('data', (chunk: Buffer) => (report += chunk))
        await exited(child)
        const { runMs, maxRssMb } = JSON.parse(report.trim().split('\n').at(-1)!) as { runMs: number; maxRssMb: number }
        action.push(runMs)
        rss.push(maxRssMb)
      }
      const ratio = median(action) / median(bare)
      lines.push(
        `| ${megabytes} MB of ${{ text: 'text', control: 'control characters (escaped six-fold)', line: 'text in one line' }[kind]} | ${median(bare).toFixed(0)} | ${median(action).toFixed(0)} | **${ratio.toFixed(2)}** | ${((megabytes / median(action)) * 1000).toFixed(0)} | ${median(rss).toFixed(0)} (max ${Math.max(...rss).toFixed(0)}) |`
      )
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
  return ['| agent output through the action | bare agent → file, ms | through runCodex, ms | ratio | MB/s | action peak RSS, MB |', '|---|---:|---:|---:|---:|---:|', ...lines]
}

function exited(child: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${child.spawnfile} exited with ${code}`))))
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, megabytes: { type: 'string', default: '250' } } })
  console.log((await benchEvents(Number(values.rounds), Number(values.megabytes))).join('\n'))
}
