import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { parse as parseToml } from 'smol-toml'
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest'
import { configureCodex, MODEL_TOKEN_VARIABLE, PROVIDER_ID, type AgentConfiguration } from '../../src/configure.js'
import type { Settings } from '../../src/inputs.js'
import { agentFolders, agentView, type AgentFolders, type AgentView } from '../../src/lend.js'

const AGENT_USER = 'codex-agent-test0001'

const API_KEY = `sk-proj-${randomBytes(24).toString('hex')}`
const GITHUB_TOKEN = `ghs_${randomBytes(18).toString('hex')}`
const CLIENT_TOKEN = `codex-action-${randomBytes(24).toString('hex')}`
const PROXY_URL = 'http://127.0.0.1:40123/v1'
const ENDPOINT = { url: PROXY_URL, clientToken: CLIENT_TOKEN }
// Where the runner has the repository, and where the runner's GITHUB_WORKSPACE says the workspace is.
const RUNNER_TOP = '/home/runner/work/repo/repo'
const CODEX_FOLDER = '/opt/hostedtoolcache/codex/0.169.0/x64'

function settings(overrides: Partial<Settings> = {}): Settings {
  return {
    prompt: 'do the thing',
    apiKey: API_KEY,
    baseUrl: 'https://api.openai.com/v1',
    codexVersion: '0.169.0',
    npmRegistry: 'https://registry.npmjs.org',
    npmRegistryToken: 'npm-registry-token-value',
    cache: true,
    extraConfig: {},
    codexArgs: [],
    workingDirectory: '/tmp',
    sandbox: 'bypass',
    networkAccess: false,
    writableRoots: [],
    allowSelfHosted: false,
    timeoutMs: 30 * 60_000,
    uploadArtifacts: true,
    envPassthrough: [],
    githubToken: GITHUB_TOKEN,
    isolation: 'none',
    allowUsers: [],
    allowBots: [],
    allowForks: false,
    network: 'open',
    allowHosts: [],
    defaultHosts: true,
    paths: [],
    ...overrides
  }
}

/** A runner-like environment full of things the agent must not see. */
function runnerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/home/runner',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'octo/repo',
    GITHUB_SHA: 'abc123',
    GITHUB_WORKSPACE: '/home/runner/work/repo/repo',
    RUNNER_OS: 'Linux',
    GITHUB_TOKEN,
    GH_TOKEN: GITHUB_TOKEN,
    ACTIONS_RUNTIME_TOKEN: 'runtime-token-value',
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'id-token-value',
    ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.example/',
    ACTIONS_RESULTS_URL: 'https://results.example/',
    ACTIONS_CACHE_URL: 'https://cache.example/',
    GITHUB_OUTPUT: '/home/runner/_temp/_runner_file_commands/set_output',
    GITHUB_ENV: '/home/runner/_temp/_runner_file_commands/set_env',
    GITHUB_STATE: '/home/runner/_temp/_runner_file_commands/save_state',
    INPUT_X: 'input-value',
    'INPUT_OPENAI-API-KEY': API_KEY,
    OPENAI_API_KEY: API_KEY,
    MY_SECRET: 'my-secret-value',
    MY_SECRET_TOKEN: 'my-secret-token-value',
    BUILD_FLAVOR: 'release',
    HTTP_PROXY: 'http://proxy.internal:3128',
    HTTPS_PROXY: 'http://user:hunter2@proxy.internal:3128',
    https_proxy: 'https://:pass@proxy.internal:3129',
    NO_PROXY: 'localhost,127.0.0.1',
    ...extra
  }
}

let temp: string
let stdout: string[]
beforeEach(() => {
  temp = mkdtempSync(path.join(os.tmpdir(), 'codex-action-configure-'))
  stdout = []
  // @actions/core issues ::warning:: commands on stdout.
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(chunk.toString())
    return true
  })
})
afterEach(() => {
  vi.restoreAllMocks()
  vi.unstubAllEnvs()
  rmSync(temp, { recursive: true, force: true })
})

const warnings = (): string[] => stdout.join('').split('\n').filter((line) => line.startsWith('::warning::'))

function readConfig(configPath: string): Record<string, any> {
  return parseToml(readFileSync(configPath, 'utf8')) as Record<string, any>
}

function filesUnder(directory: string): string[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
}

type Mode = 'none' | 'user'

interface Run {
  identity: { mode: Mode; userName?: string }
  folders: AgentFolders
  view: AgentView
  output: string
}

/**
 * The folders and view main hands to configureCodex, made as lend.ts makes them: in mode `none`
 * under the run folder; in mode `user` laid out like the agent user's folder, but under the test's temp.
 */
function prepareRun(name: string, mode: Mode = 'none', workspace: string | null = RUNNER_TOP): Run {
  const runRoot = path.join(temp, name)
  const identity = mode === 'user' ? { mode, userName: AGENT_USER } : { mode }
  const folders: AgentFolders =
    mode === 'none'
      ? agentFolders(identity, runRoot)
      : (() => {
          const root = path.join(runRoot, 'agents', AGENT_USER)
          return { root, home: path.join(root, 'home'), codexHome: path.join(root, 'codex-home'), workspaceMount: path.join(root, 'workspace'), codexMount: path.join(root, 'codex') }
        })()
  for (const folder of [folders.home, folders.codexHome]) mkdirSync(folder, { recursive: true, mode: 0o700 })
  const output = path.join(runRoot, 'output')
  mkdirSync(output, { recursive: true, mode: 0o700 })
  // null: the runner has no GITHUB_WORKSPACE, so agentView's default (process.env) finds none either.
  if (workspace === null) vi.stubEnv('GITHUB_WORKSPACE', undefined)
  const view = agentView(folders, RUNNER_TOP, path.join(RUNNER_TOP, 'pkg'), CODEX_FOLDER, path.join(CODEX_FOLDER, 'bin', 'codex'), workspace ?? undefined)
  return { identity, folders, view, output }
}

async function configure(name: string, options: { settings?: Partial<Settings>; env?: NodeJS.ProcessEnv; mode?: Mode; run?: Run } = {}): Promise<AgentConfiguration & { run: Run }> {
  const run = options.run ?? prepareRun(name, options.mode)
  const configuration = await configureCodex(settings(options.settings), ENDPOINT, run.identity, run.folders, run.view, run.output, options.env ?? runnerEnv())
  return { ...configuration, run }
}

function mode(file: string): number {
  return statSync(file).mode & 0o777
}

describe('configureCodex', () => {
  it("writes config.toml into the agent's CODEX_HOME, readable by the runner user only, and says where Codex runs", async () => {
    const { configPath, directories, workingDirectory, run } = await configure('run-1')
    expect(configPath).toBe(path.join(run.folders.codexHome, 'config.toml'))
    expect(lstatSync(configPath).isFile()).toBe(true)
    expect(mode(configPath)).toBe(0o600)
    expect(directories).toEqual({ output: run.output, codexHome: run.folders.codexHome })
    expect(workingDirectory).toBe(path.join(RUNNER_TOP, 'pkg'))
    // Only the config: the output folder stays empty, nothing else appears in CODEX_HOME or HOME.
    expect(readdirSync(run.folders.codexHome)).toEqual(['config.toml'])
    expect(readdirSync(run.folders.home)).toEqual([])
    expect(readdirSync(run.output)).toEqual([])
  })

  it('names the working directory as the agent sees it in mode user', async () => {
    const { workingDirectory, run } = await configure('run-1u', { mode: 'user' })
    expect(workingDirectory).toBe(path.join(run.folders.workspaceMount as string, 'pkg'))
  })

  it('writes a config that sends Codex to the proxy, with every control the action needs', async () => {
    const { configPath } = await configure('run-2')
    const config = readConfig(configPath)
    expect(config.model_provider).toBe(PROVIDER_ID)
    expect(PROVIDER_ID).toBe('codex-action')
    expect(config.model_providers['codex-action']).toMatchObject({
      base_url: PROXY_URL,
      env_key: 'CODEX_ACTION_MODEL_TOKEN',
      wire_api: 'responses'
    })
    expect(config.approval_policy).toBe('never')
    expect(config.sandbox_mode).toBe('danger-full-access')
    expect(config.check_for_update_on_startup).toBe(false)
    expect(config.analytics).toEqual({ enabled: false })
    expect(config.features).toEqual({ plugins: false, shell_snapshot: false })
    expect(config.shell_environment_policy).toEqual({ ignore_default_excludes: false })
    expect(config.model).toBeUndefined()
    expect(config.model_reasoning_effort).toBeUndefined()
    expect(warnings()).toEqual([])
  })

  it('maps each sandbox input to Codex sandbox_mode', async () => {
    const cases = { bypass: 'danger-full-access', 'workspace-write': 'workspace-write', 'read-only': 'read-only' } as const
    for (const [sandbox, expected] of Object.entries(cases)) {
      const { configPath } = await configure(`sandbox-${sandbox}`, { settings: { sandbox: sandbox as Settings['sandbox'] } })
      expect(readConfig(configPath).sandbox_mode).toBe(expected)
    }
  })

  it("writes network-access and writable-roots into [sandbox_workspace_write], relative roots from where the agent sees the working directory", async () => {
    const { configPath, workingDirectory } = await configure('sandbox-table', { mode: 'user', settings: { sandbox: 'workspace-write', networkAccess: true, writableRoots: ['build/out', '../docs', '/var/cache/tool'] } })
    const agentPkg = workingDirectory
    expect(agentPkg).not.toContain(RUNNER_TOP)
    expect(readConfig(configPath).sandbox_workspace_write).toEqual({ network_access: true, writable_roots: [path.join(agentPkg, 'build/out'), path.join(path.dirname(agentPkg), 'docs'), '/var/cache/tool'] })
    const closed = await configure('sandbox-table-closed', { settings: { sandbox: 'workspace-write' } })
    expect(readConfig(closed.configPath).sandbox_workspace_write).toEqual({ network_access: false, writable_roots: [] })
    for (const sandbox of ['bypass', 'read-only'] as const) {
      const { configPath: other } = await configure(`sandbox-table-${sandbox}`, { settings: { sandbox } })
      expect(readConfig(other).sandbox_workspace_write).toBeUndefined()
    }
  })

  it("overrides a 'config' that opens the workspace-write sandbox, with a warning", async () => {
    const extraConfig = { sandbox_workspace_write: { network_access: true, writable_roots: ['/'] } }
    const { configPath } = await configure('sandbox-table-config', { settings: { sandbox: 'workspace-write', extraConfig } })
    expect(readConfig(configPath).sandbox_workspace_write).toEqual({ network_access: false, writable_roots: [] })
    expect(warnings().join('\n')).toContain('sandbox_workspace_write.network_access, sandbox_workspace_write.writable_roots')
  })

  it('sets model and reasoning effort from the inputs', async () => {
    const { configPath } = await configure('run-3', { settings: { model: 'gpt-5.5', reasoningEffort: 'high' } })
    const config = readConfig(configPath)
    expect(config.model).toBe('gpt-5.5')
    expect(config.model_reasoning_effort).toBe('high')
  })

  it('never writes the real API key or the GitHub token to disk or into the agent environment', async () => {
    for (const agentMode of ['none', 'user'] as const) {
      const configuration = await configure(`run-4-${agentMode}`, { settings: { envPassthrough: ['BUILD_FLAVOR'] }, mode: agentMode })
      const files = filesUnder(temp)
      expect(files).toContain(configuration.configPath)
      for (const file of files) {
        const bytes = readFileSync(file, 'utf8')
        expect(bytes).not.toContain(API_KEY)
        expect(bytes).not.toContain(GITHUB_TOKEN)
        expect(bytes).not.toContain(CLIENT_TOKEN)
      }
      const values = Object.values(configuration.env).join('\n')
      for (const secret of [API_KEY, GITHUB_TOKEN, 'runtime-token-value', 'id-token-value', 'hunter2', 'npm-registry-token-value', 'input-value', 'my-secret-value']) {
        expect(values).not.toContain(secret)
      }
    }
  })

  it('merges the user config, keeps provider tuning, and overrides controlled keys with a warning', async () => {
    const extraConfig = {
      model_verbosity: 'high',
      model: 'user-model',
      approval_policy: 'on-request',
      sandbox_mode: 'read-only',
      model_providers: {
        'codex-action': { base_url: 'https://evil.example/v1', env_key: 'OPENAI_API_KEY', request_max_retries: 0, stream_idle_timeout_ms: 5000, http_headers: { 'x-leak': 'y' } },
        other: { base_url: 'https://other.example/v1', wire_api: 'responses' }
      },
      features: { plugins: true, some_feature: true },
      shell_environment_policy: { inherit: 'core', set: { FROM_USER: '1' } },
      tools: { web_search: false }
    }
    const before = structuredClone(extraConfig)
    const { configPath } = await configure('run-5', { settings: { extraConfig, model: 'gpt-5.5' } })
    const config = readConfig(configPath)
    // The user's own keys stay.
    expect(config.model_verbosity).toBe('high')
    expect(config.model_providers['codex-action'].request_max_retries).toBe(0)
    expect(config.model_providers['codex-action'].stream_idle_timeout_ms).toBe(5000)
    expect(config.model_providers.other).toEqual({ base_url: 'https://other.example/v1', wire_api: 'responses' })
    expect(config.features.some_feature).toBe(true)
    expect(config.shell_environment_policy.inherit).toBe('core')
    expect(config.shell_environment_policy.set).toEqual({ FROM_USER: '1' })
    expect(config.tools).toEqual({ web_search: false })
    // The action's win.
    expect(config.model).toBe('gpt-5.5')
    expect(config.approval_policy).toBe('never')
    expect(config.sandbox_mode).toBe('danger-full-access')
    expect(config.model_providers['codex-action'].base_url).toBe(PROXY_URL)
    expect(config.model_providers['codex-action'].env_key).toBe(MODEL_TOKEN_VARIABLE)
    expect(config.model_providers['codex-action'].http_headers).toBeUndefined()
    expect(config.features.plugins).toBe(false)
    expect(config.model_provider).toBe('codex-action')
    // One warning naming what was overridden.
    const [warning, ...more] = warnings()
    expect(more).toEqual([])
    for (const key of ['model_providers.codex-action.base_url', 'model_providers.codex-action.env_key', 'model_providers.codex-action.http_headers', 'approval_policy', 'sandbox_mode', 'features.plugins', 'model']) {
      expect(warning).toContain(key)
    }
    expect(warning).not.toContain('request_max_retries')
    expect(warning).not.toContain('model_verbosity')
    // The settings object itself is left as it was.
    expect(extraConfig).toEqual(before)
  })

  it('drops a selected profile, which could set the controlled keys again', async () => {
    const extraConfig = { profile: 'loose', profiles: { loose: { approval_policy: 'on-request', sandbox_mode: 'read-only', model_provider: 'other' } } }
    const { configPath } = await configure('run-5b', { settings: { extraConfig } })
    const config = readConfig(configPath)
    expect(config.profile).toBeUndefined()
    expect(config.model_provider).toBe('codex-action')
    expect(warnings().join('\n')).toContain('profile')
  })

  it('does not warn about a user config that touches nothing the action controls', async () => {
    const extraConfig = { model_verbosity: 'low', model_providers: { 'codex-action': { request_max_retries: 1 } } }
    const { configPath } = await configure('run-6', { settings: { extraConfig } })
    expect(warnings()).toEqual([])
    expect(readConfig(configPath).model_providers['codex-action']).toMatchObject({ request_max_retries: 1, base_url: PROXY_URL })
  })

  it('builds the agent environment from an allow-list, with the proxy token and no runner secrets', async () => {
    const { env, directories } = await configure('run-7')
    for (const name of ['GITHUB_TOKEN', 'GH_TOKEN', 'ACTIONS_RUNTIME_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_RESULTS_URL', 'ACTIONS_CACHE_URL', 'GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STATE', 'INPUT_X', 'INPUT_OPENAI-API-KEY', 'OPENAI_API_KEY', 'MY_SECRET', 'MY_SECRET_TOKEN', 'BUILD_FLAVOR', 'USER', 'LOGNAME']) {
      expect(env, name).not.toHaveProperty(name)
    }
    expect(env).toMatchObject({
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: '/home/runner',
      CODEX_HOME: directories.codexHome,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'octo/repo',
      GITHUB_SHA: 'abc123',
      GITHUB_WORKSPACE: RUNNER_TOP,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      [MODEL_TOKEN_VARIABLE]: CLIENT_TOKEN
    })
    // A proxy without credentials is kept; with credentials it is dropped rather than handed to the agent.
    expect(env.HTTP_PROXY).toBe('http://proxy.internal:3128')
    expect(env.NO_PROXY).toBe('localhost,127.0.0.1')
    expect(env).not.toHaveProperty('HTTPS_PROXY')
    expect(env).not.toHaveProperty('https_proxy')
    expect(Object.values(env).every((value) => typeof value === 'string')).toBe(true)
  })

  it('drops proxy settings that carry credentials in any spelling, and keeps those that do not', async () => {
    const env = runnerEnv({
      HTTP_PROXY: 'user:hunter2@proxy.internal:3128',
      http_proxy: 'HTTP://user@proxy.internal:3128/',
      HTTPS_PROXY: 'proxy.internal:3128',
      https_proxy: 'http://proxy.internal:3128/path@not-credentials',
      NO_PROXY: 'localhost',
      no_proxy: ''
    })
    const { env: agentEnv } = await configure('run-proxy', { env })
    expect(agentEnv).not.toHaveProperty('HTTP_PROXY')
    expect(agentEnv).not.toHaveProperty('http_proxy')
    expect(agentEnv.HTTPS_PROXY).toBe('proxy.internal:3128')
    expect(agentEnv.https_proxy).toBe('http://proxy.internal:3128/path@not-credentials')
    expect(agentEnv.NO_PROXY).toBe('localhost')
    expect(agentEnv).not.toHaveProperty('no_proxy')
    expect(Object.values(agentEnv).join('\n')).not.toContain('hunter2')
  })

  it('gives the agent its own HOME and user names when it runs as its own user', async () => {
    const { env, run } = await configure('run-8', { mode: 'user' })
    expect(env.HOME).toBe(run.folders.home)
    expect(env.USER).toBe(AGENT_USER)
    expect(env.LOGNAME).toBe(AGENT_USER)
    expect(env.CODEX_HOME).toBe(run.folders.codexHome)
    expect(Object.values(env)).not.toContain('/home/runner')
  })

  it('falls back to the agent home when the runner has no HOME', async () => {
    const env = runnerEnv()
    delete env.HOME
    const configuration = await configure('run-9', { env })
    expect(configuration.env.HOME).toBe(configuration.run.folders.home)
  })

  it('passes env-passthrough variables through, and names secret-looking ones in the shell policy so Codex keeps them', async () => {
    const extraConfig = { shell_environment_policy: { set: { FROM_USER: '1' } } }
    const { env, configPath } = await configure('run-10', { settings: { envPassthrough: ['MY_SECRET_TOKEN', 'BUILD_FLAVOR', 'NOT_SET_ANYWHERE'], extraConfig } })
    expect(env.MY_SECRET_TOKEN).toBe('my-secret-token-value')
    expect(env.BUILD_FLAVOR).toBe('release')
    expect(env).not.toHaveProperty('NOT_SET_ANYWHERE')
    const config = readConfig(configPath)
    expect(config.shell_environment_policy.set).toEqual({ FROM_USER: '1', MY_SECRET_TOKEN: 'my-secret-token-value' })
    expect(config.shell_environment_policy.ignore_default_excludes).toBe(false)
    expect(mode(configPath)).toBe(0o600)
    const found = warnings()
    expect(found).toHaveLength(1)
    expect(found[0]).toContain("env-passthrough names 'NOT_SET_ANYWHERE', which is not set")
  })
})

describe("the workspace the agent is told about", () => {
  it('is where the agent sees the workspace in mode user, never the runner path', async () => {
    const run = prepareRun('ws-user', 'user')
    expect(run.view.workspace).toBe(run.folders.workspaceMount)
    const { env } = await configure('ws-user', { run, settings: { envPassthrough: ['GITHUB_WORKSPACE'] } })
    expect(env.GITHUB_WORKSPACE).toBe(run.folders.workspaceMount)
    expect(Object.values(env).join('\n')).not.toContain(RUNNER_TOP)
  })

  it('is a folder below the mount when GITHUB_WORKSPACE lies below the top of the repository', async () => {
    const run = prepareRun('ws-below', 'user', path.join(RUNNER_TOP, 'packages', 'app'))
    const { env } = await configure('ws-below', { run, env: runnerEnv({ GITHUB_WORKSPACE: path.join(RUNNER_TOP, 'packages', 'app') }) })
    expect(env.GITHUB_WORKSPACE).toBe(path.join(run.folders.workspaceMount as string, 'packages', 'app'))
  })

  it('is absent when the workspace was not lent, even if env-passthrough names it', async () => {
    for (const agentMode of ['none', 'user'] as const) {
      // GITHUB_WORKSPACE above the repository: the agent is lent the repository only.
      const run = prepareRun(`ws-absent-${agentMode}`, agentMode, path.dirname(RUNNER_TOP))
      expect(run.view.workspace).toBeUndefined()
      const { env } = await configure(`ws-absent-${agentMode}`, {
        run,
        settings: { envPassthrough: ['GITHUB_WORKSPACE'] },
        env: runnerEnv({ GITHUB_WORKSPACE: path.dirname(RUNNER_TOP) })
      })
      expect(env, agentMode).not.toHaveProperty('GITHUB_WORKSPACE')
      expect(Object.values(env).join('\n'), agentMode).not.toContain(path.dirname(RUNNER_TOP))
    }
  })

  it('is absent when the runner has no GITHUB_WORKSPACE', async () => {
    const env = runnerEnv()
    delete env.GITHUB_WORKSPACE
    const run = prepareRun('ws-unset', 'none', null)
    expect(run.view.workspace).toBeUndefined()
    const { env: agentEnv } = await configure('ws-unset', { run, env })
    expect(agentEnv).not.toHaveProperty('GITHUB_WORKSPACE')
  })
})

describe('writing config.toml', () => {
  it('refuses to write over a config.toml that is already there, and leaves it as it was', async () => {
    const run = prepareRun('exists')
    const existing = path.join(run.folders.codexHome, 'config.toml')
    writeFileSync(existing, 'model_provider = "somewhere-else"\n', { mode: 0o644 })
    await expect(configure('exists', { run })).rejects.toThrow(/EEXIST/)
    expect(readFileSync(existing, 'utf8')).toBe('model_provider = "somewhere-else"\n')
    expect(mode(existing)).toBe(0o644)
  })

  it('never writes through a symbolic link planted at config.toml, to a file or to nowhere yet', async () => {
    const run = prepareRun('link')
    const configPath = path.join(run.folders.codexHome, 'config.toml')
    const target = path.join(temp, 'readable-by-the-agent.toml')
    writeFileSync(target, '# the agent reads this later\n', { mode: 0o644 })
    symlinkSync(target, configPath)
    await expect(configure('link', { run })).rejects.toThrow(/EEXIST/)
    expect(readFileSync(target, 'utf8')).toBe('# the agent reads this later\n')
    expect(mode(target)).toBe(0o644)
    expect(lstatSync(configPath).isSymbolicLink()).toBe(true)

    const dangling = prepareRun('dangling')
    const notYet = path.join(temp, 'created-through-the-link.toml')
    symlinkSync(notYet, path.join(dangling.folders.codexHome, 'config.toml'))
    await expect(configure('dangling', { run: dangling })).rejects.toThrow(/EEXIST/)
    expect(existsSync(notYet)).toBe(false)
  })
})

describe('configureCodex with the real Codex CLI', () => {
  it('writes a config that Codex accepts with --strict-config and that makes it call the proxy URL with the per-run token', async () => {
    const seen: { url?: string; headers?: IncomingHttpHeaders } = {}
    // An endpoint that refuses at once, so Codex fails fast after showing how it was configured.
    const server = createServer((request, response) => {
      seen.url = request.url
      seen.headers = request.headers
      request.resume()
      response.writeHead(400, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ error: { message: 'scripted refusal', type: 'invalid_request_error' } }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
      const extraConfig = { model_providers: { 'codex-action': { request_max_retries: 0, stream_max_retries: 0 } } }
      const run = prepareRun('real')
      const configuration = await configureCodex(
        settings({ extraConfig, model: 'gpt-5.5', envPassthrough: ['MY_SECRET_TOKEN'] }),
        { url, clientToken: CLIENT_TOKEN },
        run.identity,
        run.folders,
        run.view,
        run.output,
        runnerEnv({ PATH: process.env.PATH, HOME: undefined, HTTP_PROXY: undefined, NO_PROXY: undefined })
      )
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          inject('codexBinary'),
          ['exec', '--strict-config', '--skip-git-repo-check', '--ephemeral', '--json', 'hello'],
          { env: configuration.env, cwd: temp, timeout: 30_000 },
          (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr })
        )
        child.stdin?.end()
      })
      expect(result.stderr).not.toContain('Error loading config.toml')
      expect(result.stderr).not.toContain('unknown configuration field')
      expect(seen.url).toBe('/v1/responses')
      expect(seen.headers?.authorization).toBe(`Bearer ${CLIENT_TOKEN}`)
      expect(JSON.stringify(seen.headers)).not.toContain(API_KEY)
      expect(result.stdout).toContain('"type":"turn.failed"')
      expect(result.stdout).toContain('scripted refusal')
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
