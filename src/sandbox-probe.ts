import * as core from '@actions/core'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { AgentConfiguration } from './configure.js'
import type { Settings } from './inputs.js'
import { findPrivilege, type AgentIdentity, type Privilege } from './isolation.js'
import { relativeInside } from './path-inside.js'

/** What the probe found, for the log, the job summary and run.json. */
export interface SandboxProbe {
  mode: 'workspace-write' | 'read-only'
  /** One line: that the sandbox started, what write it refused, and any setting relaxed for it. */
  summary: string
  /** A kernel setting the action changed so that the sandbox can start; cleanup puts it back. */
  relaxed?: RelaxedSysctl
}

export interface RelaxedSysctl {
  name: string
  /** The value before the run, restored by cleanup. */
  value: string
}

/** Ubuntu 23.10 and later (the 24.04 hosted runners) stop unprivileged user namespaces through AppArmor with this. */
const APPARMOR_USERNS = 'kernel.apparmor_restrict_unprivileged_userns'
const STARTED = 'codex-action-sandbox-started'
const WROTE = 'codex-action-sandbox-wrote'
// Says it started, then tries the write; a write that got through is undone at once and reported.
const PROBE_SCRIPT = `echo ${STARTED}; if (printf x > "$1") 2>/dev/null; then rm -f "$1"; echo ${WROTE}; fi; exit 0`
const PROBE_TIME_LIMIT_MS = 30_000
const OUTPUT_LIMIT_CHARS = 8192

/** How the probe reads kernel settings and gets root: this machine's, unless a test gives its own. */
export interface KernelAccess {
  read(name: string): Promise<string | undefined>
  privilege(): Promise<Privilege | undefined>
}

const THIS_MACHINE: KernelAccess = { read: readSysctl, privilege: findPrivilege }

interface ProbeRun {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Before Codex starts in one of its sandbox modes, runs one command under that sandbox the way
 * Codex will run the agent's commands (`codex sandbox`, as the agent user, with the agent's
 * environment and config.toml): the sandbox must start here, and a write outside the folders it
 * may write must be refused. Where the kernel keeps the sandbox from starting, says why and how to
 * fix it, or, for the one AppArmor setting that Ubuntu's hosted runners set, relaxes it for this
 * run when the action has root or sudo (`onRelax` records it first, so cleanup can restore it).
 */
export async function probeSandbox(
  settings: Pick<Settings, 'sandbox' | 'writableRoots'>,
  binary: string,
  identity: AgentIdentity,
  configuration: AgentConfiguration,
  onRelax: (relaxed: RelaxedSysctl) => void,
  kernel: KernelAccess = THIS_MACHINE
): Promise<SandboxProbe | undefined> {
  if (settings.sandbox === 'bypass') return undefined
  const mode = settings.sandbox
  const target = probeTarget(mode, configuration, settings.writableRoots)
  let run = await runProbe(binary, mode, identity, configuration, target)
  let relaxed: RelaxedSysctl | undefined
  if (!run.stdout.includes(STARTED)) {
    const blocker = await sandboxBlocker(kernel.read)
    const privilege = blocker?.name === APPARMOR_USERNS ? (identity.privilege ?? (await kernel.privilege())) : undefined
    if (!blocker || !privilege) throw new Error(cannotStart(mode, run, blocker))
    relaxed = await relaxSysctl(privilege, blocker, onRelax)
    run = await runProbe(binary, mode, identity, configuration, target)
    if (!run.stdout.includes(STARTED)) throw new Error(cannotStart(mode, run, undefined, relaxed))
  }
  if (target && run.stdout.includes(WROTE)) {
    throw new Error(`Codex's sandbox (${mode}) started, but it did not refuse a write to ${target}, outside the folders it may write: it would not hold the agent here. Use 'sandbox: bypass' with 'isolation: user' instead.`)
  }
  const summary = [
    `started here${target ? ` and refused a write to ${target}` : ''}`,
    target ? '' : 'every folder to try a refused write in is writable by design, so no write was tried',
    relaxed ? `${relaxed.name} was set to 0 for this run (it was ${relaxed.value}) and is restored when the job's cleanup runs` : ''
  ]
    .filter(Boolean)
    .join('; ')
  core.info(`Codex's sandbox (${mode}) ${summary}.`)
  return { mode, summary, relaxed }
}

/** Where a write must be refused: the working directory in read-only, the agent's home (outside every writable root) in workspace-write. */
function probeTarget(mode: 'workspace-write' | 'read-only', configuration: AgentConfiguration, writableRoots: string[]): string | undefined {
  const name = `.codex-action-sandbox-probe-${randomBytes(6).toString('hex')}`
  if (mode === 'read-only') return path.join(configuration.workingDirectory, name)
  const home = configuration.env.HOME
  // Codex lets workspace-write write the working directory, /tmp, TMPDIR and the writable roots.
  const writable = [configuration.workingDirectory, '/tmp', configuration.env.TMPDIR, ...writableRoots.map((root) => path.resolve(configuration.workingDirectory, root))]
  if (!home || writable.some((root) => root && relativeInside(root, home) !== undefined)) return undefined
  return path.join(home, name)
}

function runProbe(binary: string, mode: string, identity: AgentIdentity, configuration: AgentConfiguration, target: string | undefined): Promise<ProbeRun> {
  // The mode goes on the command line as it does for `codex exec --sandbox`; the rest (writable roots, network) comes from config.toml.
  const args = ['sandbox', '-c', `sandbox_mode="${mode}"`, '--', 'sh', '-c', PROBE_SCRIPT, 'sandbox-probe', target ?? '/dev/null']
  const command = identity.spawnCommand(binary, args, configuration.env)
  return new Promise((resolve, reject) => {
    const child = spawn(command.file, command.args, { ...command.options, cwd: configuration.workingDirectory, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => (stdout = (stdout + chunk.toString()).slice(-OUTPUT_LIMIT_CHARS)))
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-OUTPUT_LIMIT_CHARS)))
    const timer = setTimeout(() => void identity.signalAll(child.pid, 'SIGKILL'), PROBE_TIME_LIMIT_MS)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(new Error(`Could not run Codex's sandbox probe (${binary} sandbox): ${error.message}`))
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** The kernel setting that keeps unprivileged user namespaces (and so Codex's bubblewrap sandbox) from starting here, if one does. */
async function sandboxBlocker(read: (name: string) => Promise<string | undefined>): Promise<RelaxedSysctl | undefined> {
  if ((await read(APPARMOR_USERNS)) === '1') return { name: APPARMOR_USERNS, value: '1' }
  if ((await read('user.max_user_namespaces')) === '0') return { name: 'user.max_user_namespaces', value: '0' }
  if ((await read('kernel.unprivileged_userns_clone')) === '0') return { name: 'kernel.unprivileged_userns_clone', value: '0' }
  return undefined
}

async function readSysctl(name: string): Promise<string | undefined> {
  return (await readFile(path.join('/proc/sys', ...name.split('.')), 'utf8').catch(() => undefined))?.trim()
}

/** Sets the AppArmor user-namespace restriction to 0 for this run; recorded before it is changed, so a step killed here still has it restored. */
async function relaxSysctl(privilege: Privilege, blocker: RelaxedSysctl, onRelax: (relaxed: RelaxedSysctl) => void): Promise<RelaxedSysctl> {
  onRelax(blocker)
  await privilege.asRoot('sysctl', ['-w', `${blocker.name}=0`])
  core.info(`Codex's sandbox could not start: ${blocker.name} is ${blocker.value} (Ubuntu's AppArmor restriction of unprivileged user namespaces). Set it to 0 for this run; cleanup puts ${blocker.value} back.`)
  return blocker
}

/** Puts a setting the probe relaxed back as it was. */
export async function restoreSysctl(privilege: Privilege, relaxed: RelaxedSysctl): Promise<void> {
  await privilege.asRoot('sysctl', ['-w', `${relaxed.name}=${relaxed.value}`])
  core.info(`Restored ${relaxed.name} to ${relaxed.value}.`)
}

function cannotStart(mode: string, run: ProbeRun, blocker: RelaxedSysctl | undefined, relaxed?: RelaxedSysctl): string {
  const said = run.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('WARNING: proceeding'))
    .slice(-3)
    .join(' | ')
  const why = blocker
    ? blocker.name === APPARMOR_USERNS
      ? `${blocker.name} is 1: Ubuntu's AppArmor stops unprivileged user namespaces, which the sandbox needs, and the action has neither root nor passwordless sudo to relax it. Fix: run 'sudo sysctl -w ${blocker.name}=0' in an earlier step, or`
      : `${blocker.name} is ${blocker.value}: the kernel allows no new user namespaces, which the sandbox needs (a container or a hardened host). Fix: allow user namespaces on this runner, or`
    : `${relaxed ? `even with ${relaxed.name} set to 0, ` : ''}it exited with ${run.code ?? 'a signal'}${said ? ` (${said})` : ''}. Fix: check that this runner allows unprivileged user namespaces, or`
  return `Codex's sandbox (sandbox: ${mode}) cannot start on this runner: ${why} use 'sandbox: bypass' with 'isolation: user' (the separate agent user and the network proxy then contain the agent).`
}
