// The action's own time around a warm run: the built action (dist/main.js, then dist/post.js, through
// the runner emulation, tool cache warm) against a bare `codex exec` of the same scripted work in the
// same repository, alternating each round. Own time = main + post − bare. See bench/README.md.
//
//   npx tsx bench/own-time.ts [--rounds 5]
import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { execFileSync } from 'node:child_process'
import { DEFAULT_CODEX_VERSION } from '../src/install/pinned.js'
import { codexPlatform } from '../src/install/platform.js'
import { startGitHubApi } from '../test-support/github-api.js'
import { applyPatch, message, shell, startResponsesServer, type Step } from '../test-support/responses-server.js'
import { startResultsService } from '../test-support/results-service.js'
import { runAction } from '../test-support/runner.js'
import { median } from './measure.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const ACTION_DIR = path.resolve(here, '..')
const KEY = 'sk-bench-local-key-not-a-real-one-000000'
const MODEL = 'gpt-5.5'

/** A small piece of real work: look around, add a file, edit one, delete one, answer. */
function script(): Step[] {
  return [
    { output: [shell('git log --oneline && ls')] },
    { output: [applyPatch('*** Begin Patch\n*** Add File: GREETING.md\n+# Hello\n*** End Patch\n')] },
    { output: [shell("sed -i 's/^# bench$/# bench (edited)/' README.md && rm obsolete.txt")] },
    { output: [message('Done.')] }
  ]
}

interface Sample {
  mainMs: number
  postMs: number
  bareMs: number
  /** run.json's stage times of main, plus `startup` (process start to the first stage). */
  stages: Record<string, number>
  actionDurationMs: number
}

export async function benchOwnTime(rounds: number): Promise<string[]> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'codex-own-time-bench-'))
  const template = path.join(scratch, 'template')
  makeRepository(template)
  // The runner's warm tool cache: the action's own installer filled .cache/tool-cache (npm run demo or the tests).
  const toolCache = path.join(ACTION_DIR, '.cache', 'tool-cache')
  const binary = path.join(toolCache, 'codex', DEFAULT_CODEX_VERSION, codexPlatform().arch, 'bin', 'codex')
  const results = await startResultsService()
  // The guard asks the API whether the triggering actor may write; the emulation's default actor may.
  const github = await startGitHubApi({ octocat: 'write' })
  const env = { ...results.env, GITHUB_TOKEN: 'ghs_benchTokenNotReal0000000000000000000', GITHUB_API_URL: github.url, GITHUB_ACTOR: 'octocat', GITHUB_TRIGGERING_ACTOR: 'octocat' }
  const lines: string[] = []
  try {
    for (const isolation of ['none', 'user']) {
      const samples: Sample[] = []
      for (let round = 0; round < rounds + 1; round++) {
        const bareMs = await bareRun(binary, template, path.join(scratch, `bare-${isolation}-${round}`))
        const sample = await actionRun(template, path.join(scratch, `action-${isolation}-${round}`), toolCache, isolation, env)
        // The first round of each mode warms the page cache and is not counted.
        if (round > 0) samples.push({ ...sample, bareMs })
      }
      const own = samples.map((sample) => sample.mainMs + sample.postMs - sample.bareMs)
      const stageNames = Object.keys(samples[0]!.stages).filter((stage) => stage !== 'run')
      const stageMedians = stageNames.map((stage) => `${stage} ${median(samples.map((sample) => sample.stages[stage] ?? 0)).toFixed(0)}`)
      const accounted = samples.map((sample) => sample.mainMs - sample.actionDurationMs - sample.stages.startup!)
      lines.push(
        `| ${isolation} | ${median(samples.map((s) => s.bareMs)).toFixed(0)} | ${median(samples.map((s) => s.mainMs)).toFixed(0)} | ${median(samples.map((s) => s.postMs)).toFixed(0)} | **${median(own).toFixed(0)}** (${Math.min(...own).toFixed(0)}–${Math.max(...own).toFixed(0)}) | ${median(samples.map((s) => s.stages.run!)).toFixed(0)} | ${stageMedians.join(', ')}; after run.json to exit ${median(accounted).toFixed(0)} |`
      )
    }
  } finally {
    await Promise.all([results.close(), github.close()])
    rmSync(scratch, { recursive: true, force: true })
  }
  return [
    '| isolation | bare `codex exec` ms | main ms | post ms | own time: main + post − bare, ms (min–max) | run stage ms | main\'s stages, medians in ms |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...lines
  ]
}

function makeRepository(folder: string): void {
  mkdirSync(folder, { recursive: true })
  const git = (...args: string[]): void => {
    execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', ...args], { cwd: folder, stdio: 'ignore' })
  }
  git('init', '-q', '-b', 'main')
  writeFileSync(path.join(folder, 'README.md'), '# bench\n\nA scratch repository.\n')
  writeFileSync(path.join(folder, 'obsolete.txt'), 'remove me\n')
  for (let i = 0; i < 200; i++) {
    mkdirSync(path.join(folder, 'src', `m${i % 10}`), { recursive: true })
    writeFileSync(path.join(folder, 'src', `m${i % 10}`, `file${i}.ts`), `export const value${i} = ${i}\n`.repeat(20))
  }
  git('add', '-A')
  git('commit', '-q', '-m', 'start')
}

/** `codex exec --json` as a user would run it by hand, with the same model, provider shape and script. */
async function bareRun(binary: string, template: string, root: string): Promise<number> {
  const repository = path.join(root, 'repo')
  cpSync(template, repository, { recursive: true })
  const codexHome = path.join(root, 'codex-home')
  mkdirSync(codexHome, { recursive: true })
  const model = await startResponsesServer({ apiKey: KEY, script: script() })
  try {
    writeFileSync(
      path.join(codexHome, 'config.toml'),
      [
        `model = "${MODEL}"`,
        'model_provider = "bench"',
        'approval_policy = "never"',
        'sandbox_mode = "danger-full-access"',
        'check_for_update_on_startup = false',
        '[analytics]',
        'enabled = false',
        '[features]',
        'plugins = false',
        'shell_snapshot = false',
        '[model_providers.bench]',
        'name = "bench"',
        `base_url = "${model.url}"`,
        'env_key = "BENCH_MODEL_KEY"',
        'wire_api = "responses"',
        ''
      ].join('\n')
    )
    const events = openSync(path.join(root, 'events.jsonl'), 'w')
    const started = performance.now()
    const child = spawn(binary, ['exec', '--json', '--dangerously-bypass-approvals-and-sandbox', '-C', repository, '-'], {
      env: { PATH: process.env.PATH, HOME: root, CODEX_HOME: codexHome, BENCH_MODEL_KEY: KEY },
      stdio: ['pipe', events, 'ignore']
    })
    child.stdin!.end('Do the scripted work.')
    const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('close', resolve))
    const elapsed = performance.now() - started
    closeSync(events)
    if (code !== 0) throw new Error(`bare codex exec exited with ${code}`)
    return elapsed
  } finally {
    await model.close()
  }
}

async function actionRun(template: string, root: string, toolCache: string, isolation: string, env: Record<string, string>): Promise<Omit<Sample, 'bareMs'>> {
  const workspace = path.join(root, 'repo')
  cpSync(template, workspace, { recursive: true })
  mkdirSync(root, { recursive: true })
  const model = await startResponsesServer({ apiKey: KEY, script: script() })
  try {
    const run = await runAction({
      actionDir: ACTION_DIR,
      workspace,
      toolCache,
      runnerTemp: path.join(root, 'runner-temp'),
      inputs: { prompt: 'Do the scripted work.', 'openai-api-key': KEY, 'base-url': model.url, model: MODEL, isolation, network: 'open' },
      // A home of its own, as the bare run has: this machine's login profile would cost every shell command seconds.
      env: { ...env, HOME: mkdtempSync(path.join(root, 'home-')) }
    })
    if (!run.main.succeeded || !run.post?.succeeded || run.main.outputs.conclusion !== 'success') {
      throw new Error(`the action failed (main exit ${run.main.exitCode}, post exit ${run.post?.exitCode}):\n${run.main.stdout.slice(-2000)}`)
    }
    const record = JSON.parse(readFileSync(path.join(path.dirname(run.main.outputs['patch-path']!), 'run.json'), 'utf8')) as { stageMs: Record<string, number>; actionDurationMs: number }
    return { mainMs: run.main.durationMs, postMs: run.post.durationMs, stages: record.stageMs, actionDurationMs: record.actionDurationMs }
  } finally {
    await model.close()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } })
  console.log((await benchOwnTime(Number(values.rounds))).join('\n'))
}
