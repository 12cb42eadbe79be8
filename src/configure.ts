import * as core from '@actions/core'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { stringify as stringifyToml } from 'smol-toml'
import type { Settings } from './inputs.js'
import type { AgentIdentity } from './isolation.js'
import type { AgentFolders, AgentView } from './lend.js'

export const PROVIDER_ID = 'codex-action'
/** The variable that carries the model proxy's per-run token to Codex. Its name holds TOKEN, so Codex's default excludes keep it from the commands the agent runs. */
export const MODEL_TOKEN_VARIABLE = 'CODEX_ACTION_MODEL_TOKEN'

export interface AgentConfiguration {
  /** Where the run's logs and patch go (the action's alone), and the agent's CODEX_HOME. */
  directories: { output: string; codexHome: string }
  configPath: string
  /** Codex's whole environment: built from an allow-list, never copied from the runner's. */
  env: Record<string, string>
  /** Where Codex runs, as the agent sees the repository. */
  workingDirectory: string
  /** The `output-schema` file Codex is given, where the agent cannot replace it. */
  outputSchemaFile?: string
}

interface ModelEndpoint {
  url: string
  clientToken: string
}

// Non-secret context the agent may see; GITHUB_TOKEN, ACTIONS_*, INPUT_* and the file commands are never on it.
const ALLOWED_VARIABLES = [
  'PATH', 'LANG', 'LANGUAGE', 'TZ', 'TERM', 'CI', 'GITHUB_ACTIONS',
  'GITHUB_REPOSITORY', 'GITHUB_REPOSITORY_OWNER', 'GITHUB_REPOSITORY_ID', 'GITHUB_SHA', 'GITHUB_REF', 'GITHUB_REF_NAME',
  'GITHUB_REF_TYPE', 'GITHUB_HEAD_REF', 'GITHUB_BASE_REF', 'GITHUB_EVENT_NAME', 'GITHUB_RUN_ID', 'GITHUB_RUN_NUMBER',
  'GITHUB_RUN_ATTEMPT', 'GITHUB_SERVER_URL', 'GITHUB_API_URL', 'GITHUB_GRAPHQL_URL', 'GITHUB_WORKFLOW', 'GITHUB_JOB',
  'GITHUB_ACTOR', 'GITHUB_TRIGGERING_ACTOR', 'GITHUB_WORKSPACE', 'RUNNER_OS', 'RUNNER_ARCH', 'RUNNER_ENVIRONMENT',
  // A TLS-inspecting proxy's CA on self-hosted runners; Codex and the agent's tools need it to reach anything.
  'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'CURL_CA_BUNDLE', 'REQUESTS_CA_BUNDLE', 'GIT_SSL_CAINFO'
]
const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']
// Names Codex's shell environment policy drops by default; a passthrough of such a name must be set explicitly.
const DEFAULT_EXCLUDED = /KEY|SECRET|TOKEN/i

/** Config keys the action decides; a value for them in the `config` input is overridden with a warning. */
const CONTROLLED_KEYS = [
  'model_provider',
  `model_providers.${PROVIDER_ID}.name`,
  `model_providers.${PROVIDER_ID}.base_url`,
  `model_providers.${PROVIDER_ID}.env_key`,
  `model_providers.${PROVIDER_ID}.wire_api`,
  `model_providers.${PROVIDER_ID}.query_params`,
  `model_providers.${PROVIDER_ID}.http_headers`,
  `model_providers.${PROVIDER_ID}.env_http_headers`,
  `model_providers.${PROVIDER_ID}.requires_openai_auth`,
  'approval_policy',
  'sandbox_mode',
  'sandbox_workspace_write.network_access',
  'sandbox_workspace_write.writable_roots',
  'analytics.enabled',
  'features.plugins',
  'features.shell_snapshot',
  'shell_environment_policy.ignore_default_excludes',
  'check_for_update_on_startup'
]

/** Writes Codex's config.toml into the agent's CODEX_HOME and builds the environment Codex starts with. */
export async function configureCodex(
  settings: Settings,
  endpoint: ModelEndpoint,
  identity: Pick<AgentIdentity, 'mode' | 'userName'>,
  folders: Pick<AgentFolders, 'home' | 'codexHome'>,
  view: AgentView,
  output: string,
  env: NodeJS.ProcessEnv = process.env
): Promise<AgentConfiguration> {
  const passthrough = passthroughValues(settings.envPassthrough, env)
  const config = buildConfig(settings, endpoint, passthrough, view.workingDirectory)
  const configPath = path.join(folders.codexHome, 'config.toml')
  await writeFile(configPath, stringifyToml(config) + '\n', { mode: 0o600, flag: 'wx' })

  const agentEnv: Record<string, string> = {}
  for (const name of ALLOWED_VARIABLES) if (env[name] !== undefined) agentEnv[name] = env[name] as string
  for (const [name, value] of Object.entries(env)) if (name.startsWith('LC_') && value !== undefined) agentEnv[name] = value
  for (const name of PROXY_VARIABLES) {
    const value = env[name]
    // Credentials sit before an '@' in the authority, with or without a scheme (curl takes `user:pass@host:port` too).
    if (value && !/^(?:[^/]*:\/\/)?[^/]*@/.test(value)) agentEnv[name] = value
  }
  Object.assign(agentEnv, passthrough)
  // The agent sees the workspace where it was lent; a workspace that was not lent is not named at all.
  delete agentEnv.GITHUB_WORKSPACE
  if (view.workspace) agentEnv.GITHUB_WORKSPACE = view.workspace
  agentEnv.HOME = identity.mode === 'user' ? folders.home : (env.HOME ?? folders.home)
  if (identity.userName) {
    agentEnv.USER = identity.userName
    agentEnv.LOGNAME = identity.userName
  }
  agentEnv.CODEX_HOME = folders.codexHome
  agentEnv[MODEL_TOKEN_VARIABLE] = endpoint.clientToken

  return { directories: { output, codexHome: folders.codexHome }, configPath, env: agentEnv, workingDirectory: view.workingDirectory }
}

function passthroughValues(names: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const values: Record<string, string> = {}
  for (const name of names) {
    const value = env[name]
    if (value === undefined) core.warning(`env-passthrough names '${name}', which is not set; the agent will not see it.`)
    else values[name] = value
  }
  return values
}

function buildConfig(settings: Settings, endpoint: ModelEndpoint, passthrough: Record<string, string>, workingDirectory: string): Record<string, unknown> {
  const config = structuredClone(settings.extraConfig)
  const overridden: string[] = []
  const set = (keyPath: string, value: unknown): void => {
    const keys = keyPath.split('.')
    let table = config
    for (const key of keys.slice(0, -1)) {
      if (typeof table[key] !== 'object' || table[key] === null || Array.isArray(table[key])) table[key] = {}
      table = table[key] as Record<string, unknown>
    }
    table[keys.at(-1) as string] = value
  }
  for (const keyPath of CONTROLLED_KEYS) if (lookup(config, keyPath) !== undefined) overridden.push(keyPath)
  // A selected profile could set the controlled keys again; without one, [profiles.*] tables are inert.
  if (config.profile !== undefined) {
    overridden.push('profile')
    delete config.profile
  }
  if (settings.model && lookup(config, 'model') !== undefined) overridden.push('model')
  if (settings.reasoningEffort && lookup(config, 'model_reasoning_effort') !== undefined) overridden.push('model_reasoning_effort')
  if (overridden.length) {
    core.warning(`The 'config' input sets ${overridden.join(', ')}, which the action controls; the action's values are used.`)
  }

  if (settings.model) set('model', settings.model)
  if (settings.reasoningEffort) set('model_reasoning_effort', settings.reasoningEffort)
  set('model_provider', PROVIDER_ID)
  // The provider's tuning (retries, idle timeout) stays the user's; where it sends and with what credential does not.
  const provider = `model_providers.${PROVIDER_ID}`
  for (const keyPath of CONTROLLED_KEYS) if (keyPath.startsWith(`${provider}.`)) removeKey(config, keyPath)
  set(`${provider}.name`, 'codex-action model proxy')
  set(`${provider}.base_url`, endpoint.url)
  set(`${provider}.env_key`, MODEL_TOKEN_VARIABLE)
  set(`${provider}.wire_api`, 'responses')
  set('approval_policy', 'never')
  set('sandbox_mode', settings.sandbox === 'bypass' ? 'danger-full-access' : settings.sandbox)
  if (settings.sandbox === 'workspace-write') {
    set('sandbox_workspace_write.network_access', settings.networkAccess)
    // Relative roots are the user's view of the repository; the agent may see it elsewhere (its own mount).
    set('sandbox_workspace_write.writable_roots', settings.writableRoots.map((root) => path.resolve(workingDirectory, root)))
  }
  set('check_for_update_on_startup', false)
  // Without these Codex calls github.com and chatgpt.com even with a custom provider.
  set('analytics.enabled', false)
  set('features.plugins', false)
  // Shell snapshots write the whole environment to a world-readable file.
  set('features.shell_snapshot', false)
  set('shell_environment_policy.ignore_default_excludes', false)
  const secretLooking = Object.entries(passthrough).filter(([name]) => DEFAULT_EXCLUDED.test(name))
  if (secretLooking.length) {
    const existing = (lookup(config, 'shell_environment_policy.set') as Record<string, unknown> | undefined) ?? {}
    set('shell_environment_policy.set', { ...existing, ...Object.fromEntries(secretLooking) })
  }
  return config
}

function removeKey(config: Record<string, unknown>, keyPath: string): void {
  const keys = keyPath.split('.')
  const table = lookup(config, keys.slice(0, -1).join('.'))
  if (table && typeof table === 'object') delete (table as Record<string, unknown>)[keys.at(-1) as string]
}

function lookup(config: Record<string, unknown>, keyPath: string): unknown {
  let value: unknown = config
  for (const key of keyPath.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}
