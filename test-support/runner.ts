/**
 * Runs a JavaScript action (action.yml + its bundled entry points) the way the
 * GitHub runner does, for end-to-end tests of the built dist/:
 *
 * - inputs merged with action.yml defaults only when the key is absent
 *   (runner ActionRunner: `if (!inputs.ContainsKey(key))`), declared inputs
 *   without a default become `''`, all exported as `INPUT_<NAME>` (spaces to
 *   `_`, upper-cased, dashes kept);
 * - a from-scratch environment (GITHUB_*, RUNNER_*, CI, file-command files
 *   under RUNNER_TEMP/_runner_file_commands, fresh per step), `node <entry>`
 *   with cwd GITHUB_WORKSPACE and stdin closed;
 * - workflow commands parsed from stdout AND stderr like the runner does
 *   (`::name k=v,k2=v2::data`, `::stop-commands::token` … `::token::`);
 * - file commands parsed with the runner's rules (`name=value` or
 *   `name<<DELIM`, LF lines, the value without the final newline; a bad line is
 *   an error that fails the step);
 * - post runs after main (post-if defaults to `always()`, so also after a
 *   failed or cancelled main), with `STATE_<name>` from main's GITHUB_STATE and
 *   main's GITHUB_ENV / GITHUB_PATH applied, as for any later step;
 * - after the node process exits the runner waits at most 5 s for
 *   stdout/stderr to close (a descendant may hold them), then moves on.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chown, lchown, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

export interface WorkflowCommand {
  command: string
  properties: Record<string, string>
  message: string
}

export interface StepResult {
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** From GITHUB_OUTPUT (`name=value` and `name<<DELIM` heredoc forms). */
  outputs: Record<string, string>
  /** From GITHUB_STATE. */
  state: Record<string, string>
  /** From GITHUB_ENV. */
  env: Record<string, string>
  /** Lines of GITHUB_PATH. */
  path: string[]
  /** Workflow commands from stdout and stderr, in arrival order (add-mask included). */
  commands: WorkflowCommand[]
  /** Values from `::add-mask::`. */
  masks: string[]
  durationMs: number
  /** Errors the runner would report while processing the file-command files (each fails the step). */
  fileCommandErrors: string[]
  /** The process was SIGKILLed by the `timeoutMs` safety net. */
  timedOut: boolean
  /** stdout/stderr were still open 5 s after the process exited (a descendant holds them); the runner stops waiting then. */
  outputHeldOpen: boolean
  /** What the runner would conclude: exit code 0, not signalled, and no file-command error. */
  succeeded: boolean
}

export interface ActionRun {
  main: StepResult
  post?: StepResult
  /** GITHUB_STEP_SUMMARY of main, then of post. */
  summary: string
  runnerTemp: string
  toolCache: string
  workspace: string
  /** The INPUT_* values the action saw, keyed by input name. */
  inputs: Record<string, string>
  /** What the action left mounted in the run's mount namespace after its last step. */
  mountsLeft: string[]
}

export interface RunOptions {
  /** Folder holding action.yml (or action.yaml) and the entry points it names. */
  actionDir: string
  /** Input values by their action.yml name; these win over defaults even when ''. */
  inputs: Record<string, string>
  /** GITHUB_WORKSPACE and the working directory of each step (created if missing). */
  workspace: string
  /** Extra environment, e.g. a results service's env or GITHUB_TOKEN. Overrides the runner defaults, but not INPUT_*, STATE_* or the file-command paths. */
  env?: Record<string, string>
  /** RUNNER_TOOL_CACHE; default a fresh temp dir. */
  toolCache?: string
  /** RUNNER_TEMP; default a fresh temp dir. */
  runnerTemp?: string
  /** Run the post entry point after main (default true), as the runner does, honouring post-if. */
  post?: boolean
  /** Send this signal to main's pid after afterMs, then wait for it to exit. */
  signalAfterMs?: { signal: NodeJS.Signals; afterMs: number }
  /** Per-step hard kill (SIGKILL) safety net; default 10 minutes. */
  timeoutMs?: number
  /** Default process.execPath. */
  nodeBinary?: string
  /** Event payload written to GITHUB_EVENT_PATH; default a small workflow_dispatch payload. */
  event?: Record<string, unknown>
  /**
   * Run both steps as this OS user, as a hosted runner runs actions as `runner` (needs root). The
   * workspace, runner temp and the file-command files are handed to that user first.
   */
  runAs?: { uid: number; gid: number; home: string }
  /**
   * Run both steps in one private mount namespace made for this run (default: when root), so
   * whatever the action mounts never touches this machine; `mountsLeft` then lists what was still
   * mounted there after the last step.
   */
  mountNamespace?: boolean
}

/* ------------------------------------------------------------------------- */
/* A small YAML subset reader: block mappings, plain / quoted / block scalars. */
/* Enough for action.yml (inputs, runs). Sequences and flow collections are   */
/* skipped (their key reads as undefined); anchors are not supported.         */

type YamlValue = string | YamlMap | undefined
interface YamlMap { [key: string]: YamlValue }

interface Line { indent: number; text: string; raw: string; n: number }

function stripComment(s: string): string {
  // A `#` starts a comment at line start or after whitespace, outside quotes.
  let quote: string | undefined
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (quote) {
      if (c === quote) {
        if (quote === "'" && s[i + 1] === "'") i++
        else quote = undefined
      } else if (c === '\\' && quote === '"') i++
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s:[{,]/.test(s[i - 1]!)) quote = c
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) {
      return s.slice(0, i).trimEnd()
    }
  }
  return s.trimEnd()
}

function unquote(v: string, lineNo: number): string {
  if (v.startsWith("'")) {
    if (!v.endsWith("'") || v.length < 2) throw new Error(`action.yml line ${lineNo}: unterminated or multi-line single-quoted scalar`)
    return v.slice(1, -1).replace(/''/g, "'")
  }
  if (v.startsWith('"')) {
    try {
      return JSON.parse(v) as string
    } catch {
      throw new Error(`action.yml line ${lineNo}: unsupported double-quoted scalar ${v}`)
    }
  }
  return v
}

function splitKey(text: string): [string, string] | undefined {
  // key: value | "key": value | 'key': value
  const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"][^:]*?)\s*:(?:\s+(.*))?$/.exec(text)
  if (!m) return undefined
  return [unquote(m[1]!, 0), m[2] ?? '']
}

export function parseYamlSubset(source: string): YamlMap {
  const lines: Line[] = source.split(/\r?\n/).map((raw, i) => {
    const indent = raw.length - raw.trimStart().length
    return { indent, text: raw.trim(), raw, n: i + 1 }
  })
  let i = 0
  const isBlank = (l: Line) => l.text === '' || l.text.startsWith('#')
  const nextContent = (from: number) => {
    let j = from
    while (j < lines.length && isBlank(lines[j]!)) j++
    return j
  }

  function blockScalar(header: string, parentIndent: number): string {
    const style = header[0]
    const chomp = header.includes('-') ? 'strip' : header.includes('+') ? 'keep' : 'clip'
    const collected: string[] = []
    let blockIndent = -1
    while (i < lines.length) {
      const l = lines[i]!
      if (l.text === '') { collected.push(''); i++; continue }
      if (l.indent <= parentIndent) break
      if (blockIndent < 0) blockIndent = l.indent
      if (l.indent < blockIndent) break
      collected.push(l.raw.slice(blockIndent))
      i++
    }
    let trailing = 0
    while (collected.length && collected[collected.length - 1] === '') { collected.pop(); trailing++ }
    let text: string
    if (style === '|') {
      text = collected.join('\n')
    } else {
      text = ''
      for (let k = 0; k < collected.length; k++) {
        const cur = collected[k]!
        if (k === 0) { text = cur; continue }
        const prev = collected[k - 1]!
        if (cur === '') text += '\n'
        else if (prev === '' || /^\s/.test(cur) || /^\s/.test(prev)) text += (prev === '' ? '' : '\n') + cur
        else text += ' ' + cur
      }
    }
    if (collected.length === 0) return ''
    if (chomp === 'strip') return text
    if (chomp === 'keep') return text + '\n'.repeat(trailing + 1)
    return text + '\n'
  }

  function mapping(indent: number): YamlMap {
    const out: YamlMap = {}
    for (;;) {
      i = nextContent(i)
      if (i >= lines.length) return out
      const l = lines[i]!
      if (l.indent < indent) return out
      if (l.indent > indent) throw new Error(`action.yml line ${l.n}: unexpected indentation`)
      if (l.text.startsWith('- ')) throw new Error(`action.yml line ${l.n}: sequence where a mapping was expected`)
      const kv = splitKey(stripComment(l.text))
      if (!kv) throw new Error(`action.yml line ${l.n}: cannot read "${l.text}"`)
      const [key, rest] = kv
      i++
      if (/^&|^\*/.test(rest)) throw new Error(`action.yml line ${l.n}: anchors and aliases are not supported`)
      if (rest === '') {
        const j = nextContent(i)
        if (j < lines.length && lines[j]!.indent > indent) {
          if (lines[j]!.text.startsWith('-')) {
            // a sequence: skip it
            i = j
            while (i < lines.length && (isBlank(lines[i]!) || lines[i]!.indent > indent || (lines[i]!.indent === indent && lines[i]!.text.startsWith('-')))) i++
            out[key] = undefined
          } else {
            i = j
            out[key] = mapping(lines[j]!.indent)
          }
        } else {
          out[key] = ''
        }
        continue
      }
      if (/^[|>][-+0-9]*$/.test(rest)) {
        out[key] = blockScalar(rest, indent)
        continue
      }
      const value = stripComment(rest)
      if (value.startsWith('[') || value.startsWith('{')) {
        out[key] = undefined // flow collections are not needed here
        continue
      }
      if (value.startsWith('"') || value.startsWith("'")) {
        out[key] = unquote(value, l.n)
        continue
      }
      // plain scalar, possibly continued on more-indented lines
      let text = value
      for (;;) {
        const j = nextContent(i)
        if (j >= lines.length || lines[j]!.indent <= indent) break
        text += ' ' + stripComment(lines[j]!.text)
        i = j + 1
      }
      out[key] = text
    }
  }

  return mapping(0)
}

/* ------------------------------------------------------------------------- */

interface ActionManifest {
  inputs: { name: string; default: string | undefined }[]
  using: string
  main: string
  post?: string
  postIf: string
  pre?: string
}

export async function readActionManifest(actionDir: string): Promise<ActionManifest> {
  const file = ['action.yml', 'action.yaml'].map(f => path.join(actionDir, f)).find(f => existsSync(f))
  if (!file) throw new Error(`no action.yml or action.yaml in ${actionDir}`)
  const doc = parseYamlSubset(await readFile(file, 'utf8'))
  const runs = doc.runs
  if (typeof runs !== 'object' || runs === undefined) throw new Error(`${file}: no runs mapping`)
  const using = typeof runs.using === 'string' ? runs.using : ''
  if (!/^node\d+$/.test(using)) throw new Error(`${file}: runs.using is "${using}", only nodeNN actions are emulated`)
  if (typeof runs.main !== 'string' || !runs.main) throw new Error(`${file}: runs.main is missing`)
  const inputs: ActionManifest['inputs'] = []
  if (typeof doc.inputs === 'object' && doc.inputs !== undefined) {
    for (const [name, meta] of Object.entries(doc.inputs)) {
      const def = typeof meta === 'object' && meta !== undefined ? meta.default : undefined
      inputs.push({ name, default: typeof def === 'string' ? def : undefined })
    }
  }
  return {
    inputs,
    using,
    main: runs.main,
    post: typeof runs.post === 'string' && runs.post ? runs.post : undefined,
    postIf: typeof runs['post-if'] === 'string' && runs['post-if'] ? runs['post-if'] : 'always()',
    pre: typeof runs.pre === 'string' && runs.pre ? runs.pre : undefined
  }
}

/* ------------------------------------------------------------------------- */
/* Workflow commands (runner ActionCommand.TryParseV2).                       */

const REGISTERED_COMMANDS = new Set([
  'add-mask', 'add-matcher', 'remove-matcher', 'debug', 'notice', 'warning', 'error',
  'group', 'endgroup', 'echo', 'save-state', 'set-output', 'set-env', 'add-path', 'stop-commands'
])

function unescapeProperty(s: string): string {
  return s.replaceAll('%0D', '\r').replaceAll('%0A', '\n').replaceAll('%3A', ':').replaceAll('%2C', ',').replaceAll('%25', '%')
}

function unescapeData(s: string): string {
  return s.replaceAll('%0D', '\r').replaceAll('%0A', '\n').replaceAll('%25', '%')
}

export function parseWorkflowCommand(line: string): WorkflowCommand | undefined {
  const message = line.trimStart()
  if (!message.startsWith('::')) return undefined
  const end = message.indexOf('::', 2)
  if (end < 0) return undefined
  const info = message.slice(2, end)
  const space = info.indexOf(' ')
  const command = space < 0 ? info : info.slice(0, space)
  const properties: Record<string, string> = {}
  if (space > 0) {
    for (const pair of info.slice(space + 1).trim().split(',')) {
      if (!pair) continue
      const eq = pair.indexOf('=')
      if (eq <= 0 || eq === pair.length - 1) continue
      properties[pair.slice(0, eq)] = unescapeProperty(pair.slice(eq + 1))
    }
  }
  return { command, properties, message: unescapeData(message.slice(end + 2)) }
}

class CommandScanner {
  commands: WorkflowCommand[] = []
  masks: string[] = []
  private stopToken: string | undefined

  line(text: string): void {
    const line = text.endsWith('\r') ? text.slice(0, -1) : text
    if (this.stopToken !== undefined) {
      if (line.trimStart() === `::${this.stopToken}::`) this.stopToken = undefined
      return
    }
    const cmd = parseWorkflowCommand(line)
    if (!cmd || !REGISTERED_COMMANDS.has(cmd.command)) return
    if (cmd.command === 'stop-commands') {
      if (cmd.message) this.stopToken = cmd.message
      return
    }
    this.commands.push(cmd)
    if (cmd.command === 'add-mask' && cmd.message.trim()) this.masks.push(cmd.message.trim())
  }
}

/* ------------------------------------------------------------------------- */
/* File commands (runner FileCommandManager).                                 */

export function parseKeyValueFile(text: string, kind: string, errors: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  // `split` leaves a final '' after a trailing LF; the runner's ReadLine yields no line for it.
  if (lines.length && lines[lines.length - 1] === '') lines.pop()
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!
    if (line === '') continue
    const eq = line.indexOf('=')
    const heredoc = line.indexOf('<<')
    if (eq >= 0 && (heredoc < 0 || eq < heredoc)) {
      const name = line.slice(0, eq)
      if (!name) { errors.push(`${kind}: invalid line '${line}': name must not be empty`); return out }
      out[name] = line.slice(eq + 1)
    } else if (heredoc >= 0) {
      const name = line.slice(0, heredoc)
      const delimiter = line.slice(heredoc + 2)
      if (!name || !delimiter) { errors.push(`${kind}: invalid line '${line}': name and delimiter must not be empty`); return out }
      const value: string[] = []
      let found = false
      for (k++; k < lines.length; k++) {
        if (lines[k] === delimiter) { found = true; break }
        value.push(lines[k]!)
      }
      if (!found) { errors.push(`${kind}: matching delimiter not found '${delimiter}'`); return out }
      out[name] = value.join('\n')
    } else {
      errors.push(`${kind}: invalid format '${line}'`)
      return out
    }
  }
  return out
}

/* ------------------------------------------------------------------------- */

const DEFAULTS = {
  repository: 'octo-org/octo-repo',
  sha: 'ffac537e6cbbf934b08745a378932722df287a53',
  ref: 'refs/heads/main',
  runId: '1658821493',
  runNumber: '7',
  runAttempt: '1',
  job: 'test',
  actor: 'octocat',
  eventName: 'workflow_dispatch',
  workflow: 'CI'
}

/** Environment variables a real runner lacks but this machine needs to reach the network (TLS gateway CA, proxies). */
function passThroughEnv(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue
    if (/CERT|(^|_)CA(_|$)|CAINFO|CA_BUNDLE|SSL_ROOTS/i.test(k) || /^(https?|all|no)_proxy$/i.test(k)) out[k] = v
  }
  return out
}

function evaluateDefault(value: string, ctx: Record<string, string>): string {
  return value.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_m, expr: string) => ctx[expr.trim()] ?? '')
}

async function mkTemp(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix))
}

interface StepSpec {
  stage: 'main' | 'post'
  entry: string
  env: Record<string, string>
  fileCommandDir: string
  workspace: string
  nodeBinary: string
  timeoutMs: number
  signalAfterMs?: { signal: NodeJS.Signals; afterMs: number }
  runAs?: { uid: number; gid: number }
  /** A process holding the mount namespace the step runs in. */
  namespaceHolder?: number
}

async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  await chown(root, uid, gid)
  for (const entry of await readdir(root, { recursive: true })) await lchown(path.join(root, String(entry)), uid, gid)
}

async function runStep(spec: StepSpec): Promise<StepResult & { summary: string }> {
  const suffix = randomUUID()
  const files = {
    GITHUB_OUTPUT: path.join(spec.fileCommandDir, `set_output_${suffix}`),
    GITHUB_STATE: path.join(spec.fileCommandDir, `save_state_${suffix}`),
    GITHUB_ENV: path.join(spec.fileCommandDir, `set_env_${suffix}`),
    GITHUB_PATH: path.join(spec.fileCommandDir, `add_path_${suffix}`),
    GITHUB_STEP_SUMMARY: path.join(spec.fileCommandDir, `step_summary_${suffix}`)
  }
  for (const f of Object.values(files)) {
    await writeFile(f, '')
    if (spec.runAs) await chown(f, spec.runAs.uid, spec.runAs.gid)
  }
  const env = { ...spec.env, ...files }
  const echo = process.env.RUNNER_EMULATION_ECHO === '1'
  const scanner = new CommandScanner()
  const started = performance.now()

  // nsenter enters the namespace as root, then becomes the runner user and execs node in place (same pid).
  const user = spec.runAs ? ['--setuid', String(spec.runAs.uid), '--setgid', String(spec.runAs.gid)] : []
  const [file, args] = spec.namespaceHolder
    ? ['nsenter', ['--target', String(spec.namespaceHolder), '--mount', `--wd=${spec.workspace}`, ...user, '--', spec.nodeBinary, spec.entry]]
    : [spec.nodeBinary, [spec.entry]]
  const child = spawn(file, args, {
    cwd: spec.workspace,
    env,
    detached: false,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(spec.runAs && !spec.namespaceHolder ? { uid: spec.runAs.uid, gid: spec.runAs.gid } : {})
  })
  child.stdin.on('error', () => {})
  child.stdin.end()

  const out: Buffer[] = []
  const err: Buffer[] = []
  const pending: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' }
  const feed = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
    ;(stream === 'stdout' ? out : err).push(chunk)
    if (echo) process.stderr.write(chunk.toString('utf8').replace(/^(?=.)/gm, `[${spec.stage} ${stream}] `))
    const text = pending[stream] + chunk.toString('utf8')
    const parts = text.split('\n')
    pending[stream] = parts.pop()!
    for (const p of parts) scanner.line(p)
  }
  child.stdout.on('data', (c: Buffer) => feed('stdout', c))
  child.stderr.on('data', (c: Buffer) => feed('stderr', c))

  let timedOut = false
  let outputHeldOpen = false
  const timers: NodeJS.Timeout[] = []
  if (spec.signalAfterMs) {
    const { signal, afterMs } = spec.signalAfterMs
    timers.push(setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill(signal) }, afterMs))
  }
  timers.push(setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) { timedOut = true; child.kill('SIGKILL') }
  }, spec.timeoutMs))

  const { exitCode, signal } = await new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    let exited: { exitCode: number | null; signal: NodeJS.Signals | null } | undefined
    child.once('error', reject)
    child.once('exit', (code, sig) => {
      exited = { exitCode: code, signal: sig }
      // The runner waits 5 s for the output streams after the process is gone.
      timers.push(setTimeout(() => {
        outputHeldOpen = true
        child.stdout.destroy()
        child.stderr.destroy()
        resolve(exited!)
      }, 5000))
    })
    child.once('close', (code, sig) => resolve(exited ?? { exitCode: code, signal: sig }))
  })
  for (const t of timers) clearTimeout(t)
  for (const stream of ['stdout', 'stderr'] as const) if (pending[stream]) scanner.line(pending[stream])
  const durationMs = performance.now() - started

  const fileCommandErrors: string[] = []
  const read = (f: string) => readFile(f, 'utf8').catch(() => '')
  const outputs = parseKeyValueFile(await read(files.GITHUB_OUTPUT), 'GITHUB_OUTPUT', fileCommandErrors)
  const state = parseKeyValueFile(await read(files.GITHUB_STATE), 'GITHUB_STATE', fileCommandErrors)
  const stepEnv = parseKeyValueFile(await read(files.GITHUB_ENV), 'GITHUB_ENV', fileCommandErrors)
  const addedPath = (await read(files.GITHUB_PATH)).split('\n').map(l => l.replace(/\r$/, '')).filter(l => l !== '')
  const summary = await read(files.GITHUB_STEP_SUMMARY)
  if (Buffer.byteLength(summary) > 128 * 1024) {
    fileCommandErrors.push(`GITHUB_STEP_SUMMARY: ${Math.floor(Buffer.byteLength(summary) / 1024)}k is over the 128k limit`)
  }

  return {
    exitCode,
    signal,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    outputs,
    state,
    env: stepEnv,
    path: addedPath,
    commands: scanner.commands,
    masks: scanner.masks,
    durationMs,
    fileCommandErrors,
    timedOut,
    outputHeldOpen,
    succeeded: exitCode === 0 && signal === null && fileCommandErrors.length === 0,
    summary
  }
}

function shouldRunPost(postIf: string, main: StepResult): boolean {
  const cancelled = main.signal !== null
  if (/always\(\)/.test(postIf)) return true
  if (/cancelled\(\)/.test(postIf)) return cancelled
  if (/failure\(\)/.test(postIf)) return !main.succeeded && !cancelled
  if (/success\(\)/.test(postIf)) return main.succeeded
  return true
}

function splitSummary(result: StepResult & { summary: string }): [StepResult, string] {
  const { summary, ...step } = result
  return [step, summary]
}

export async function runAction(options: RunOptions): Promise<ActionRun> {
  const manifest = await readActionManifest(options.actionDir)
  if (manifest.pre) throw new Error('runs.pre is not emulated')
  const actionDir = path.resolve(options.actionDir)
  const workspace = path.resolve(options.workspace)
  await mkdir(workspace, { recursive: true })
  const runnerTemp = options.runnerTemp ?? (await mkTemp('runner-temp-'))
  const toolCache = options.toolCache ?? (await mkTemp('runner-tool-cache-'))
  await mkdir(runnerTemp, { recursive: true })
  await mkdir(toolCache, { recursive: true })
  const fileCommandDir = path.join(runnerTemp, '_runner_file_commands')
  await mkdir(fileCommandDir, { recursive: true })
  const eventPath = path.join(runnerTemp, '_github_workflow', 'event.json')
  await mkdir(path.dirname(eventPath), { recursive: true })
  const extra = options.env ?? {}
  const repository = extra.GITHUB_REPOSITORY ?? DEFAULTS.repository
  const [owner, repoName] = repository.split('/')
  const event = options.event ?? {
    inputs: {},
    ref: DEFAULTS.ref,
    repository: { full_name: repository, name: repoName, owner: { login: owner }, default_branch: 'main' },
    sender: { login: DEFAULTS.actor, type: 'User' },
    workflow: '.github/workflows/ci.yml'
  }
  await writeFile(eventPath, JSON.stringify(event, null, 2))
  if (options.runAs) {
    for (const owned of [runnerTemp, workspace, options.runAs.home]) await chownTree(owned, options.runAs.uid, options.runAs.gid)
  }

  const base: Record<string, string> = {
    ...passThroughEnv(),
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: options.runAs?.home ?? process.env.HOME ?? os.homedir(),
    LANG: 'C.UTF-8',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_ENVIRONMENT: 'github-hosted',
    RUNNER_NAME: 'GitHub Actions 1',
    RUNNER_TEMP: runnerTemp,
    RUNNER_TOOL_CACHE: toolCache,
    RUNNER_WORKSPACE: path.dirname(workspace),
    GITHUB_WORKSPACE: workspace,
    GITHUB_RUN_ID: DEFAULTS.runId,
    GITHUB_RUN_NUMBER: DEFAULTS.runNumber,
    GITHUB_RUN_ATTEMPT: DEFAULTS.runAttempt,
    GITHUB_JOB: DEFAULTS.job,
    GITHUB_WORKFLOW: DEFAULTS.workflow,
    GITHUB_REPOSITORY: repository,
    GITHUB_REPOSITORY_OWNER: owner ?? '',
    GITHUB_SHA: DEFAULTS.sha,
    GITHUB_REF: DEFAULTS.ref,
    GITHUB_REF_NAME: DEFAULTS.ref.replace(/^refs\/(heads|tags)\//, ''),
    GITHUB_REF_TYPE: 'branch',
    GITHUB_EVENT_NAME: DEFAULTS.eventName,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_ACTOR: DEFAULTS.actor,
    GITHUB_TRIGGERING_ACTOR: DEFAULTS.actor,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
    GITHUB_RETENTION_DAYS: '90',
    GITHUB_ACTION: '__self',
    GITHUB_ACTION_PATH: actionDir
  }
  const jobEnv = { ...base, ...extra }

  const ctx: Record<string, string> = {
    'github.token': extra.GITHUB_TOKEN ?? '',
    'github.workspace': workspace,
    'github.repository': jobEnv.GITHUB_REPOSITORY!,
    'github.repository_owner': jobEnv.GITHUB_REPOSITORY_OWNER!,
    'github.run_id': jobEnv.GITHUB_RUN_ID!,
    'github.run_number': jobEnv.GITHUB_RUN_NUMBER!,
    'github.run_attempt': jobEnv.GITHUB_RUN_ATTEMPT!,
    'github.sha': jobEnv.GITHUB_SHA!,
    'github.ref': jobEnv.GITHUB_REF!,
    'github.ref_name': jobEnv.GITHUB_REF_NAME!,
    'github.actor': jobEnv.GITHUB_ACTOR!,
    'github.event_name': jobEnv.GITHUB_EVENT_NAME!,
    'github.job': jobEnv.GITHUB_JOB!,
    'github.server_url': jobEnv.GITHUB_SERVER_URL!,
    'github.api_url': jobEnv.GITHUB_API_URL!,
    'github.action_path': actionDir,
    'runner.os': jobEnv.RUNNER_OS!,
    'runner.arch': jobEnv.RUNNER_ARCH!,
    'runner.temp': runnerTemp,
    'runner.tool_cache': toolCache
  }
  const inputs: Record<string, string> = { ...options.inputs }
  for (const input of manifest.inputs) {
    if (!(input.name in inputs)) inputs[input.name] = evaluateDefault(input.default ?? '', ctx)
  }
  const inputEnv: Record<string, string> = {}
  for (const [name, value] of Object.entries(inputs)) inputEnv[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value

  const nodeBinary = options.nodeBinary ?? process.execPath
  const timeoutMs = options.timeoutMs ?? 10 * 60_000
  const holder = (options.mountNamespace ?? process.getuid?.() === 0) ? await holdMountNamespace() : undefined
  try {
  const [main, mainSummary] = splitSummary(await runStep({
    stage: 'main',
    entry: path.join(actionDir, manifest.main),
    env: { ...jobEnv, ...inputEnv },
    fileCommandDir,
    workspace,
    nodeBinary,
    timeoutMs,
    signalAfterMs: options.signalAfterMs,
    runAs: options.runAs,
    namespaceHolder: holder?.pid
  }))

  let post: StepResult | undefined
  let postSummary = ''
  if (options.post !== false && manifest.post && shouldRunPost(manifest.postIf, main)) {
    const stateEnv: Record<string, string> = {}
    for (const [name, value] of Object.entries(main.state)) stateEnv[`STATE_${name}`] = value
    const postEnv: Record<string, string> = { ...base, ...main.env, ...extra, ...inputEnv, ...stateEnv }
    if (main.path.length) {
      // The runner prepends the most recently added entry first.
      postEnv.PATH = [...new Set([...main.path].reverse())].join(path.delimiter) + path.delimiter + (postEnv.PATH ?? '')
    }
    ;[post, postSummary] = splitSummary(await runStep({
      stage: 'post',
      entry: path.join(actionDir, manifest.post),
      env: postEnv,
      fileCommandDir,
      workspace,
      nodeBinary,
      timeoutMs,
      runAs: options.runAs,
      namespaceHolder: holder?.pid
    }))
  }

  return {
    main,
    post,
    summary: mainSummary + postSummary,
    runnerTemp,
    toolCache,
    workspace,
    inputs,
    mountsLeft: holder ? await holder.mounts() : []
  }
  } finally {
    holder?.release()
  }
}

/** A sleeping process in a new private mount namespace; the namespace lives as long as it does. */
async function holdMountNamespace(): Promise<{ pid: number; mounts(): Promise<string[]>; release(): void }> {
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sleep', 'infinity'], { stdio: 'ignore' })
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', reject)
  })
  const pid = child.pid as number
  const outside = await readFile('/proc/self/mountinfo', 'utf8')
  // unshare execs sleep once the namespace is made: wait for that, so nsenter joins the new one.
  for (let i = 0; i < 200 && (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() !== 'sleep'; i++) await new Promise((r) => setTimeout(r, 5))
  const mountPoints = (table: string) => table.split('\n').map((line) => line.split(' ')[4]).filter(Boolean)
  const before = new Set(mountPoints(outside))
  return {
    pid,
    mounts: async () => mountPoints(await readFile(`/proc/${pid}/mountinfo`, 'utf8')).filter((point) => !before.has(point)),
    release: () => child.kill('SIGKILL')
  }
}
