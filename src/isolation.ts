import * as core from '@actions/core'
import { execFile, execFileSync, type SpawnOptions } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { existsSync } from 'node:fs'
import { appendFile, readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Isolation } from './inputs.js'

const execFileAsync = promisify(execFile)
// Helpers the action starts (as root, or as the agent's uid to stop it) get only this: a program
// running as the agent's uid holds its environment where the agent can read it (/proc/<pid>/environ).
const HELPER_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' }
const run = (command: string, args: string[]) => execFileAsync(command, args, { encoding: 'utf8', env: HELPER_ENV })

/** Every run gets its own agent user, so stopping one run's processes can never touch another's. */
export const AGENT_USER_PREFIX = 'codex-agent-'
// Agent uids are drawn here, far from login users (1000+) and the system range, and never reused within a job.
const AGENT_UID_RANGE = { min: 1_000_000, max: 1_999_999 }
// Where the agent's own folders live: outside the runner's home and RUNNER_TEMP, so it needs no path through them.
export const AGENT_ROOT_BASE = '/var/lib/codex-action'
// World-writable places where a process of the agent can leave files behind after it is gone.
const SHARED_WRITABLE = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock', '/var/crash', '/var/spool/cron', '/var/mail']
const STOP_ROUNDS = 50

/** Who the agent runs as, and how to start and stop it. */
export interface AgentIdentity {
  mode: 'user' | 'none'
  /** Why this mode, in one line, for the log and the summary. */
  reason: string
  /** The agent's own OS user, in mode `user`. */
  userName?: string
  uid?: number
  gid?: number
  /** Runs commands as root, in mode `user` (the action is root or has passwordless sudo). */
  privilege?: Privilege
  /** How to spawn a program as the agent with exactly `env` as its environment. */
  spawnCommand(program: string, args: string[], env: Record<string, string>): { file: string; args: string[]; options: SpawnOptions }
  /** Signals Codex's process group and, in mode `user`, every process of the agent user: the polite stop at a timeout. */
  signalAll(pid: number | undefined, signal: NodeJS.Signals): Promise<void>
  /** Kills every process of the agent so that none survives, however it forks; returns the pids still alive (none, normally). */
  stop(pid?: number): Promise<number[]>
  /** Once it is stopped: deletes what the agent left in shared writable folders (except below `keep`) and its IPC objects. */
  sweep(keep: string[]): Promise<void>
  /** Deletes the agent user; returns what could not be removed, with what the sweep could not. */
  remove(): Promise<string[]>
}

export interface Privilege {
  /** True when the action itself is root; otherwise it goes through passwordless sudo. */
  isRoot: boolean
  /** Runs a command as root: directly when the action is root, through passwordless sudo otherwise. */
  asRoot(command: string, args: string[]): Promise<string>
}

export async function chooseIdentity(isolation: Isolation, runnerTemp: string): Promise<AgentIdentity> {
  if (isolation === 'none') return warnedRunnerIdentity("'isolation: none' was set")
  const privilege = process.platform === 'linux' ? await findPrivilege() : undefined
  let identity: AgentIdentity
  try {
    if (!privilege) throw new Error(process.platform !== 'linux' ? `${process.platform} runners are not supported for a separate agent user yet` : 'the runner user is neither root nor allowed passwordless sudo')
    await requireMounting()
    identity = await createAgentUser(privilege, runnerTemp)
  } catch (error) {
    const why = (error as Error).message
    if (isolation === 'user') throw new Error(`Input 'isolation' is 'user', but ${why}. Use 'isolation: none' to run the agent as the runner user (it can then read the key and tokens).`, { cause: error })
    return warnedRunnerIdentity(why)
  }
  core.info(`Isolation: ${identity.reason}.`)
  return identity
}

/** The identity main used, rebuilt in the post step from what main saved. */
export async function identityForCleanup(mode: 'user' | 'none', userName: string | undefined): Promise<AgentIdentity> {
  const privilege = mode === 'user' ? await findPrivilege() : undefined
  if (!privilege || !userName || !userExists(userName)) return runnerIdentity('the agent user is gone')
  return agentUserIdentity(privilege, userName)
}

export function agentUserFolder(userName: string): string {
  return path.join(AGENT_ROOT_BASE, userName)
}

function userExists(userName: string): boolean {
  try {
    execFileSync('id', ['-u', userName], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export async function findPrivilege(): Promise<Privilege | undefined> {
  if (process.getuid?.() === 0) {
    return { isRoot: true, asRoot: async (command, args) => (await run(command, args)).stdout }
  }
  try {
    await run('sudo', ['-n', 'true'])
    return { isRoot: false, asRoot: async (command, args) => (await run('sudo', ['-n', command, ...args])).stdout }
  } catch {
    return undefined
  }
}

function warnedRunnerIdentity(reason: string): AgentIdentity {
  core.warning(
    `The agent runs as the runner user (${reason}): commands it runs can read the model API key and the GitHub and Actions tokens ` +
      `from this action's process, and use the runner's sudo. Only run it on prompts and repositories you trust.`
  )
  return runnerIdentity(reason)
}

function runnerIdentity(reason: string): AgentIdentity {
  return {
    mode: 'none',
    reason,
    spawnCommand: (program, args, env) => ({ file: program, args, options: { env, detached: true } }),
    signalAll: async (pid, signal) => {
      if (pid) killGroup(pid, signal)
    },
    stop: async (pid) => {
      if (pid) killGroup(pid, 'SIGKILL')
      return []
    },
    sweep: async () => {},
    remove: async () => []
  }
}

/** The agent reaches the workspace through a bind mount, which needs CAP_SYS_ADMIN (a container without it cannot). */
async function requireMounting(): Promise<void> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '')
  const bounding = /^CapBnd:\s+([0-9a-f]+)/m.exec(status)?.[1]
  const CAP_SYS_ADMIN = 21n
  if (bounding !== undefined && ((BigInt(`0x${bounding}`) >> CAP_SYS_ADMIN) & 1n) === 0n) {
    throw new Error('this runner cannot mount (no CAP_SYS_ADMIN, as in an unprivileged container), and the agent user reaches the workspace through a bind mount')
  }
}

/** A fresh user with a uid no process, file owner or earlier run of this job has had. */
async function createAgentUser(privilege: Privilege, runnerTemp: string): Promise<AgentIdentity> {
  // The uids this job already gave out; RUNNER_TEMP is the job's and out of the agent's reach.
  const ledger = path.join(runnerTemp, 'codex-action-agent-uids')
  const used = new Set((await readFile(ledger, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number))
  for (let attempt = 0; attempt < 20; attempt++) {
    const uid = randomInt(AGENT_UID_RANGE.min, AGENT_UID_RANGE.max + 1)
    if (used.has(uid) || idTaken('passwd', uid) || idTaken('group', uid) || (await processesOf(uid)).length) continue
    const userName = `${AGENT_USER_PREFIX}${uid.toString(36)}`
    await appendFile(ledger, `${uid}\n`, { mode: 0o600 })
    try {
      await whileLocked(() => privilege.asRoot('groupadd', ['--gid', String(uid), userName]))
      await whileLocked(() => privilege.asRoot('useradd', ['--uid', String(uid), '--gid', String(uid), '--no-create-home', '--no-log-init', '--home-dir', agentUserFolder(userName), '--shell', '/bin/bash', userName]))
    } catch (error) {
      await privilege.asRoot('groupdel', [userName]).catch(() => undefined)
      throw new Error(`the agent user '${userName}' could not be created (${(error as Error).message.trim()})`, { cause: error })
    }
    return agentUserIdentity(privilege, userName, { uid, gid: uid })
  }
  throw new Error('no free uid was found for the agent user')
}

/** Runs a shadow-utils command again while another one holds /etc/passwd or /etc/group locked (a second run ending, say). */
async function whileLocked(command: () => Promise<string>): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await command()
    } catch (error) {
      if (attempt >= 20 || !/lock/i.test(String((error as { stderr?: string }).stderr ?? (error as Error).message))) throw error
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt))
    }
  }
}

function idTaken(database: 'passwd' | 'group', id: number): boolean {
  try {
    execFileSync('getent', [database, String(id)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** The agent user's identity; its ids are looked up unless the caller just made the user with them. */
function agentUserIdentity(privilege: Privilege, userName: string, ids?: { uid: number; gid: number }): AgentIdentity {
  const uid = ids?.uid ?? Number(execFileSync('id', ['-u', userName]).toString().trim())
  const gid = ids?.gid ?? Number(execFileSync('id', ['-g', userName]).toString().trim())
  const { isRoot } = privilege
  // kill(-1) sent as the agent uid reaches every process of that uid in one pass: a forking loop cannot slip out.
  const killEverything = isRoot ? ['setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', 'kill', '-KILL', '--', '-1']] : ['sudo', ['-n', '-u', userName, '--', 'kill', '-KILL', '--', '-1']]

  let swept: string[] = []
  const identity: AgentIdentity = {
    mode: 'user',
    reason: `the agent runs as the unprivileged user '${userName}' (uid ${uid}), without sudo`,
    userName,
    uid,
    gid,
    privilege,
    spawnCommand(program, args, env) {
      if (isRoot) return { file: program, args, options: { env, uid, gid, detached: true } }
      const assignments = Object.entries(env).map(([name, value]) => `${name}=${value}`)
      return { file: 'sudo', args: ['-n', '-u', userName, '--', 'env', '-i', ...assignments, program, ...args], options: { env: {}, detached: true } }
    },
    async signalAll(pid, signal) {
      if (signal === 'SIGKILL') return void (await identity.stop(pid))
      if (pid) killGroup(pid, signal)
      if (isRoot) for (const other of await processesOf(uid)) killPid(other, signal)
      else await run('sudo', ['-n', 'pkill', `-${signal.replace(/^SIG/, '')}`, '-u', userName]).catch(() => undefined)
    },
    async stop(pid) {
      if (pid) killGroup(pid, 'SIGKILL')
      for (let round = 0; round < STOP_ROUNDS; round++) {
        if ((await processesOf(uid)).length === 0) return []
        await run(killEverything[0] as string, killEverything[1] as string[]).catch(() => undefined)
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const survivors = await processesOf(uid)
      if (survivors.length) core.warning(`Processes of the agent user '${userName}' survived being killed: ${survivors.join(', ')}.`)
      return survivors
    },
    async sweep(keep) {
      swept = [...(await removeFilesOf(privilege, uid, keep)), ...(await removeIpcOf(privilege, uid)), ...(await removeMessageQueuesOf(privilege, uid))]
    },
    async remove() {
      const left: string[] = []
      if ((await identity.stop()).length) left.push(`processes of ${userName}`)
      left.push(...swept)
      await whileLocked(() => privilege.asRoot('userdel', [userName])).catch((error: Error) => {
        if (userExists(userName)) left.push(`the user ${userName} (${error.message.trim()})`)
      })
      await whileLocked(() => privilege.asRoot('groupdel', [userName])).catch(() => undefined)
      if (left.length) core.warning(`Could not remove everything the agent left: ${left.join('; ')}.`)
      return left
    }
  }
  return identity
}

/** Deletes the agent's files in world-writable folders, except below `keep` (a workspace may lie in /tmp). */
async function removeFilesOf(privilege: Privilege, uid: number, keep: string[]): Promise<string[]> {
  const places = SHARED_WRITABLE.filter((place) => existsSync(place))
  // -delete works depth first, where -prune does nothing: what is kept is passed over by its path.
  const kept = keep.flatMap((folder) => ['!', '-path', globEscaped(folder), '!', '-path', `${globEscaped(folder)}/*`])
  const output = await privilege.asRoot('find', [...places, '-xdev', '-uid', String(uid), ...kept, '-delete']).catch((error: { stderr?: string }) => error.stderr ?? 'find failed')
  return output.trim() ? [`files of uid ${uid} in ${places.join(', ')} (${output.trim().split('\n').slice(0, 3).join('; ')})`] : []
}

/** POSIX message queues live in the mqueue file system, mounted at /dev/mqueue or, where nothing mounts it, for this sweep alone. */
async function removeMessageQueuesOf(privilege: Privilege, uid: number): Promise<string[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '')
  const mounted = mountinfo.split('\n').find((line) => line.split(' - ')[1]?.startsWith('mqueue '))?.split(' ')[4]
  const place = mounted ?? (await privilege.asRoot('mktemp', ['-d', '/tmp/codex-action-mqueue-XXXXXXXX']).catch(() => '')).trim()
  if (!place) return []
  try {
    if (!mounted) await privilege.asRoot('mount', ['-t', 'mqueue', 'mqueue', place])
    await privilege.asRoot('find', [place, '-maxdepth', '1', '-uid', String(uid), '-delete'])
    return []
  } catch (error) {
    return [`POSIX message queues of uid ${uid} (${(error as Error).message.trim()})`]
  } finally {
    if (!mounted) await privilege.asRoot('umount', [place]).catch(() => undefined).then(() => privilege.asRoot('rmdir', [place]).catch(() => undefined))
  }
}

function globEscaped(text: string): string {
  return text.replace(/[[\]*?\\]/g, (c) => `\\${c}`)
}

/** Deletes System V shared memory, semaphores and message queues the agent created or owns. */
async function removeIpcOf(privilege: Privilege, uid: number): Promise<string[]> {
  const left: string[] = []
  for (const [kind, flag] of [['shm', '-m'], ['sem', '-s'], ['msg', '-q']] as const) {
    const table = await readFile(`/proc/sysvipc/${kind}`, 'utf8').catch(() => '')
    const [header, ...rows] = table.trim().split('\n')
    if (!header) continue
    // Each table starts with the key and the id; the owner and creator columns are named in its header.
    const columns = header.trim().split(/\s+/)
    const owners = ['uid', 'cuid'].map((name) => columns.indexOf(name))
    for (const row of rows) {
      const [, id, ...rest] = row.trim().split(/\s+/)
      const fields = [undefined, id, ...rest]
      if (!owners.some((column) => Number(fields[column]) === uid)) continue
      await privilege.asRoot('ipcrm', [flag, id]).catch(() => left.push(`System V ${kind} ${id}`))
    }
  }
  return left
}

/** Live processes whose real, effective, saved or file-system uid is `uid` (zombies are already dead). */
export async function processesOf(uid: number): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '')
    const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1].split(/\s+/).map(Number) ?? []
    if (uids.includes(uid) && !/^State:\s+[ZX]/m.test(status)) pids.push(Number(entry))
  }
  return pids
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    killPid(pid, signal)
  }
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // Already gone.
  }
}
