// Every bad input, and every guard refusal, through the bundled action as the runner runs it: the step
// fails with one `::error::` that names the input and the accepted form, Codex never starts, and
// nothing the user had is changed, left behind or uploaded.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect as globalExpect, it } from 'vitest'
import { message } from '../../test-support/responses-server.js'
import type { ActionRun } from '../../test-support/runner.js'
import { ACTOR, API_KEY, GITHUB_TOKEN, act, git, scratchRepository, startWorld, type ActOptions, type World, scratchFolder } from './harness.js'

type Expect = typeof globalExpect

// These runs stop at inputs, the guard or the platform check, in about a second; the net catches a hang well
// before the runner's 10 minutes, with room for a loaded machine.
const FAST_MS = 40_000
// Up to five of these run at once; on a small, busy machine each waits its turn for the CPU.
const CONCURRENT_TEST_MS = 120_000
const NPM_TOKEN = 'npm_e2eRegistryTokenSECRET0123456789'

/** The repository as the user left it: a commit, a staged change, an unstaged change and an untracked file. */
function userRepository(): string {
  const repository = scratchRepository({
    'README.md': '# scratch\n',
    'src/app.ts': 'export const answer = 1\n',
    'prompts/fix.md': 'Fix the failing test.\n',
    'prompts/empty.md': '',
    'prompts/blank.md': '  \n\t\n'
  })
  writeFileSync(path.join(repository, 'src/app.ts'), 'export const answer = 42\n')
  git(repository, 'add', 'src/app.ts')
  writeFileSync(path.join(repository, 'README.md'), '# scratch, edited but not staged\n')
  writeFileSync(path.join(repository, 'notes.txt'), 'untracked notes\n')
  return repository
}

interface Snapshot {
  status: string
  head: string
  /** The index by content (mode, blob, stage, path); its raw bytes change whenever git refreshes stat data. */
  staged: string
  files: Map<string, Buffer>
}

/** Every work-tree file byte for byte (a link as its target), plus what in .git the action could touch (config, HEAD, the index's content). */
function snapshot(repository: string): Snapshot {
  const files = new Map<string, Buffer>()
  const walk = (relative: string): void => {
    for (const entry of readdirSync(path.join(repository, relative), { withFileTypes: true })) {
      const name = path.join(relative, entry.name)
      if (name === '.git') continue
      if (entry.isDirectory()) walk(name)
      else if (entry.isSymbolicLink()) files.set(name, Buffer.from(`link to ${readlinkSync(path.join(repository, name))}`))
      else files.set(name, readFileSync(path.join(repository, name)))
    }
  }
  walk('')
  for (const name of ['.git/config', '.git/HEAD']) files.set(name, readFileSync(path.join(repository, name)))
  return { status: git(repository, 'status', '--porcelain'), head: git(repository, 'rev-parse', 'HEAD'), staged: git(repository, 'ls-files', '--stage'), files }
}

/** stdout and stderr as the job log would show them: the runner swallows `::add-mask::` lines. */
function visibleLog(run: ActionRun): string {
  return [run.main, run.post]
    .flatMap((step) => (step ? [step.stdout, step.stderr] : []))
    .join('\n')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('::add-mask::'))
    .join('\n')
}

function errorsOf(run: ActionRun): string[] {
  return run.main.commands.filter((command) => command.command === 'error').map((command) => command.message)
}

/** The step failed with exactly one error matching `says`; nothing ran, nothing changed, nothing leaked. */
function expectRefused(expect: Expect, run: ActionRun, world: World, repository: string, before: Snapshot, says: RegExp, secrets: string[] = []): string {
  const log = run.main.stdout + run.main.stderr
  expect(run.main.timedOut, log).toBe(false)
  expect(run.main.exitCode, log).not.toBe(0)
  expect(run.main.exitCode, log).not.toBeNull()
  expect(run.main.succeeded).toBe(false)
  const errors = errorsOf(run)
  expect(errors, log).toHaveLength(1)
  expect(errors[0]).toMatch(says)

  // Codex never started: the model heard nothing and no run folder was made.
  expect(world.model.requests).toHaveLength(0)
  expect(readdirSync(run.runnerTemp).filter((name) => name.startsWith('codex-action-'))).toEqual([])
  expect(run.main.outputs).toEqual({})

  // Nothing left behind or lost.
  const after = snapshot(repository)
  expect(after.status).toBe(before.status)
  expect(after.head).toBe(before.head)
  expect(after.staged).toBe(before.staged)
  expect([...after.files.keys()].sort()).toEqual([...before.files.keys()].sort())
  for (const [name, bytes] of before.files) expect(after.files.get(name)?.equals(bytes), `${name} changed`).toBe(true)
  expect(world.results.artifacts).toHaveLength(0)
  expect(world.results.caches).toHaveLength(0)

  // The post step finds nothing to clean and does not fail the job.
  expect(run.post, 'post did not run').toBeDefined()
  expect(run.post?.exitCode, run.post?.stdout).toBe(0)
  expect(run.post?.commands.filter((command) => command.command === 'error')).toEqual([])

  const visible = visibleLog(run)
  for (const secret of [API_KEY, GITHUB_TOKEN, ...secrets]) {
    if (secret) expect(visible.includes(secret), `the log shows '${secret.slice(0, 6)}…'`).toBe(false)
  }
  return errors[0]
}

async function refusedRun(expect: Expect, options: (repository: string) => ActOptions, says: RegExp, secrets?: string[]): Promise<string> {
  const repository = userRepository()
  // A case may add to the repository (a link) before the snapshot of what must not change.
  const caseOptions = options(repository)
  const before = snapshot(repository)
  // A model that would answer at once, so a run that should not have started would be caught by its requests.
  const world = await startWorld([{ output: [message('should never be asked')] }])
  try {
    const run = await act(world, repository, { timeoutMs: FAST_MS, ...caseOptions })
    return expectRefused(expect, run, world, repository, before, says, secrets)
  } finally {
    await world.close()
  }
}

interface BadInput {
  name: string
  /** The action's inputs for the case, given the scratch repository (the workspace). */
  inputs: (repository: string) => Record<string, string>
  env?: () => Record<string, string>
  /** The input the message must name, quoted. */
  input: string
  /** The problem and the accepted form, as the message says them. */
  says: RegExp
  /** Values that must never show in the log. */
  secrets?: string[]
}

/** A directory that is not inside any git work tree. */
function outsideGit(): string {
  const directory = scratchFolder('codex-action-not-git-')
  globalExpect(() => execFileSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: directory, stdio: 'pipe' })).toThrow()
  return directory
}

/** A file outside the workspace that the prompt must never be read from; its text must never reach the log. */
const OUTSIDE_TEXT = 'the runner user private notes 5f0e2c'
function outsideFile(): string {
  const file = path.join(scratchFolder('codex-action-outside-'), 'private.md')
  writeFileSync(file, `${OUTSIDE_TEXT}\n`, { mode: 0o600 })
  return file
}

/** `name` in the repository as a link to `target`. */
function linkIn(repository: string, name: string, target: string): string {
  symlinkSync(target, path.join(repository, name))
  return name
}

const EXACTLY_ONE = /Expected exactly one of 'prompt' \(the text\) or 'prompt-file' \(a path\)\./
const VERSION_FORM = /Expected an exact version such as '\d+\.\d+\.\d+', or 'latest'\./
const MINUTES = /Expected a positive number of minutes, at most 1440\./
const BOOLEAN = /Expected 'true' or 'false'\./
const DAYS = /Expected a whole number of days from 1 to 90\./
const HTTP_URL = /Expected an http:\/\/ or https:\/\/ URL\./
const WORK_TREE = /Expected a directory inside a git work tree \(run actions\/checkout first\)\./
const IN_WORKSPACE = /Expected a directory inside the workspace \(GITHUB_WORKSPACE\), relative to it\./
const PLAIN_HTTP = /Expected an https:\/\/ URL, or http:\/\/ only to this machine \(127\.0\.0\.0\/8, ::1 or localhost\)\./
const CONTROLLED = /which the action sets itself\. Expected extra 'codex exec' flags other than .*--sandbox.*\(use the 'sandbox', 'config' and 'working-directory' inputs instead\)/

const BAD_INPUTS: BadInput[] = [
  { name: 'prompt and prompt-file both given', inputs: () => ({ prompt: 'Do it.', 'prompt-file': 'prompts/fix.md' }), input: 'prompt', says: new RegExp(`and 'prompt-file' were both given\\. ${EXACTLY_ONE.source}`) },
  { name: 'neither prompt nor prompt-file', inputs: () => ({ prompt: '', 'prompt-file': '' }), input: 'prompt', says: new RegExp(`and 'prompt-file' are both empty\\. ${EXACTLY_ONE.source}`) },
  { name: 'prompt of blanks only, no prompt-file', inputs: () => ({ prompt: ' \n\t ', 'prompt-file': '' }), input: 'prompt', says: new RegExp(`are both empty\\. ${EXACTLY_ONE.source}`) },
  { name: 'prompt-file missing', inputs: () => ({ prompt: '', 'prompt-file': 'prompts/missing.md' }), input: 'prompt-file', says: /prompts\/missing\.md', which is not a file\. Expected a path to a UTF-8 text file, relative to the workspace\./ },
  { name: 'prompt-file a directory', inputs: () => ({ prompt: '', 'prompt-file': 'prompts' }), input: 'prompt-file', says: /which is not a file\. Expected a path/ },
  { name: 'prompt-file empty', inputs: () => ({ prompt: '', 'prompt-file': 'prompts/empty.md' }), input: 'prompt-file', says: /prompts\/empty\.md', which is empty\. Expected a file holding the prompt text\./ },
  { name: 'prompt-file of blanks only', inputs: () => ({ prompt: '', 'prompt-file': 'prompts/blank.md' }), input: 'prompt-file', says: /which is empty\. Expected a file holding the prompt text\./ },
  { name: 'codex-version 1.2', inputs: () => ({ 'codex-version': '1.2' }), input: 'codex-version', says: new RegExp(`is '1\\.2'\\. ${VERSION_FORM.source}`) },
  { name: 'codex-version v0.x', inputs: () => ({ 'codex-version': 'v0.x' }), input: 'codex-version', says: new RegExp(`is 'v0\\.x'\\. ${VERSION_FORM.source}`) },
  { name: 'codex-version 0.38.0 (too old)', inputs: () => ({ 'codex-version': '0.38.0' }), input: 'codex-version', says: /is '0\.38\.0', older than 0\.39\.0 .*Expected an exact version 0\.39\.0 or newer, or 'latest'\./ },
  ...['0', '-5', 'abc', '1e3', '1441'].map((value) => ({ name: `timeout-minutes ${value}`, inputs: () => ({ 'timeout-minutes': value }), input: 'timeout-minutes', says: new RegExp(`is '${value}'\\. ${MINUTES.source}`) })),
  { name: 'config not TOML (line 1)', inputs: () => ({ config: 'model_verbosity = ' }), input: 'config', says: /is not valid TOML \(line 1, column \d+\): .*Expected TOML text such as 'model_verbosity = "low"'\./ },
  { name: 'config not TOML (line 3)', inputs: () => ({ config: 'model_verbosity = "low"\n\n[tools\nweb_search = true' }), input: 'config', says: /is not valid TOML \(line 3, column \d+\)/ },
  { name: 'working-directory missing', inputs: () => ({ 'working-directory': 'no/such/dir' }), input: 'working-directory', says: new RegExp(`no/such/dir', which is not a directory\\. ${WORK_TREE.source}`) },
  { name: 'working-directory a file', inputs: () => ({ 'working-directory': 'README.md' }), input: 'working-directory', says: /README\.md', which is not a directory/ },
  { name: 'workspace outside any git work tree', inputs: () => ({}), env: () => ({ GITHUB_WORKSPACE: outsideGit() }), input: 'working-directory', says: new RegExp(`which is not inside a git work tree\\. ${WORK_TREE.source}`) },
  { name: 'working-directory another repository, outside the workspace', inputs: () => ({ 'working-directory': scratchRepository() }), input: 'working-directory', says: new RegExp(`resolves to '.*/repo', outside the workspace '.*/repo'\\. ${IN_WORKSPACE.source}`) },
  { name: 'working-directory ../ out of the workspace', inputs: () => ({ 'working-directory': '..' }), input: 'working-directory', says: /outside the workspace/ },
  { name: 'working-directory a link leading out of the workspace', inputs: (repository) => ({ 'working-directory': linkIn(repository, 'elsewhere', scratchRepository()) }), input: 'working-directory', says: new RegExp(`resolves to '.*/repo', outside the workspace '.*'\\. ${IN_WORKSPACE.source}`) },
  { name: 'prompt-file outside the workspace', inputs: () => ({ prompt: '', 'prompt-file': outsideFile() }), input: 'prompt-file', says: /private\.md', outside the workspace '.*'\. Expected a path to a UTF-8 text file inside the workspace\./, secrets: [OUTSIDE_TEXT] },
  { name: 'prompt-file a link leading out of the workspace', inputs: (repository) => ({ prompt: '', 'prompt-file': linkIn(repository, 'prompts/linked.md', outsideFile()) }), input: 'prompt-file', says: /resolves to '.*private\.md', outside the workspace/, secrets: [OUTSIDE_TEXT] },
  { name: 'working-directory inside .git', inputs: () => ({ 'working-directory': '.git' }), input: 'working-directory', says: /\.git', which is not inside a git work tree/ },
  { name: 'sandbox yolo', inputs: () => ({ sandbox: 'yolo' }), input: 'sandbox', says: /is 'yolo'\. Expected one of 'bypass', 'workspace-write', 'read-only'\./ },
  { name: 'sandbox danger-full-access (a Codex name, not an input value)', inputs: () => ({ sandbox: 'danger-full-access' }), input: 'sandbox', says: /Expected one of 'bypass', 'workspace-write', 'read-only'/ },
  { name: 'network-access yes', inputs: () => ({ sandbox: 'workspace-write', 'network-access': 'yes' }), input: 'network-access', says: /is 'yes'\. Expected 'true' or 'false'\./ },
  { name: 'network-access without workspace-write', inputs: () => ({ 'network-access': 'true' }), input: 'network-access', says: /is set while 'sandbox' is 'bypass', where it means nothing .*\. Expected 'network-access' only with 'sandbox: workspace-write'\./ },
  { name: 'writable-roots with read-only', inputs: () => ({ sandbox: 'read-only', 'writable-roots': 'build' }), input: 'writable-roots', says: /is set while 'sandbox' is 'read-only', where it means nothing .*\. Expected 'writable-roots' only with 'sandbox: workspace-write'\./ },
  { name: 'writable-roots /', inputs: () => ({ sandbox: 'workspace-write', 'writable-roots': 'build\n/' }), input: 'writable-roots', says: /names '\/', the whole file system\. Expected folders, one per line/ },
  { name: 'writable-roots out of the repository', inputs: () => ({ sandbox: 'workspace-write', 'writable-roots': '../..' }), input: 'writable-roots', says: /names '\.\.\/\.\.', which leads out of the repository\. Expected folders, one per line: relative ones inside the repository/ },
  { name: 'reasoning-effort unknown', inputs: () => ({ 'reasoning-effort': 'extreme' }), input: 'reasoning-effort', says: /is 'extreme'\. Expected one of 'minimal', 'low', 'medium', 'high', 'xhigh'\./ },
  { name: 'isolation unknown', inputs: () => ({ isolation: 'container' }), input: 'isolation', says: /is 'container'\. Expected one of 'auto', 'user', 'none'\./ },
  { name: 'network unknown', inputs: () => ({ network: 'firewall' }), input: 'network', says: /is 'firewall'\. Expected one of 'allow-list', 'open', 'none'\./ },
  { name: 'allow-hosts naming a URL', inputs: () => ({ 'allow-hosts': 'example.com, https://example.org' }), input: 'allow-hosts', says: /names 'https:\/\/example\.org', which is not a host name, '\*\.' and a domain, or an IP address, with an optional ':port'\. Expected host names \('example\.com'\), subdomain wildcards/ },
  { name: 'paths climbing out of the repository', inputs: () => ({ paths: 'packages/a, ../secrets' }), input: 'paths', says: /names '\.\.\/secrets', which has a '\.' or '\.\.' segment\. Expected globs relative to the repository's top/ },
  { name: 'paths absolute', inputs: () => ({ paths: '/etc/**' }), input: 'paths', says: /names '\/etc\/\*\*', which is absolute\. Expected globs relative/ },
  { name: 'allow-hosts with a port out of range', inputs: () => ({ 'allow-hosts': 'localhost:70000' }), input: 'allow-hosts', says: /names 'localhost:70000', whose port is outside 1-65535\./ },
  ...['cache', 'upload-artifacts', 'allow-forks', 'allow-self-hosted', 'default-hosts'].map((input) => ({ name: `${input} yes`, inputs: () => ({ [input]: 'yes' }), input, says: new RegExp(`is 'yes'\\. ${BOOLEAN.source}`) })),
  ...['0', '91', 'x'].map((value) => ({ name: `retention-days ${value}`, inputs: () => ({ 'retention-days': value }), input: 'retention-days', says: new RegExp(`is '${value}'\\. ${DAYS.source}`) })),
  { name: 'model with a space', inputs: () => ({ model: 'gpt 5' }), input: 'model', says: /is 'gpt 5'\. Expected a model name of letters, digits and/ },
  { name: 'openai-api-key with a line break inside', inputs: () => ({ 'openai-api-key': `${API_KEY}\nsecond-line` }), input: 'openai-api-key', says: /holds a space, a line break or another control character\. Expected the token as one word/, secrets: [API_KEY] },
  { name: 'github-token with a space inside', inputs: () => ({ 'github-token': `token ${GITHUB_TOKEN}` }), input: 'github-token', says: /holds a space, a line break or another control character/, secrets: [GITHUB_TOKEN] },
  { name: 'npm-registry-token with a line break inside', inputs: () => ({ 'npm-registry-token': `${NPM_TOKEN}\nX-Injected: 1` }), input: 'npm-registry-token', says: /holds a space, a line break or another control character/, secrets: [NPM_TOKEN] },
  { name: 'allow-users naming something that is not a login', inputs: () => ({ 'allow-users': 'octocat, not a login!' }), input: 'allow-users', says: /names 'not a login!'\. Expected GitHub logins \(such as octocat or dependabot\[bot\]\) separated by commas or new lines, or '\*'\./ },
  { name: 'allow-bots naming something that is not a login', inputs: () => ({ 'allow-bots': 'renovate[bot], @dependabot' }), input: 'allow-bots', says: /names '@dependabot'\. Expected GitHub logins/ },
  { name: 'artifact-name with /', inputs: () => ({ 'artifact-name': 'codex/patch' }), input: 'artifact-name', says: /is 'codex\/patch'\. Expected a name without any of " : < > \| \* \? \\ \/ or line breaks\./ },
  { name: 'base-url not a URL', inputs: () => ({ 'base-url': 'api.openai.com/v1' }), input: 'base-url', says: new RegExp(`is 'api\\.openai\\.com/v1', which is not a URL\\. ${HTTP_URL.source}`) },
  { name: 'base-url ftp://', inputs: () => ({ 'base-url': 'ftp://models.example.com/v1' }), input: 'base-url', says: new RegExp(`uses the scheme 'ftp:'\\. ${HTTP_URL.source}`) },
  { name: 'base-url with credentials https://u:p@x', inputs: () => ({ 'base-url': 'https://u:p@x' }), input: 'base-url', says: /holds credentials in the URL\. Expected a URL without user:password/, secrets: ['u:p@'] },
  { name: 'base-url with a password', inputs: () => ({ 'base-url': 'https://codex:hunter2secret@gateway.example.com/v1' }), input: 'base-url', says: /holds credentials in the URL/, secrets: ['hunter2secret'] },
  { name: 'base-url plain http to another machine', inputs: () => ({ 'base-url': 'http://models.example.com/v1' }), input: 'base-url', says: new RegExp(`is 'http://models\\.example\\.com/v1', plain HTTP to another machine, which would send 'openai-api-key' unencrypted\\. ${PLAIN_HTTP.source}`) },
  { name: 'base-url plain http to a name that only starts like loopback', inputs: () => ({ 'base-url': 'http://127.0.0.1.example.com/v1' }), input: 'base-url', says: /plain HTTP to another machine/ },
  { name: 'npm-registry plain http with npm-registry-token (its token never shown)', inputs: () => ({ 'npm-registry': 'http://registry.example.com', 'npm-registry-token': NPM_TOKEN }), input: 'npm-registry', says: new RegExp(`plain HTTP to another machine, which would send 'npm-registry-token' unencrypted\\. ${PLAIN_HTTP.source}`), secrets: [NPM_TOKEN] },
  { name: 'npm-registry not a URL (its token never shown)', inputs: () => ({ 'npm-registry': 'registry.npmjs.org', 'npm-registry-token': NPM_TOKEN }), input: 'npm-registry', says: new RegExp(`which is not a URL\\. ${HTTP_URL.source}`), secrets: [NPM_TOKEN] },
  { name: 'env-passthrough naming GITHUB_TOKEN', inputs: () => ({ 'env-passthrough': 'FOO, GITHUB_TOKEN' }), input: 'env-passthrough', says: /names 'GITHUB_TOKEN', which the agent may never see\. Expected names of variables other than the GitHub and Actions tokens/ },
  { name: 'env-passthrough naming ACTIONS_RUNTIME_TOKEN', inputs: () => ({ 'env-passthrough': 'ACTIONS_RUNTIME_TOKEN' }), input: 'env-passthrough', says: /which the agent may never see/ },
  { name: 'env-passthrough naming BAD-NAME', inputs: () => ({ 'env-passthrough': 'GOOD_NAME\nBAD-NAME' }), input: 'env-passthrough', says: /names 'BAD-NAME'\. Expected environment variable names \(letters, digits, _\), separated by commas or new lines\./ },
  {
    name: 'env-passthrough naming a variable that holds the API key',
    inputs: () => ({ 'env-passthrough': 'MY_OPENAI_KEY' }),
    env: () => ({ MY_OPENAI_KEY: API_KEY }),
    input: 'env-passthrough',
    says: /names 'MY_OPENAI_KEY', which holds the value of 'openai-api-key'\. Expected names of variables that do not hold the action's own secrets/
  },
  {
    name: 'env-passthrough naming a variable that holds the github-token inside a URL',
    inputs: () => ({ 'env-passthrough': 'CLONE_URL' }),
    env: () => ({ CLONE_URL: `https://x-access-token:${GITHUB_TOKEN}@github.com/o/r.git` }),
    input: 'env-passthrough',
    says: /names 'CLONE_URL', which holds the value of 'github-token'/
  },
  { name: 'codex-args with --sandbox', inputs: () => ({ 'codex-args': '--sandbox danger-full-access' }), input: 'codex-args', says: new RegExp(`contains '--sandbox', ${CONTROLLED.source}`) },
  { name: 'codex-args with -c', inputs: () => ({ 'codex-args': '-m gpt-5.5 -c model_provider="openai"' }), input: 'codex-args', says: new RegExp(`contains '-c', ${CONTROLLED.source}`) },
  { name: 'codex-args with -c and its value attached', inputs: () => ({ 'codex-args': '-cmodel_provider=openai' }), input: 'codex-args', says: /contains '-c', which the action sets itself/ },
  { name: 'codex-args with -s and its value attached', inputs: () => ({ 'codex-args': '["-sdanger-full-access"]' }), input: 'codex-args', says: /contains '-s', which the action sets itself/ },
  { name: 'codex-args with --config=…', inputs: () => ({ 'codex-args': '--config=sandbox_mode="danger-full-access"' }), input: 'codex-args', says: /contains '--config', which the action sets itself/ },
  { name: 'codex-args with --enable (a features.* config override)', inputs: () => ({ 'codex-args': '--enable plugins' }), input: 'codex-args', says: /contains '--enable', which the action sets itself/ },
  { name: 'codex-args with --disable', inputs: () => ({ 'codex-args': '["--disable=shell_snapshot"]' }), input: 'codex-args', says: /contains '--disable', which the action sets itself/ },
  { name: 'codex-args with --oss (another model provider)', inputs: () => ({ 'codex-args': '--oss' }), input: 'codex-args', says: /contains '--oss', which the action sets itself/ },
  { name: 'codex-args with --local-provider', inputs: () => ({ 'codex-args': '--local-provider ollama' }), input: 'codex-args', says: /contains '--local-provider', which the action sets itself/ },
  { name: 'codex-args with --worktree', inputs: () => ({ 'codex-args': '--worktree ../elsewhere' }), input: 'codex-args', says: /contains '--worktree', which the action sets itself/ },
  { name: 'codex-args with a subcommand word', inputs: () => ({ 'codex-args': 'review' }), input: 'codex-args', says: /contains 'review', which the action sets itself/ },
  { name: 'codex-args with --approve-for-me', inputs: () => ({ 'codex-args': '--approve-for-me' }), input: 'codex-args', says: /contains '--approve-for-me', which the action sets itself/ },
  { name: 'codex-args with --ignore-user-config', inputs: () => ({ 'codex-args': '--ignore-user-config' }), input: 'codex-args', says: /contains '--ignore-user-config', which the action sets itself/ },
  { name: 'codex-args with an unclosed quote', inputs: () => ({ 'codex-args': `--model 'gpt-5.5` }), input: 'codex-args', says: /could not be read: a ' quote is not closed\. Expected a JSON array of strings or shell-style words\./ },
  { name: 'codex-args JSON array holding a number', inputs: () => ({ 'codex-args': '["--model", 5]' }), input: 'codex-args', says: /could not be read: the JSON array must hold only strings\. Expected a JSON array of strings or shell-style words\./ },
  { name: 'codex-path not a file', inputs: () => ({ 'codex-path': 'bin/codex' }), input: 'codex-path', says: /bin\/codex', which is not a file\. Expected the path of an executable codex binary\./ },
  { name: 'codex-path a directory', inputs: () => ({ 'codex-path': 'src' }), input: 'codex-path', says: /which is not a file\. Expected the path of an executable codex binary\./ },
  { name: 'openai-api-key empty', inputs: () => ({ 'openai-api-key': '' }), input: 'openai-api-key', says: /is required\. Expected the model API key, usually \$\{\{ secrets\.OPENAI_API_KEY \}\} \(GitHub gives no secrets to workflows that pull requests from forks trigger\)\./ },
  { name: 'openai-api-key blanks only', inputs: () => ({ 'openai-api-key': '  \n ' }), input: 'openai-api-key', says: /is required/ },
  ...['0', '-100', '2.5', 'unlimited'].map((value) => ({ name: `max-tokens ${value}`, inputs: () => ({ 'max-tokens': value }), input: 'max-tokens', says: new RegExp(`is '${value.replace('.', '\\.')}'\\. Expected a whole number of tokens of 1 or more, or empty for no limit\\.`) })),
  ...['0', '1e3', 'ten'].map((value) => ({ name: `max-model-requests ${value}`, inputs: () => ({ 'max-model-requests': value }), input: 'max-model-requests', says: new RegExp(`is '${value}'\\. Expected a whole number of requests of 1 or more, or empty for no limit\\.`) })),
  { name: 'model-prices not JSON', inputs: () => ({ 'model-prices': 'gpt-5.5: 5/30' }), input: 'model-prices', says: /is not JSON \(.*\)\. Expected a JSON object of model names to USD per 1M tokens/ },
  { name: 'model-prices without cached_input', inputs: () => ({ 'model-prices': '{"gpt-5.5": {"input": 5, "output": 30}}' }), input: 'model-prices', says: /gives 'gpt-5\.5' the price \{"input":5,"output":30\}\. Expected a JSON object of model names to USD per 1M tokens/ },
  { name: 'output-schema not JSON', inputs: () => ({ 'output-schema': '{type: object}' }), input: 'output-schema', says: /is not JSON \(.*\)\. Expected a JSON Schema object with "type": "object"/ },
  { name: 'output-schema of a string, not an object', inputs: () => ({ 'output-schema': '{"type": "string"}' }), input: 'output-schema', says: /is not a schema of a JSON object \(the model answers with an object\)\. Expected a JSON Schema object/ },
  { name: 'output-schema not a valid JSON Schema', inputs: () => ({ 'output-schema': '{"type": "object", "required": "verdict"}' }), input: 'output-schema', says: /is not a valid JSON Schema: .*required must be array\. Expected a JSON Schema object/ },
  { name: 'output-schema-file missing', inputs: () => ({ 'output-schema-file': 'schemas/verdict.json' }), input: 'output-schema-file', says: /schemas\/verdict\.json', which is not a file\. Expected a path to a JSON Schema file, relative to the workspace\./ },
  { name: 'output-schema-file outside the workspace', inputs: () => ({ 'output-schema-file': outsideFile() }), input: 'output-schema-file', says: /private\.md', outside the workspace '.*'\. Expected a path to a JSON Schema file inside the workspace\./, secrets: [OUTSIDE_TEXT] },
  { name: 'output-schema and output-schema-file both given', inputs: () => ({ 'output-schema': '{"type": "object"}', 'output-schema-file': 'prompts/fix.md' }), input: 'output-schema', says: /and 'output-schema-file' were both given\. Expected at most one of 'output-schema' \(the JSON\) or 'output-schema-file' \(a path\)\./ },
  { name: 'codex-args with --output-schema', inputs: () => ({ 'codex-args': '--output-schema /tmp/agent-schema.json' }), input: 'codex-args', says: /contains '--output-schema', which the action sets itself/ }
]

describe.concurrent('a bad input', { timeout: CONCURRENT_TEST_MS }, () => {
  it.for(BAD_INPUTS)('$name: fails naming the input, starts nothing, changes nothing', async (badInput, { expect }) => {
    const error = await refusedRun(expect, (repository) => ({ inputs: badInput.inputs(repository), env: badInput.env?.() }), new RegExp(`^Input '${badInput.input}' `), badInput.secrets)
    expect(error).toMatch(badInput.says)
  })

  it('on an unsupported platform fails in install, naming the platform and the supported ones', async ({ expect }) => {
    const error = await refusedRun(expect, () => ({ env: { RUNNER_OS: 'FreeBSD' } }), /runner platform FreeBSD\/X64/)
    expect(error).toMatch(/Supported: Linux\/X64, Linux\/ARM64, macOS\/X64, macOS\/ARM64, Windows\/X64, Windows\/ARM64\./)
    expect(error).toContain("'codex-path'")
  })

  it('reports the first bad input only, before the guard asks GitHub anything', async ({ expect }) => {
    const repository = userRepository()
    const before = snapshot(repository)
    const world = await startWorld([{ output: [message('should never be asked')] }])
    try {
      const run = await act(world, repository, { timeoutMs: FAST_MS, inputs: { 'timeout-minutes': 'soon', 'retention-days': '365' } })
      const error = expectRefused(expect, run, world, repository, before, /^Input '(timeout-minutes|retention-days)' /)
      expect(error).not.toContain('\n')
      expect(world.github.authorizations).toEqual([])
    } finally {
      await world.close()
    }
  })
})

describe('the guard, through the bundled action', () => {
  // A run the guard lets through goes all the way: the model is asked and the step succeeds. The agent runs as the
  // runner user here so that no other end-to-end file's cleanup of the shared agent user can stop it.
  async function allowedRun(expect: Expect, options: ActOptions): Promise<{ run: ActionRun; world: World }> {
    const repository = scratchRepository()
    const world = await startWorld([{ output: [message('Looked, changed nothing.')] }])
    try {
      const run = await act(world, repository, { ...options, inputs: { isolation: 'none', ...options.inputs } })
      const log = run.main.stdout + run.main.stderr
      expect(errorsOf(run), log).toEqual([])
      expect(run.main.exitCode, log).toBe(0)
      expect(world.model.requests.length).toBeGreaterThan(0)
      expect(run.main.outputs.conclusion).toBe('success')
      expect(run.post?.exitCode).toBe(0)
      return { run, world }
    } finally {
      await world.close()
    }
  }

  /** The fake GitHub API's permissions for this world, then the run. */
  async function guardedRefusal(expect: Expect, options: ActOptions, permissions: Record<string, 'write' | 'read'>, says: RegExp): Promise<{ error: string; authorizations: string[] }> {
    const repository = userRepository()
    const before = snapshot(repository)
    const world = await startWorld([{ output: [message('should never be asked')] }])
    Object.assign(world.github.permissions, permissions)
    try {
      const run = await act(world, repository, { timeoutMs: FAST_MS, ...options })
      const error = expectRefused(expect, run, world, repository, before, says)
      return { error, authorizations: [...world.github.authorizations] }
    } finally {
      await world.close()
    }
  }

  const as = (login: string) => ({ GITHUB_ACTOR: login, GITHUB_TRIGGERING_ACTOR: login })

  it('refuses bypass on a self-hosted runner, naming allow-self-hosted, without asking GitHub', async ({ expect }) => {
    const { error, authorizations } = await guardedRefusal(expect, { env: { RUNNER_ENVIRONMENT: 'self-hosted' } }, {}, /runs only on GitHub-hosted runners, and this runner is 'self-hosted'/)
    expect(error).toContain("'allow-self-hosted: true'")
    expect(authorizations).toEqual([])
  })

  it("runs on a self-hosted runner with allow-self-hosted: 'true'", async ({ expect }) => {
    const { world } = await allowedRun(expect, { env: { RUNNER_ENVIRONMENT: 'self-hosted' }, inputs: { 'allow-self-hosted': 'true' } })
    expect(world.github.authorizations).toEqual([`Bearer ${GITHUB_TOKEN}`])
  })

  it('refuses an actor with read permission, naming allow-users', async ({ expect }) => {
    const { error, authorizations } = await guardedRefusal(expect, { env: as('reader') }, { reader: 'read' }, /The actor 'reader' has 'read' permission on octo-org\/octo-repo/)
    expect(error).toContain("'allow-users'")
    expect(authorizations).toEqual([`Bearer ${GITHUB_TOKEN}`])
  })

  it("refuses a re-run of a reader's run even when a writer re-ran it", async ({ expect }) => {
    const { error } = await guardedRefusal(expect, { env: { GITHUB_ACTOR: 'reader', GITHUB_TRIGGERING_ACTOR: ACTOR } }, { reader: 'read' }, /The actor 'reader' has 'read' permission/)
    expect(error).toContain('re-run')
  })

  it('runs for that reader once allow-users lists them, without asking GitHub', async ({ expect }) => {
    const { world } = await allowedRun(expect, { env: as('reader'), inputs: { 'allow-users': 'someone-else\nreader' } })
    expect(world.github.authorizations).toEqual([])
  })

  it('refuses a bot that allow-bots does not list', async ({ expect }) => {
    const { error, authorizations } = await guardedRefusal(expect, { env: as('dependabot[bot]'), inputs: { 'allow-users': '*' } }, {}, /triggered by the bot 'dependabot\[bot\]', which is not listed in 'allow-bots'/)
    expect(authorizations).toEqual([])
    expect(error).toContain("'*'")
  })

  it('runs for a bot that allow-bots lists', async ({ expect }) => {
    await allowedRun(expect, { env: as('dependabot[bot]'), inputs: { 'allow-bots': 'dependabot[bot]' } })
  })

  it('fails closed when GitHub answers 404 for the actor', async ({ expect }) => {
    const { error, authorizations } = await guardedRefusal(expect, { env: as('stranger') }, {}, /The permission check for 'stranger' failed: GitHub answered HTTP 404/)
    expect(error).toContain('Failing closed')
    expect(authorizations).toEqual([`Bearer ${GITHUB_TOKEN}`])
  })

  it('fails closed when the GitHub API cannot be reached', async ({ expect }) => {
    const { error } = await guardedRefusal(expect, { env: { GITHUB_API_URL: 'http://127.0.0.1:1' } }, {}, /The permission check for 'octocat' could not reach http:\/\/127\.0\.0\.1:1 \(.*\)\. Failing closed\./)
    expect(error).toMatch(/ECONNREFUSED/)
  })

  it('fails closed without a github-token', async ({ expect }) => {
    const { error, authorizations } = await guardedRefusal(expect, { inputs: { 'github-token': '' } }, {}, /Cannot check the permission of 'octocat': 'github-token' is empty\. Failing closed\./)
    expect(authorizations).toEqual([])
    expect(error).not.toContain(GITHUB_TOKEN)
  })

  it('refuses pull_request_target from a fork, naming allow-forks', async ({ expect }) => {
    const repository = { full_name: 'octo-org/octo-repo', fork: false }
    const event = {
      action: 'opened',
      repository,
      pull_request: { number: 7, head: { ref: 'patch-1', repo: { full_name: 'evil/octo-repo', fork: true } }, base: { ref: 'main', repo: repository } },
      sender: { login: ACTOR, type: 'User' }
    }
    const { error, authorizations } = await guardedRefusal(expect, { env: { GITHUB_EVENT_NAME: 'pull_request_target' }, event }, {}, /This pull_request_target event comes from the fork evil\/octo-repo/)
    expect(error).toContain("'allow-forks: true'")
    expect(authorizations).toEqual([])
  })
})

// Guards against the suite passing vacuously: the scratch repository really has something to lose.
it('the user repository the refusals are checked against is dirty in all three ways', () => {
  const repository = userRepository()
  const status = snapshot(repository).status
  globalExpect(status).toMatch(/^M  src\/app\.ts$/m)
  globalExpect(status).toMatch(/^ M README\.md$/m)
  globalExpect(status).toMatch(/^\?\? notes\.txt$/m)
  globalExpect(existsSync(path.join(repository, 'prompts/empty.md'))).toBe(true)
  mkdirSync(path.join(repository, 'probe'))
  writeFileSync(path.join(repository, 'probe', 'x'), 'x')
  globalExpect(snapshot(repository).files.has(path.join('probe', 'x'))).toBe(true)
})
