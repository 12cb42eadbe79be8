import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { parse as parseToml } from 'smol-toml'
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest'
import { configureCodex, MODEL_TOKEN_VARIABLE, PROVIDER_ID, runDirectories } from '../../src/configure.js'
import type { Settings } from '../../src/inputs.js'
import type { AgentIdentity } from '../../src/isolation.js'

const AGENT_USER = 'codex-agent-test0001'

const API_KEY = `sk-proj-${randomBytes(24).toString('hex')}`
const GITHUB_TOKEN = `ghs_${randomBytes(18).toString('hex')}`
const CLIENT_TOKEN = `codex-action-${randomBytes(24).toString('hex')}`
const PROXY_URL = 'http://127.0.0.1:40123/v1'

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
    allowSelfHosted: false,
    timeoutMs: 30 * 60_000,
    uploadArtifacts: true,
    envPassthrough: [],
    githubToken: GITHUB_TOKEN,
    isolation: 'none',
    allowUsers: [],
    allowBots: [],
    allowForks: false,
    ...overrides
  }
}

/** An AgentIdentity that does nothing but remember what it was lent. */
function fakeIdentity(mode: 'none' | 'user'): AgentIdentity & { lent: string[] } {
  const lent: string[] = []
  return {
    mode,
    reason: 'a test stand-in',
    userName: mode === 'user' ? AGENT_USER : undefined,
    lent,
    spawnCommand: (program, args, env) => ({ file: program, args, options: { env } }),
    signalAll: async () => {},
    lend: async (directory) => void lent.push(directory),
    allowToRun: async () => {},
    handBack: async () => void lent.splice(0),
    lentDirectories: () => [...lent],
    remove: async () => {}
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

describe('configureCodex', () => {
  it('creates the run directories with their modes, under RUNNER_TEMP', async () => {
    const configuration = await configureCodex(settings(), { url: PROXY_URL, clientToken: CLIENT_TOKEN }, fakeIdentity('none'), temp, 'run-1', runnerEnv())
    const { directories } = configuration
    expect(directories).toEqual(runDirectories(temp, 'run-1'))
    expect(directories.root).toBe(path.join(temp, 'codex-action-run-1'))
    const mode = (file: string): number => statSync(file).mode & 0o777
    expect(mode(directories.root)).toBe(0o711)
    expect(mode(directories.codexHome)).toBe(0o700)
    expect(mode(directories.agentHome)).toBe(0o700)
    expect(mode(directories.output)).toBe(0o700)
    expect(configuration.configPath).toBe(path.join(directories.codexHome, 'config.toml'))
    expect(mode(configuration.configPath)).toBe(0o600)
    expect(path.dirname(configuration.lastMessageFile)).toBe(directories.codexHome)
    for (const directory of Object.values(directories)) expect(directory.startsWith(temp + path.sep)).toBe(true)
  })

  it('writes a config that sends Codex to the proxy, with every control the action needs', async () => {
    const { configPath } = await configureCodex(settings(), { url: PROXY_URL, clientToken: CLIENT_TOKEN }, fakeIdentity('none'), temp, 'run-2', runnerEnv())
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
      const { configPath } = await configureCodex(settings({ sandbox: sandbox as Settings['sandbox'] }), { url: PROXY_URL, clientToken: CLIENT_TOKEN }, fakeIdentity('none'), temp, `sandbox-${sandbox}`, runnerEnv())
      expect(readConfig(configPath).sandbox_mode).toBe(expected)
    }
  })

  it('sets model and reasoning effort from the inputs', async () => {
    const { configPath } = await configureCodex(settings({ model: 'gpt-5.5', reasoningEffort: 'high' }), { url: PROXY_URL, clientToken: CLIENT_TOKEN }, fakeIdentity('none'), temp, 'run-3', runnerEnv())
    const config = readConfig(configPath)
    expect(config.model).toBe('gpt-5.5')
    expect(config.model_reasoning_effort).toBe('high')
  })

  it('never writes the real API key or the GitHub token to disk or into the agent environment', async () => {
    const env = runnerEnv()
    const configuration = await configureCodex(settings({ envPassthrough: ['BUILD_FLAVOR'] }), { url: PROXY_URL, clientToken: CLIENT_TOKEN }, fakeIdentity('none'), temp, 'run-4', env)
    const files = filesUnder(temp)
    expect(files).toContain(configuration.configPath)
    for (const file of files) {
      const bytes = readFileSync(file, 'utf8')
      expect(bytes).not.toContain(API_KEY)
      expect(bytes).not.toContain(GITHUB_TOKEN)
    }
    const values = Object.values(configuration.env).join('\n')
    for (const secret of [API_KEY, GITHUB_TOKEN, 'runtime-token-value', 'id-token-value', 'hunter2', 'npm-registry-token-value', 'input-value', 'my-secret-value']) {
      expect(values).not.toContain(secret)
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
    const { configPath } = await configureCodex(settings({ extraConfig, model: 'gpt-5.5' }), { url: PROXY_URL, clientToken: CLIENT_TOKEN }, fakeIdentity('none'), temp, 'run-5', runnerEnv())
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
    const { configPath } = await configureCodex(settings({ extraConfig }), { url: PROXY_URL, clientToken: CLIENT_TOKEN }, fakeIdentity('none'), temp, 'run-5b', runnerEnv())
    const config = readConfig(configPath)
    expect(config.profile).toBeUndefined()
    expect(config.model_provider).toBe('codex-action')
    expect(warnings().join('\n')).toContain('profile')
  })

  it('does not warn about a user config that touches nothing the action controls', async () => {
    const extraConfig = { model_verbosity: 'low', model_providers: { 'codex-action': { request_max_retries: 1 } } }
    const { configPath } = await configureCodex(settings({ extraConfig }), { url: PROXY_URL, clientToken: CLIENT_TOKEN }, fakeIdentity('none'), temp, 'run-6', runnerEnv())
    expect(warnings()).toEqual([])
    expect(readConfig(configPath).model_providers['codex-action']).toMatchObject({ request_max_retries: 1, base_url: PROXY_URL })
  })

  it('builds the agent environment from an allow-list, with the proxy token and no runner secrets', async () => {
    const { env, directories } = await configureCodex(settings(), { url: PROXY_URL, clientToken: CLIENT_TOKEN }, fakeIdentity('none'), temp, 'run-7', runnerEnv())
    for (const name of ['GITHUB_TOKEN', 'GH_TOKEN', 'ACTIONS_RUNTIME_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_RESULTS_URL', 'ACTIONS_CACHE_URL', 'GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STATE', 'INPUT_X', 'INPUT_OPENAI-API-KEY', 'OPENAI_API_KEY', 'MY_SECRET', 'MY_SECRET_TOKEN', 'BUILD_FLAVOR', 'USER']) {
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
      GITHUB_WORKSPACE: '/home/runner/work/repo/repo',
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
    const { env: agentEnv } = await configureCodex(settings(), { url: PROXY_URL, clientToken: CLIENT_TOKEN }, fakeIdentity('none'), temp, 'run-proxy', env)
    expect(agentEnv).not.toHaveProperty('HTTP_PROXY')
    expect(agentEnv).not.toHaveProperty('http_proxy')
    expect(agentEnv.HTTPS_PROXY).toBe('proxy.internal:3128')
    expect(agentEnv.https_proxy).toBe('http://proxy.internal:3128/path@not-credentials')
    expect(agentEnv.NO_PROXY).toBe('localhost')
    expect(agentEnv).not.toHaveProperty('no_proxy')
    expect(Object.values(agentEnv).join('\n')).not.toContain('hunter2')
  })

  it('gives the agent its own HOME and user names when it runs as its own user, and lends it its directories', async () => {
    const identity = fakeIdentity('user')
    const { env, directories } = await configureCodex(settings(), { url: PROXY_URL, clientToken: CLIENT_TOKEN }, identity, temp, 'run-8', runnerEnv())
    expect(env.HOME).toBe(directories.agentHome)
    expect(env.USER).toBe(AGENT_USER)
    expect(env.LOGNAME).toBe(AGENT_USER)
    expect(identity.lent).toEqual([directories.codexHome, directories.agentHome])
    expect(identity.lent).not.toContain(directories.output)
    expect(identity.lent).not.toContain(directories.root)
  })

  it('falls back to the agent home when the runner has no HOME', async () => {
    const env = runnerEnv()
    delete env.HOME
    const configuration = await configureCodex(settings(), { url: PROXY_URL, clientToken: CLIENT_TOKEN }, fakeIdentity('none'), temp, 'run-9', env)
    expect(configuration.env.HOME).toBe(configuration.directories.agentHome)
  })

  it('passes env-passthrough variables through, and names secret-looking ones in the shell policy so Codex keeps them', async () => {
    const extraConfig = { shell_environment_policy: { set: { FROM_USER: '1' } } }
    const { env, configPath } = await configureCodex(
      settings({ envPassthrough: ['MY_SECRET_TOKEN', 'BUILD_FLAVOR', 'NOT_SET_ANYWHERE'], extraConfig }),
      { url: PROXY_URL, clientToken: CLIENT_TOKEN },
      fakeIdentity('none'),
      temp,
      'run-10',
      runnerEnv()
    )
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

function mode(file: string): number {
  return statSync(file).mode & 0o777
}

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
      const home = path.join(temp, 'home')
      const configuration = await configureCodex(
        settings({ extraConfig, model: 'gpt-5.5', envPassthrough: ['MY_SECRET_TOKEN'] }),
        { url, clientToken: CLIENT_TOKEN },
        fakeIdentity('none'),
        temp,
        'real',
        runnerEnv({ PATH: process.env.PATH, HOME: home, HTTP_PROXY: undefined, NO_PROXY: undefined })
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
