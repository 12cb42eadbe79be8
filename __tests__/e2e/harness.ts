// Builds the world one end-to-end test runs in: a scratch git repository, the scripted model, the
// fake results service, and the runner emulation driving the committed dist/ exactly as the runner would.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, mkdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, inject } from 'vitest'
import { startGitHubApi, type GitHubApi } from '../../test-support/github-api.js'
import { startResponsesServer, type ResponsesServer, type ResponsesServerOptions, type Script, type Step } from '../../test-support/responses-server.js'
import { startResultsService, type ResultsService } from '../../test-support/results-service.js'
import { runAction, type ActionRun, type RunOptions } from '../../test-support/runner.js'

// CODEX_ACTION_UNDER_TEST points the suite at another checkout's action (an older commit, say) to show a test fails there.
export const ACTION_DIR = process.env.CODEX_ACTION_UNDER_TEST ?? path.resolve(import.meta.dirname, '..', '..')
// Made afresh in each test process, so no file on disk holds them unless the action (or the agent) wrote them.
export const API_KEY = `sk-proj-${randomBytes(24).toString('hex')}`
export const GITHUB_TOKEN = `ghs_${randomBytes(18).toString('hex')}`
export const MODEL = 'gpt-5.5'

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e.st', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e.st' } })
}

// Every folder a test file makes through the harness goes when that file is done.
const scratchFolders: string[] = []
afterAll(() => {
  for (const folder of scratchFolders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

export function scratchFolder(prefix: string, parent = os.tmpdir()): string {
  mkdirSync(parent, { recursive: true })
  const folder = mkdtempSync(path.join(parent, prefix))
  scratchFolders.push(folder)
  return folder
}

/** A scratch repository with one commit holding the given files, in a new folder under `parent`. */
export function scratchRepository(files: Record<string, string | Buffer> = { 'README.md': '# scratch\n' }, parent = os.tmpdir()): string {
  const root = scratchFolder('codex-action-e2e-', parent)
  const repository = path.join(root, 'repo')
  mkdirSync(repository)
  git(repository, 'init', '-q', '-b', 'main')
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(repository, name)), { recursive: true })
    writeFileSync(path.join(repository, name), content)
  }
  git(repository, 'add', '-A')
  git(repository, 'commit', '-q', '-m', 'start')
  return repository
}

export interface World {
  model: ResponsesServer
  results: ResultsService
  github: GitHubApi
  close(): Promise<void>
}

/** The runner emulation's default triggering actor, given write permission by the fake GitHub API. */
export const ACTOR = 'octocat'

export async function startWorld(script: Script, afterScript?: Step, options: Partial<ResponsesServerOptions> = {}): Promise<World> {
  const model = await startResponsesServer({ script, apiKey: API_KEY, afterScript, ...options })
  const results = await startResultsService()
  const github = await startGitHubApi({ [ACTOR]: 'write' })
  return {
    model,
    results,
    github,
    close: async () => {
      await Promise.all([model.close(), results.close(), github.close()])
    }
  }
}

// scripts/test-egress.sh names the network and mount namespaces it made; anything else is the machine's own.
const madeForTests = (process.env.CODEX_ACTION_TEST_NAMESPACES ?? '').split(' ')
/**
 * False only inside the network namespace scripts/test-egress.sh made. The action adds kernel rules
 * under `network: allow-list` and `none`; those may only ever be added in a namespace a test made.
 */
export const IN_MACHINE_NETWORK = madeForTests[0] !== readlinkSync('/proc/self/ns/net')
/** True inside the mount namespace scripts/test-egress.sh made, where a test may mount over /etc/hosts. */
export const IN_TEST_MOUNTS = madeForTests[1] === readlinkSync('/proc/self/ns/mnt')

export interface ActOptions extends Partial<RunOptions> {
  inputs?: Record<string, string>
}

/** Runs main and post of the bundled action against the world, with every input a test does not set at a working value. */
export function act(world: World, workspace: string, options: ActOptions = {}): Promise<ActionRun> {
  // Outside a test-made namespace the agent's network stays open, so the action adds no rule to this machine.
  const network = options.inputs?.network ?? (IN_MACHINE_NETWORK ? 'open' : undefined)
  if (IN_MACHINE_NETWORK && (network === 'allow-list' || network === 'none')) throw new Error(`network: ${network} adds kernel rules: run this test in its own network namespace (npm run test:egress)`)
  return runAction({
    actionDir: ACTION_DIR,
    workspace,
    toolCache: inject('codexToolCache'),
    runnerTemp: scratchFolder('codex-action-runner-temp-'),
    ...options,
    inputs: {
      prompt: 'Do the scripted work.',
      'openai-api-key': API_KEY,
      'base-url': world.model.url,
      model: MODEL,
      ...(network ? { network } : {}),
      ...options.inputs
    },
    env: { ...world.results.env, GITHUB_TOKEN, GITHUB_API_URL: world.github.url, GITHUB_ACTOR: ACTOR, ...options.env }
  })
}
