import * as core from '@actions/core'
import { execFile, execFileSync, type SpawnOptions } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Isolation } from './inputs.js'

const run = promisify(execFile)

/** Every run gets its own agent user, so stopping one run's processes can never touch another's. */
export const AGENT_USER_PREFIX = 'codex-agent-'

/** Who the agent runs as, and how to start, stop and hand back what it was lent. */
export interface AgentIdentity {
  mode: 'user' | 'none'
  /** Why this mode, in one line, for the log and the summary. */
  reason: string
  /** The agent's own OS user, in mode `user`. */
  userName?: string
  uid?: number
  gid?: number
  /** How to spawn a program as the agent with exactly `env` as its environment. */
  spawnCommand(program: string, args: string[], env: Record<string, string>): { file: string; args: string[]; options: SpawnOptions }
  /** Signals every process of the agent, including any that left the process group. */
  signalAll(pid: number | undefined, signal: NodeJS.Signals): Promise<void>
  /** Lets the agent own `directory` (recursively) for the run. */
  lend(directory: string): Promise<void>
  /** Lets the agent reach and run `program` where it lies (search permission on its folders, read and execute on it). */
  allowToRun(program: string): Promise<void>
  /** Gives every lent directory back to the runner user. */
  handBack(): Promise<void>
  /** What is lent now, for the post step to hand back if main could not. */
  lentDirectories(): string[]
  /** Deletes the agent user (post step); its processes must be gone first. */
  remove(): Promise<void>
}

interface Privilege {
  /** True when the action itself is root; otherwise it goes through passwordless sudo. */
  isRoot: boolean
  /** Runs a command as root: directly when the action is root, through passwordless sudo otherwise. */
  asRoot(command: string, args: string[]): Promise<void>
}

export async function chooseIdentity(isolation: Isolation, runId: string): Promise<AgentIdentity> {
  if (isolation === 'none') return warnedRunnerIdentity("'isolation: none' was set")
  const privilege = process.platform === 'linux' ? await findPrivilege() : undefined
  if (!privilege) {
    const why = process.platform !== 'linux' ? `${process.platform} runners are not supported for a separate agent user yet` : 'the runner user is neither root nor allowed passwordless sudo'
    if (isolation === 'user') throw new Error(`Input 'isolation' is 'user', but ${why}. Use 'isolation: none' to run the agent as the runner user (it can then read the key and tokens).`)
    return warnedRunnerIdentity(why)
  }
  const userName = `${AGENT_USER_PREFIX}${runId.replace(/[^a-z0-9]/gi, '').slice(0, 8).toLowerCase()}`
  try {
    await createAgentUser(privilege, userName)
  } catch (error) {
    if (isolation === 'user') throw error
    return warnedRunnerIdentity((error as Error).message)
  }
  const identity = agentUserIdentity(privilege, userName, [])
  core.info(`Isolation: ${identity.reason}.`)
  return identity
}

/** The identity main used, rebuilt in the post step from what main saved. */
export async function identityForCleanup(mode: 'user' | 'none', userName: string | undefined, lent: string[]): Promise<AgentIdentity> {
  const privilege = mode === 'user' ? await findPrivilege() : undefined
  if (!privilege || !userName || !userExists(userName)) return runnerIdentity('the agent user is gone')
  return agentUserIdentity(privilege, userName, lent)
}

function userExists(userName: string): boolean {
  try {
    execFileSync('id', ['-u', userName], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

async function findPrivilege(): Promise<Privilege | undefined> {
  if (process.getuid?.() === 0) {
    return { isRoot: true, asRoot: async (command, args) => void (await run(command, args)) }
  }
  try {
    await run('sudo', ['-n', 'true'])
    return { isRoot: false, asRoot: async (command, args) => void (await run('sudo', ['-n', command, ...args])) }
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
    lend: async () => {},
    allowToRun: async () => {},
    handBack: async () => {},
    lentDirectories: () => [],
    remove: async () => {}
  }
}

function agentUserIdentity(privilege: Privilege, userName: string, lent: string[]): AgentIdentity {
  const uid = Number(execFileSync('id', ['-u', userName]).toString().trim())
  const gid = Number(execFileSync('id', ['-g', userName]).toString().trim())
  const runnerUid = process.getuid?.() ?? 0
  const runnerGid = process.getgid?.() ?? 0
  const { isRoot } = privilege

  return {
    mode: 'user',
    reason: `the agent runs as the unprivileged user '${userName}' (uid ${uid}), without sudo`,
    userName,
    uid,
    gid,
    spawnCommand(program, args, env) {
      if (isRoot) return { file: program, args, options: { env, uid, gid, detached: true } }
      const assignments = Object.entries(env).map(([name, value]) => `${name}=${value}`)
      return { file: 'sudo', args: ['-n', '-u', userName, '--', 'env', '-i', ...assignments, program, ...args], options: { env: {}, detached: true } }
    },
    async signalAll(pid, signal) {
      if (isRoot) {
        if (pid) killGroup(pid, signal)
        for (const other of await processesOf(uid)) killPid(other, signal)
      } else {
        await run('sudo', ['-n', 'pkill', `-${signal.replace(/^SIG/, '')}`, '-u', userName]).catch(() => undefined)
      }
    },
    async allowToRun(program) {
      await openPathTo(program, privilege)
      if (((await stat(program)).mode & 0o005) !== 0o005) await privilege.asRoot('chmod', ['o+rx', program])
    },
    async lend(directory) {
      await openPathTo(directory, privilege)
      await privilege.asRoot('chown', ['-R', `${uid}:${gid}`, directory])
      lent.push(directory)
    },
    async handBack() {
      for (const directory of lent.splice(0)) {
        await privilege.asRoot('chown', ['-R', `${runnerUid}:${runnerGid}`, directory]).catch((error: Error) => {
          if (existsSync(directory)) throw error
        })
      }
    },
    lentDirectories: () => [...lent],
    async remove() {
      await privilege.asRoot('userdel', [userName]).catch((error: Error) => {
        if (userExists(userName)) throw new Error(`Could not delete the agent user '${userName}': ${error.message.trim()}`)
      })
    }
  }
}

async function createAgentUser(privilege: Privilege, userName: string): Promise<void> {
  try {
    await privilege.asRoot('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/bin/bash', userName])
  } catch (error) {
    throw new Error(`Could not create the agent user '${userName}' (${(error as Error).message.trim()}). Set 'isolation: none' to run the agent as the runner user.`, { cause: error })
  }
}

/** The agent must be able to walk down to what it is lent or runs; search permission (o+x) is added where missing, listing is not. */
async function openPathTo(directory: string, privilege: Privilege): Promise<void> {
  const ancestors: string[] = []
  for (let current = path.dirname(directory); current !== path.dirname(current); current = path.dirname(current)) ancestors.push(current)
  for (const ancestor of ancestors) {
    const mode = (await stat(ancestor)).mode
    if ((mode & 0o001) === 0) {
      if (privilege.isRoot) await chmod(ancestor, (mode & 0o7777) | 0o001)
      else await privilege.asRoot('chmod', ['o+x', ancestor])
    }
  }
}

async function processesOf(uid: number): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '')
    const owner = /^Uid:\s+(\d+)/m.exec(status)?.[1]
    if (owner !== undefined && Number(owner) === uid) pids.push(Number(entry))
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
