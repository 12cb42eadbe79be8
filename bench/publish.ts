// Publish benchmark: the action's `publish` (last message, the transcript copied and redacted,
// run.json, the artifact upload, outputs and the job summary) against a bare `@actions/artifact`
// upload of the same files, side by side against the fake results service on 127.0.0.1,
// alternating each round. See bench/README.md.
//
//   npx tsx bench/publish.ts [--rounds 5] [--megabytes 64]
import { randomBytes } from 'node:crypto'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { DefaultArtifactClient } from '@actions/artifact'
import { publish, type Report } from '../src/publish.js'
import { Redactor } from '../src/redact.js'
import { CommandCollector } from '../src/run/commands.js'
import { StageClock } from '../src/stage-clock.js'
import { startResultsService } from '../test-support/results-service.js'
import { median } from './measure.js'

const SECRET = `sk-proj-${randomBytes(24).toString('hex')}`

/**
 * A heavy run's files: `megabytes` split as events 60%, transcript 30%, log 5%, patch 5%. Event and
 * transcript lines are JSON like Codex's, with command output in them.
 */
function writeRunFiles(output: string, codexHome: string, megabytes: number): void {
  const mb = (share: number): number => Math.round(megabytes * share * 1024 * 1024)
  const jsonLines = (bytes: number): string => {
    const lines: string[] = []
    let size = 0
    for (let i = 0; size < bytes; i++) {
      // Test output with timings and ids in it, so it compresses about as well as a real log (4-6x), not 200x.
      const output = Array.from({ length: 100 }, (_, n) => `PASS src/module${i}/case${n}.test.ts (${(Math.random() * 1000).toFixed(0)} ms) ${randomBytes(6).toString('hex')}`).join('\n')
      const line = JSON.stringify({ type: 'item.completed', item: { id: `item_${i}`, type: 'command_execution', command: `npm test -- --shard ${i}`, aggregated_output: output, exit_code: 0 } })
      lines.push(line)
      size += line.length + 1
    }
    return lines.join('\n') + '\n'
  }
  mkdirSync(output, { recursive: true })
  writeFileSync(path.join(output, 'events.jsonl'), jsonLines(mb(0.6)))
  writeFileSync(path.join(output, 'codex.log'), 'codex: working on the task, step after step\n'.repeat(mb(0.05) / 44))
  const patchLine = '+export const answer = computeTheAnswer(input, options) // a line of the change\n'
  writeFileSync(path.join(output, 'codex.patch'), `diff --git a/src/a.ts b/src/a.ts\n--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1,0 +1,1 @@\n${patchLine.repeat(mb(0.05) / patchLine.length)}`)
  const sessions = path.join(codexHome, 'sessions', '2026', '12', '01')
  mkdirSync(sessions, { recursive: true })
  writeFileSync(path.join(sessions, 'rollout-2026-12-01T00-00-00-bench.jsonl'), jsonLines(mb(0.3)))
}

function report(output: string, codexHome: string, artifactName: string): Report {
  return {
    settings: { sandbox: 'bypass', uploadArtifacts: true, artifactName, retentionDays: undefined, paths: [] } as unknown as Report['settings'],
    codex: { binary: '/x/codex', folder: '/x', version: '0.169.0', source: 'tool-cache' },
    identity: { mode: 'user', reason: 'the agent runs as an unprivileged user' } as Report['identity'],
    configuration: { directories: { output, codexHome } } as Report['configuration'],
    outcome: { conclusion: 'success', exitCode: 0, signal: null, finalMessage: 'All done.', events: { usage: undefined } as unknown as Report['outcome']['events'], commands: new CommandCollector((text) => text).log, eventsFile: path.join(output, 'events.jsonl'), logFile: path.join(output, 'codex.log'), startedAt: new Date(), durationMs: 60_000 },
    changes: { patchFile: path.join(output, 'codex.patch'), hasChanges: true, changedFiles: ['src/a.ts'], diffstat: ' src/a.ts | 1 +\n 1 file changed', redacted: false, nestedRepositories: [], oversizedFiles: [], outsideSlice: [] },
    usage: { requests: 40, input_tokens: 120_000, cached_input_tokens: 20_000, output_tokens: 3000, reasoning_output_tokens: 0, total_tokens: 123_000 },
    clock: new StageClock(),
    withheld: []
  }
}

export async function benchPublish(rounds: number, megabytes: number): Promise<string[]> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'codex-publish-bench-'))
  const results = await startResultsService()
  const saved = { ...process.env }
  let sizes = { action: 0, bare: 0, levelOne: 0 }
  Object.assign(process.env, results.env, { GITHUB_OUTPUT: path.join(scratch, 'github-output'), GITHUB_STEP_SUMMARY: path.join(scratch, 'step-summary') })
  // The toolkit writes outputs and log lines through stdout: kept out of the benchmark's own output.
  const write = process.stdout.write.bind(process.stdout)
  const action: number[] = []
  const bare: number[] = []
  const levelOne: number[] = []
  const quietly = async <T>(work: () => Promise<T>): Promise<T> => {
    process.stdout.write = (() => true) as typeof process.stdout.write
    try {
      return await work()
    } finally {
      process.stdout.write = write
    }
  }
  try {
    const template = path.join(scratch, 'template')
    writeRunFiles(path.join(template, 'output'), path.join(template, 'codex-home'), megabytes)
    // What the action uploads: its files as publish leaves them, taken from a first run of it.
    const finalSource = path.join(scratch, 'uploaded')
    const finalFiles = ['codex.patch', 'events.jsonl', 'codex.log', 'last-message.md', 'run.json', 'transcript.jsonl']
    for (let round = 0; round <= rounds; round++) {
      const root = path.join(scratch, `round-${round}`)
      const output = path.join(root, 'output')
      const codexHome = path.join(root, 'codex-home')
      writeRunFiles(output, codexHome, 0)
      for (const name of readdirSync(path.join(template, 'output'))) copyFileSync(path.join(template, 'output', name), path.join(output, name))
      const transcript = 'sessions/2026/12/01/rollout-2026-12-01T00-00-00-bench.jsonl'
      copyFileSync(path.join(template, 'codex-home', transcript), path.join(codexHome, transcript))
      writeFileSync(path.join(scratch, 'step-summary'), '')
      writeFileSync(path.join(scratch, 'github-output'), '')

      const runAction = async (): Promise<number> => {
        const started = performance.now()
        await quietly(() => publish(report(output, codexHome, `action-${round}`), new Redactor([SECRET])))
        return performance.now() - started
      }
      // The same files as the action uploads them (the transcript copied, run.json written), from a folder of their own.
      const runBare = async (level?: number): Promise<number> => {
        const folder = path.join(root, `bare-${level ?? 'default'}`)
        mkdirSync(folder)
        const files = finalFiles.map((name) => {
          copyFileSync(path.join(finalSource, name), path.join(folder, name))
          return path.join(folder, name)
        })
        const started = performance.now()
        await quietly(() => new DefaultArtifactClient().uploadArtifact(`bare-${level ?? 'default'}-${round}`, files, folder, level === undefined ? {} : { compressionLevel: level }))
        return performance.now() - started
      }
      if (round === 0) {
        // A first run of the action, not counted: it loads the artifact client and leaves the files it uploads.
        await runAction()
        mkdirSync(finalSource)
        for (const name of finalFiles) copyFileSync(path.join(output, name), path.join(finalSource, name))
        await runBare()
        await runBare(1)
        rmSync(root, { recursive: true, force: true })
        continue
      }
      // Alternating which goes first, so neither always finds the page cache warm.
      let actionMs: number
      let bareMs: number
      if (round % 2 === 0) {
        actionMs = await runAction()
        bareMs = await runBare()
      } else {
        bareMs = await runBare()
        actionMs = await runAction()
      }
      const levelOneMs = await runBare(1)
      action.push(actionMs)
      bare.push(bareMs)
      levelOne.push(levelOneMs)
      rmSync(root, { recursive: true, force: true })
    }
    const uploaded = results.artifacts.filter((artifact) => artifact.name.startsWith('action-'))
    if (uploaded.length !== rounds + 1) throw new Error(`the action uploaded ${uploaded.length} artifacts, not ${rounds + 1}`)
    sizes = { action: uploaded.at(-1)!.zip.length, levelOne: results.artifacts.find((artifact) => artifact.name === `bare-1-${rounds}`)!.zip.length, bare: results.artifacts.find((artifact) => artifact.name === `bare-default-${rounds}`)!.zip.length }
  } finally {
    process.env = saved
    await results.close()
    rmSync(scratch, { recursive: true, force: true })
  }
  const ratio = median(action) / median(bare)
  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
  return [
    `${megabytes} MB of run files (events 60%, transcript 30%, log 5%, patch 5%); zip sizes: action ${mib(sizes.action)} MiB, bare ${mib(sizes.bare)} MiB, bare at level 1 ${mib(sizes.levelOne)} MiB`,
    '',
    '| bare `uploadArtifact` (default level 6), ms | the action\'s `publish`, ms | ratio | bare `uploadArtifact` at compression level 1, ms |',
    '|---:|---:|---:|---:|',
    `| ${median(bare).toFixed(0)} | ${median(action).toFixed(0)} | **${ratio.toFixed(2)}** | ${median(levelOne).toFixed(0)} |`
  ]
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, megabytes: { type: 'string', default: '64' } } })
  console.log((await benchPublish(Number(values.rounds), Number(values.megabytes))).join('\n'))
}
