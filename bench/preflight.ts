// Time to failure with a wrong key: the action without the preflight check (an older checkout's committed dist/)
// against this checkout's, side by side, round-robin, each run driving the real Codex CLI through the runner
// emulation against the scripted model answering 401. See bench/README.md.
//
//   git worktree add --detach /tmp/before <commit without preflight>
//   npm run bench:preflight -- --before /tmp/before --rounds 5
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { startGitHubApi } from '../test-support/github-api.js'
import { startResponsesServer } from '../test-support/responses-server.js'
import { startResultsService } from '../test-support/results-service.js'
import { runAction, type ActionRun } from '../test-support/runner.js'

const { values: options } = parseArgs({ options: { before: { type: 'string' }, after: { type: 'string' }, rounds: { type: 'string', default: '5' } } })
if (!options.before) throw new Error('--before <folder of an action checkout without preflight> is required')
const rounds = Number(options.rounds)
const actions = { before: path.resolve(options.before), after: path.resolve(options.after ?? path.join(import.meta.dirname, '..')) }
// The tool cache the e2e suite fills (npm run test:e2e once): both actions find Codex there, so neither downloads.
const toolCache = path.resolve(import.meta.dirname, '..', '.cache', 'tool-cache')
const RIGHT_KEY = 'sk-proj-theRightKey0123456789abcdefghij'
const WRONG_KEY = 'sk-proj-aWrongKey0123456789abcdefghijkl'

interface Sample {
  mainMs: number
  jobMs: number
  modelRequests: number
  error: string
}
const samples: Record<keyof typeof actions, Sample[]> = { before: [], after: [] }

console.log(`Wrong-key benchmark, ${rounds} rounds, ${new Date().toISOString()}; ${os.cpus().length} cores, Node ${process.version}, load ${os.loadavg()[0].toFixed(2)}`)
for (let round = 0; round < rounds; round++) {
  const order = (round % 2 === 0 ? ['before', 'after'] : ['after', 'before']) as Array<keyof typeof actions>
  for (const which of order) {
    const sample = await wrongKeyRun(actions[which])
    samples[which].push(sample)
    console.log(`round ${round + 1} ${which}: main ${sample.mainMs} ms, main+post ${sample.jobMs} ms, ${sample.modelRequests} requests to /responses: ${sample.error.slice(0, 140)}`)
  }
}

console.log('\n| action | runs | main step median ms | min | max | main + post median ms | /responses requests | error |')
console.log('|---|---:|---:|---:|---:|---:|---:|---|')
for (const which of ['before', 'after'] as const) {
  const main = samples[which].map((s) => s.mainMs).sort((a, b) => a - b)
  const job = samples[which].map((s) => s.jobMs).sort((a, b) => a - b)
  const last = samples[which].at(-1) as Sample
  console.log(`| ${which} | ${main.length} | ${median(main)} | ${main[0]} | ${main.at(-1)} | ${median(job)} | ${last.modelRequests} | ${last.error.slice(0, 90).replace(/\|/g, '\\|')}… |`)
}

async function wrongKeyRun(actionDir: string): Promise<Sample> {
  const model = await startResponsesServer({ script: [], apiKey: RIGHT_KEY })
  const results = await startResultsService()
  const github = await startGitHubApi({ octocat: 'write' })
  const root = mkdtempSync(path.join(os.tmpdir(), 'preflight-bench-'))
  try {
    const workspace = path.join(root, 'repo')
    execFileSync('git', ['init', '-q', '-b', 'main', workspace])
    execFileSync('git', ['-C', workspace, '-c', 'user.name=b', '-c', 'user.email=b@e.st', 'commit', '-q', '--allow-empty', '-m', 'start'])
    const run: ActionRun = await runAction({
      actionDir,
      workspace,
      toolCache,
      runnerTemp: path.join(root, 'temp'),
      inputs: { prompt: 'Do the scripted work.', 'openai-api-key': WRONG_KEY, 'base-url': model.url, model: 'gpt-5.5', network: 'open', cache: 'false' },
      env: { ...results.env, GITHUB_TOKEN: 'ghs_benchToken0123456789abcdef', GITHUB_API_URL: github.url, GITHUB_ACTOR: 'octocat' }
    })
    if (run.main.exitCode === 0) throw new Error(`${actionDir} succeeded with a wrong key`)
    const error = run.main.commands.find((c) => c.command === 'error')?.message ?? '(no error)'
    return { mainMs: Math.round(run.main.durationMs), jobMs: Math.round(run.main.durationMs + (run.post?.durationMs ?? 0)), modelRequests: model.requests.length, error }
  } finally {
    await Promise.all([model.close(), results.close(), github.close()])
    rmSync(root, { recursive: true, force: true })
  }
}

function median(sorted: number[]): number {
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : Math.round((sorted[middle - 1] + sorted[middle]) / 2)
}
