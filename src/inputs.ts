import * as core from '@actions/core'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs'
import path from 'node:path'
import { parse as parseToml, TomlError } from 'smol-toml'
import { parseArgumentList } from './argument-list.js'
import { relativeInside } from './path-inside.js'
import { MINIMUM_CODEX_VERSION, compareVersions, isExactVersion } from './install/version.js'
import { DEFAULT_CODEX_VERSION } from './install/pinned.js'
import { parseHostRule } from './egress/hosts.js'
import { globProblem } from './path-glob.js'
import { slicePrompt } from './slice.js'
import type { NetworkMode } from './egress/index.js'
import type { ModelPrice } from './cost.js'
import { compileOutputSchema } from './output-schema.js'

export type SandboxMode = 'bypass' | 'workspace-write' | 'read-only'
/** `auto`: a separate OS user where the runner allows it, else the runner user with a warning. */
export type Isolation = 'auto' | 'user' | 'none'
export type ReasoningEffort = 'minimal' | 'low' | 'medium' | 'high' | 'xhigh'

/** Everything the action was asked to do, read and validated once. No later stage reads an input. */
export interface Settings {
  prompt: string
  apiKey: string
  baseUrl: string
  model?: string
  reasoningEffort?: ReasoningEffort
  codexVersion: string
  codexPath?: string
  npmRegistry: string
  npmRegistryToken?: string
  cache: boolean
  extraConfig: Record<string, unknown>
  codexArgs: string[]
  workingDirectory: string
  sandbox: SandboxMode
  /** workspace-write only: whether the agent's commands may use the network inside Codex's sandbox. */
  networkAccess: boolean
  /** workspace-write only: folders besides the working directory and /tmp that the agent may write, relative to the working directory or absolute. */
  writableRoots: string[]
  allowSelfHosted: boolean
  timeoutMs: number
  uploadArtifacts: boolean
  artifactName?: string
  retentionDays?: number
  envPassthrough: string[]
  githubToken?: string
  isolation: Isolation
  allowUsers: string[]
  allowBots: string[]
  allowForks: boolean
  network: NetworkMode
  allowHosts: string[]
  defaultHosts: boolean
  /** The leg's slice of the repository (globs); empty for all of it. */
  paths: string[]
  /** Input plus output tokens of the whole run, counted at the model proxy. */
  maxTokens?: number
  maxModelRequests?: number
  /** USD per 1M tokens by model name, over the built-in table. */
  modelPrices?: Record<string, ModelPrice>
  /** The JSON Schema the final message must match (`output-schema` or `output-schema-file`). */
  outputSchema?: object
}

export class InputError extends Error {
  constructor(input: string, problem: string, accepted: string) {
    super(`Input '${input}' ${problem}. Expected ${accepted}.`)
    this.name = 'InputError'
  }
}

const PROMPT_LIMIT_BYTES = 1024 * 1024
const REASONING_EFFORTS: readonly ReasoningEffort[] = ['minimal', 'low', 'medium', 'high', 'xhigh']
const SANDBOX_MODES: readonly SandboxMode[] = ['bypass', 'workspace-write', 'read-only']
// Flags that decide where output goes, which directory is used or how the sandbox behaves: the action owns them.
const CONTROLLED_FLAGS = [
  '--json',
  '-o',
  '--output-last-message',
  '-C',
  '--cd',
  '-s',
  '--sandbox',
  '--dangerously-bypass-approvals-and-sandbox',
  '--full-auto',
  '--yolo',
  '-c',
  '--config',
  '--profile',
  '-p',
  // Same effect by other names: feature switches are `-c features.<name>=…`, --oss/--local-provider replace the
  // action's model provider, --ignore-user-config drops the whole config.toml the action wrote, and
  // --approve-for-me changes the approval policy and sandbox.
  '--enable',
  '--disable',
  '--oss',
  '--local-provider',
  '--ignore-user-config',
  '--approve-for-me',
  // Runs the session in another work tree, where the action's patch would not see its changes.
  '--worktree',
  // The action places the schema where the agent cannot swap it, and checks the final message against it.
  '--output-schema'
]
// Words 'codex exec' reads as its own subcommands: they would replace the run the action sets up.
const SUBCOMMANDS = ['resume', 'review', 'help']
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
// Variables that keep their meaning for the action and the runner; passing them through would hand the agent a credential or the runner's channels.
const NEVER_PASSED = /^(GITHUB_TOKEN|GH_TOKEN|ACTIONS_.*|INPUT_.*|GITHUB_(ENV|OUTPUT|STATE|PATH|STEP_SUMMARY)|RUNNER_TEMP|CODEX_HOME)$/i

type Env = Record<string, string | undefined>

export async function readSettings(env: Env = process.env): Promise<Settings> {
  const apiKey = readSecret('openai-api-key') ?? ''
  const githubToken = readSecret('github-token')
  const npmRegistryToken = readSecret('npm-registry-token')

  const workingDirectory = readWorkingDirectory(env)
  const paths = readPaths()

  const settings: Settings = {
    prompt: slicePrompt(readPrompt(workingDirectory, env), paths),
    apiKey: requireValue(
      'openai-api-key',
      apiKey,
      'the model API key, usually ${{ secrets.OPENAI_API_KEY }} (GitHub gives no secrets to workflows that pull requests from forks trigger)'
    ),
    baseUrl: refusePlainHttp('base-url', readUrl('base-url', 'https://api.openai.com/v1'), 'openai-api-key', apiKey),
    model: readModel(),
    reasoningEffort: readChoice('reasoning-effort', REASONING_EFFORTS),
    codexVersion: readCodexVersion(),
    codexPath: readCodexPath(),
    npmRegistry: refusePlainHttp('npm-registry', readUrl('npm-registry', 'https://registry.npmjs.org'), 'npm-registry-token', npmRegistryToken),
    npmRegistryToken,
    cache: readBoolean('cache', true),
    extraConfig: readExtraConfig(),
    codexArgs: readCodexArgs(),
    workingDirectory,
    sandbox: readChoice('sandbox', SANDBOX_MODES) ?? 'bypass',
    networkAccess: readBoolean('network-access', false),
    writableRoots: readWritableRoots(workingDirectory),
    allowSelfHosted: readBoolean('allow-self-hosted', false),
    timeoutMs: readTimeoutMinutes() * 60_000,
    uploadArtifacts: readBoolean('upload-artifacts', true),
    artifactName: readArtifactName(),
    retentionDays: readRetentionDays(),
    envPassthrough: readEnvPassthrough(env, { 'openai-api-key': apiKey, 'github-token': githubToken, 'npm-registry-token': npmRegistryToken }),
    githubToken,
    isolation: readChoice('isolation', ['auto', 'user', 'none'] as const) ?? 'auto',
    allowUsers: readLogins('allow-users'),
    allowBots: readLogins('allow-bots'),
    allowForks: readBoolean('allow-forks', false),
    network: readChoice('network', ['allow-list', 'open', 'none'] as const) ?? 'allow-list',
    allowHosts: readAllowHosts(),
    defaultHosts: readBoolean('default-hosts', true),
    paths,
    maxTokens: readPositiveInteger('max-tokens', 'tokens'),
    maxModelRequests: readPositiveInteger('max-model-requests', 'requests'),
    modelPrices: readModelPrices(),
    outputSchema: await readOutputSchema(env.GITHUB_WORKSPACE || workingDirectory)
  }
  if (settings.isolation === 'none' && settings.network !== 'open') {
    throw new InputError('network', `is '${settings.network}' while 'isolation' is 'none': only an agent with its own OS user can be kept to the allowed hosts`, "'network: open' with 'isolation: none', or an isolation of 'auto' or 'user'")
  }
  for (const input of ['network-access', 'writable-roots']) {
    if (core.getInput(input) && settings.sandbox !== 'workspace-write') {
      throw new InputError(input, `is set while 'sandbox' is '${settings.sandbox}', where it means nothing (it tunes Codex's workspace-write sandbox only)`, `'${input}' only with 'sandbox: workspace-write'`)
    }
  }
  return settings
}

/** A credential: masked at once, and one word, since it goes into an HTTP header. Its value is never echoed. */
export function readSecret(input: string): string | undefined {
  const value = core.getInput(input)
  if (!value) return undefined
  core.setSecret(value)
  if (/[\s\x00-\x1f\x7f]/.test(value)) {
    throw new InputError(input, 'holds a space, a line break or another control character', 'the token as one word (check how the secret was pasted)')
  }
  return value
}

function readModel(): string | undefined {
  const value = core.getInput('model')
  if (!value) return undefined
  if (!/^[\w.:/@+-]{1,200}$/.test(value)) {
    throw new InputError('model', `is '${value}'`, "a model name of letters, digits and . : / @ + - _ such as 'gpt-5.5'")
  }
  return value
}

function readLogins(input: string): string[] {
  const logins = readList(input)
  for (const login of logins) {
    if (login !== '*' && !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/.test(login)) {
      throw new InputError(input, `names '${login}'`, "GitHub logins (such as octocat or dependabot[bot]) separated by commas or new lines, or '*'")
    }
  }
  return logins
}

function requireValue(input: string, value: string, accepted: string): string {
  if (!value) throw new InputError(input, 'is required', accepted)
  return value
}

function readPrompt(workingDirectory: string, env: Env): string {
  const prompt = core.getInput('prompt', { trimWhitespace: false })
  const promptFile = core.getInput('prompt-file')
  if (prompt.trim() && promptFile) {
    throw new InputError('prompt', "and 'prompt-file' were both given", "exactly one of 'prompt' (the text) or 'prompt-file' (a path)")
  }
  if (!prompt.trim() && !promptFile) {
    throw new InputError('prompt', "and 'prompt-file' are both empty", "exactly one of 'prompt' (the text) or 'prompt-file' (a path)")
  }
  if (prompt.trim()) return checkPromptSize('prompt', prompt)

  const workspace = env.GITHUB_WORKSPACE || workingDirectory
  const file = path.resolve(workspace, promptFile)
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new InputError('prompt-file', `points to '${file}', which is not a file`, 'a path to a UTF-8 text file, relative to the workspace')
  }
  const text = readFileSync(insideWorkspace('prompt-file', file, workspace, 'a path to a UTF-8 text file inside the workspace'), 'utf8')
  if (!text.trim()) throw new InputError('prompt-file', `points to '${file}', which is empty`, 'a file holding the prompt text')
  return checkPromptSize('prompt-file', text)
}

function checkPromptSize(input: string, text: string): string {
  if (Buffer.byteLength(text) > PROMPT_LIMIT_BYTES) {
    throw new InputError(input, `is ${Buffer.byteLength(text)} bytes long`, `a prompt of at most ${PROMPT_LIMIT_BYTES} bytes`)
  }
  return text
}

function readUrl(input: string, fallback: string): string {
  const value = core.getInput(input) || fallback
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InputError(input, `is '${value}', which is not a URL`, 'an http:// or https:// URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InputError(input, `uses the scheme '${url.protocol}'`, 'an http:// or https:// URL')
  }
  if (url.username || url.password) {
    throw new InputError(input, 'holds credentials in the URL', `a URL without user:password (pass secrets through their own inputs)`)
  }
  return value.replace(/\/+$/, '')
}

/** The URL `value` of `input`, unless it is plain HTTP to another machine while `secretInput` is set: that would send the secret unencrypted. */
function refusePlainHttp(input: string, value: string, secretInput: string, secret: string | undefined): string {
  const url = new URL(value)
  if (secret && url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new InputError(input, `is '${value}', plain HTTP to another machine, which would send '${secretInput}' unencrypted`, 'an https:// URL, or http:// only to this machine (127.0.0.0/8, ::1 or localhost)')
  }
  return value
}

/** The URL parser has already turned every IPv4 spelling (127.1, 0x7f.0.0.1) into dotted decimal. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

/** The real path of `file`, which must lie inside the workspace however it was written: no link may lead out of it. */
function insideWorkspace(input: string, file: string, workspace: string, accepted: string): string {
  const real = realpathSync(file)
  const root = realpathSync(workspace)
  if (relativeInside(root, real) === undefined) {
    throw new InputError(input, `resolves to '${real}', outside the workspace '${root}'`, accepted)
  }
  return real
}

export function readChoice<T extends string>(input: string, choices: readonly T[]): T | undefined {
  const value = core.getInput(input)
  if (!value) return undefined
  if (!(choices as readonly string[]).includes(value)) {
    throw new InputError(input, `is '${value}'`, `one of ${choices.map((c) => `'${c}'`).join(', ')}`)
  }
  return value as T
}

export function readBoolean(input: string, fallback: boolean): boolean {
  const value = core.getInput(input).toLowerCase()
  if (value === '') return fallback
  if (value === 'true') return true
  if (value === 'false') return false
  throw new InputError(input, `is '${core.getInput(input)}'`, "'true' or 'false'")
}

function readCodexVersion(): string {
  const value = core.getInput('codex-version') || DEFAULT_CODEX_VERSION
  if (value === 'latest') return value
  const version = value.replace(/^v/, '')
  if (!isExactVersion(version)) {
    throw new InputError('codex-version', `is '${value}'`, "an exact version such as '0.169.0', or 'latest'")
  }
  if (compareVersions(version, MINIMUM_CODEX_VERSION) < 0) {
    throw new InputError(
      'codex-version',
      `is '${value}', older than ${MINIMUM_CODEX_VERSION} (earlier versions have a sandbox path-escape bug)`,
      `an exact version ${MINIMUM_CODEX_VERSION} or newer, or 'latest'`
    )
  }
  return version
}

function readCodexPath(): string | undefined {
  const value = core.getInput('codex-path')
  if (!value) return undefined
  const file = path.resolve(value)
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new InputError('codex-path', `points to '${file}', which is not a file`, 'the path of an executable codex binary')
  }
  return file
}

function readExtraConfig(): Record<string, unknown> {
  const value = core.getInput('config')
  if (!value) return {}
  try {
    return parseToml(value) as Record<string, unknown>
  } catch (error) {
    const where = error instanceof TomlError ? ` (line ${error.line}, column ${error.column})` : ''
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
    throw new InputError('config', `is not valid TOML${where}: ${reason}`, 'TOML text such as \'model_verbosity = "low"\'')
  }
}

function readCodexArgs(): string[] {
  const value = core.getInput('codex-args')
  if (!value) return []
  let args: string[]
  try {
    args = parseArgumentList(value)
  } catch (error) {
    throw new InputError('codex-args', `could not be read: ${(error as Error).message}`, 'a JSON array of strings or shell-style words')
  }
  for (const arg of args) {
    const flag = controlledFlag(arg)
    if (flag) {
      throw new InputError(
        'codex-args',
        `contains '${flag}', which the action sets itself`,
        "extra 'codex exec' flags other than " + CONTROLLED_FLAGS.join(' ') + " (use the 'sandbox', 'config' and 'working-directory' inputs instead)"
      )
    }
  }
  return args
}

function controlledFlag(arg: string): string | undefined {
  if (SUBCOMMANDS.includes(arg)) return arg
  // A long option may carry its value after '='. A short option may carry it attached (`-cKEY=VALUE`, `-sMODE`,
  // `-C/dir`: clap reads all of these), so only its first letter names it.
  const flag = arg.startsWith('--') ? arg.split('=')[0] : /^-[A-Za-z]/.test(arg) ? arg.slice(0, 2) : undefined
  return flag !== undefined && CONTROLLED_FLAGS.includes(flag) ? flag : undefined
}

function readWorkingDirectory(env: Env): string {
  const value = core.getInput('working-directory')
  const workspace = env.GITHUB_WORKSPACE || process.cwd()
  const resolved = path.resolve(workspace, value || '.')
  if (!existsSync(resolved) || !statSync(resolved).isDirectory()) {
    throw new InputError('working-directory', `points to '${resolved}', which is not a directory`, 'a directory inside a git work tree (run actions/checkout first)')
  }
  // The agent gets the run of this directory; a path or link out of the workspace would hand it someone else's.
  const directory = insideWorkspace('working-directory', resolved, workspace, 'a directory inside the workspace (GITHUB_WORKSPACE), relative to it')
  try {
    const inside = execFileSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: directory, stdio: ['ignore', 'pipe', 'ignore'] })
    if (inside.toString().trim() !== 'true') throw new Error('not a work tree')
  } catch {
    throw new InputError('working-directory', `points to '${directory}', which is not inside a git work tree`, 'a directory inside a git work tree (run actions/checkout first)')
  }
  return directory
}

function readTimeoutMinutes(): number {
  const value = core.getInput('timeout-minutes') || '30'
  const minutes = Number(value)
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) {
    throw new InputError('timeout-minutes', `is '${value}'`, 'a positive number of minutes, at most 1440')
  }
  return minutes
}

function readPositiveInteger(input: string, unit: string): number | undefined {
  const value = core.getInput(input)
  if (!value) return undefined
  if (!/^[1-9]\d{0,14}$/.test(value)) {
    throw new InputError(input, `is '${value}'`, `a whole number of ${unit} of 1 or more, or empty for no limit`)
  }
  return Number(value)
}

function readModelPrices(): Record<string, ModelPrice> | undefined {
  const value = core.getInput('model-prices')
  const accepted = 'a JSON object of model names to USD per 1M tokens, such as {"my-model": {"input": 1.25, "cached_input": 0.125, "output": 10}}'
  if (!value) return undefined
  let prices: unknown
  try {
    prices = JSON.parse(value)
  } catch (error) {
    throw new InputError('model-prices', `is not JSON (${(error as Error).message})`, accepted)
  }
  if (!prices || typeof prices !== 'object' || Array.isArray(prices)) throw new InputError('model-prices', 'is not a JSON object', accepted)
  for (const [model, price] of Object.entries(prices)) {
    const fields = price && typeof price === 'object' && !Array.isArray(price) ? Object.entries(price) : []
    const valid = fields.length === 3 && fields.every(([name, usd]) => ['input', 'cached_input', 'output'].includes(name) && typeof usd === 'number' && Number.isFinite(usd) && usd >= 0)
    if (!valid) throw new InputError('model-prices', `gives '${model}' the price ${JSON.stringify(price)}`, accepted)
  }
  return prices as Record<string, ModelPrice>
}

async function readOutputSchema(workspace: string): Promise<object | undefined> {
  const inline = core.getInput('output-schema')
  const file = core.getInput('output-schema-file')
  const accepted = 'a JSON Schema object with "type": "object", such as {"type": "object", "properties": {"verdict": {"type": "string"}}, "required": ["verdict"]}'
  if (inline && file) throw new InputError('output-schema', "and 'output-schema-file' were both given", "at most one of 'output-schema' (the JSON) or 'output-schema-file' (a path)")
  if (!inline && !file) return undefined
  const input = inline ? 'output-schema' : 'output-schema-file'
  let text = inline
  if (file) {
    const resolved = path.resolve(workspace, file)
    if (!existsSync(resolved) || !statSync(resolved).isFile()) {
      throw new InputError('output-schema-file', `points to '${resolved}', which is not a file`, 'a path to a JSON Schema file, relative to the workspace')
    }
    text = readFileSync(insideWorkspace('output-schema-file', resolved, workspace, 'a path to a JSON Schema file inside the workspace'), 'utf8')
  }
  let schema: unknown
  try {
    schema = JSON.parse(text)
  } catch (error) {
    throw new InputError(input, `is not JSON (${(error as Error).message})`, accepted)
  }
  if (!schema || typeof schema !== 'object' || Array.isArray(schema) || (schema as { type?: unknown }).type !== 'object') {
    throw new InputError(input, 'is not a schema of a JSON object (the model answers with an object)', accepted)
  }
  try {
    await compileOutputSchema(schema)
  } catch (error) {
    throw new InputError(input, `is not a valid JSON Schema: ${(error as Error).message}`, accepted)
  }
  return schema
}

function readArtifactName(): string | undefined {
  const value = core.getInput('artifact-name')
  if (!value) return undefined
  if (/["':<>|*?\\/\r\n]/.test(value)) {
    throw new InputError('artifact-name', `is '${value}'`, 'a name without any of " : < > | * ? \\ / or line breaks')
  }
  return value
}

function readRetentionDays(): number | undefined {
  const value = core.getInput('retention-days')
  if (!value) return undefined
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 90) {
    throw new InputError('retention-days', `is '${value}'`, 'a whole number of days from 1 to 90')
  }
  return Number(value)
}

function readEnvPassthrough(env: Env, secrets: Record<string, string | undefined>): string[] {
  const names = readList('env-passthrough')
  for (const name of names) {
    if (!ENV_NAME.test(name)) {
      throw new InputError('env-passthrough', `names '${name}'`, 'environment variable names (letters, digits, _), separated by commas or new lines')
    }
    if (NEVER_PASSED.test(name)) {
      throw new InputError('env-passthrough', `names '${name}', which the agent may never see`, 'names of variables other than the GitHub and Actions tokens, INPUT_* and the runner file commands')
    }
    // Whatever the variable is called, its value must not be one of the secrets the action keeps from the agent.
    const value = env[name]
    for (const [input, secret] of Object.entries(secrets)) {
      if (secret && value && value.includes(secret)) {
        throw new InputError('env-passthrough', `names '${name}', which holds the value of '${input}'`, `names of variables that do not hold the action's own secrets (the agent never sees '${input}')`)
      }
    }
  }
  return names
}

export function readList(input: string): string[] {
  return core
    .getInput(input)
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean)
}

function readWritableRoots(workingDirectory: string): string[] {
  const roots = core
    .getInput('writable-roots')
    .split('\n')
    .map((root) => root.trim())
    .filter(Boolean)
  if (roots.length === 0) return roots
  const accepted = 'folders, one per line: relative ones inside the repository (from the working directory), others absolute, and not / (which would let the agent write everywhere)'
  // The agent may see the repository elsewhere (its own mount): a relative root is resolved there, so it must stay inside.
  const top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: workingDirectory, encoding: 'utf8' }).trim()
  for (const root of roots) {
    if (/[\x00-\x1f\x7f]/.test(root)) throw new InputError('writable-roots', `names '${root}', which holds a control character`, accepted)
    if (path.isAbsolute(root) && path.resolve(root) === '/') throw new InputError('writable-roots', `names '${root}', the whole file system`, accepted)
    if (!path.isAbsolute(root) && relativeInside(top, path.resolve(workingDirectory, root)) === undefined) {
      throw new InputError('writable-roots', `names '${root}', which leads out of the repository`, accepted)
    }
  }
  return roots
}

function readAllowHosts(): string[] {
  const entries = readList('allow-hosts')
  for (const entry of entries) {
    try {
      parseHostRule(entry)
    } catch (error) {
      throw new InputError('allow-hosts', `names '${entry}', ${(error as Error).message}`, "host names ('example.com'), subdomain wildcards ('*.example.com') or IP addresses, each with an optional ':port' ('localhost:5432'), separated by commas or new lines")
    }
  }
  return entries
}

function readPaths(): string[] {
  const globs = readList('paths')
  for (const glob of globs) {
    const problem = globProblem(glob)
    if (problem) throw new InputError('paths', `names '${glob}', which ${problem}`, "globs relative to the repository's top ('packages/api/**', 'docs'), separated by commas or new lines")
  }
  return globs
}
