// The sandbox probe with the real Codex binary and a real kernel refusal: Codex's sandbox runs inside
// a user namespace made for the test in which no further user namespace may be made
// (user.max_user_namespaces=0 there, as on a runner that forbids them), until the "sysctl" the probe
// asks for is run. The AppArmor setting itself does not exist on this machine, so what the probe
// reads of the kernel and the root it gets are the test's: the relax-and-restore path is proven
// against that seam, never against this machine's settings.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest'
import type { AgentConfiguration } from '../../src/configure.js'
import type { AgentIdentity, Privilege } from '../../src/isolation.js'
import { probeSandbox, restoreSysctl, type KernelAccess, type RelaxedSysctl } from '../../src/sandbox-probe.js'

const APPARMOR = 'kernel.apparmor_restrict_unprivileged_userns'

let temp: string
let configuration: AgentConfiguration
beforeEach(() => {
  temp = mkdtempSync(path.join(os.tmpdir(), 'codex-action-sandbox-probe-'))
  const folders = { codexHome: path.join(temp, 'codex-home'), workspace: path.join(temp, 'workspace'), output: path.join(temp, 'output') }
  for (const folder of Object.values(folders)) mkdirSync(folder)
  writeFileSync(path.join(folders.codexHome, 'config.toml'), '[sandbox_workspace_write]\nnetwork_access = false\nwritable_roots = []\n')
  // HOME outside /tmp: the folder whose write the sandbox must refuse in workspace-write.
  const home = mkdtempSync('/var/tmp/codex-action-sandbox-probe-home-')
  configuration = { directories: { output: folders.output, codexHome: folders.codexHome }, configPath: '', workingDirectory: folders.workspace, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, CODEX_HOME: folders.codexHome } }
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
})
afterEach(() => {
  vi.restoreAllMocks()
  rmSync(temp, { recursive: true, force: true })
  rmSync(configuration.env.HOME, { recursive: true, force: true })
})

/** The runner user's identity, its commands run in a user namespace that forbids nested ones while `blocked()` says so. */
function identity(blocked: () => boolean): AgentIdentity {
  return {
    mode: 'none',
    reason: 'test',
    spawnCommand: (program, args, env) =>
      blocked()
        ? { file: 'unshare', args: ['--user', '--map-root-user', 'bash', '-c', 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" "$@"', program, ...args], options: { env } }
        : { file: program, args, options: { env } },
    signalAll: async () => {},
    stop: async () => [],
    sweep: async () => {},
    remove: async () => []
  }
}

/** Root as the test gives it: records the commands, and a sysctl that sets the AppArmor setting to 0 lifts the block. */
function fakeRoot(calls: string[], lift: () => void): Privilege {
  return {
    isRoot: true,
    asRoot: async (command, args) => {
      calls.push([command, ...args].join(' '))
      if (command === 'sysctl' && args.join(' ') === `-w ${APPARMOR}=0`) lift()
      return ''
    }
  }
}

const kernel = (settings: Record<string, string>, privilege?: Privilege): KernelAccess => ({ read: async (name) => settings[name], privilege: async () => privilege })
const binary = (): string => inject('codexBinary')

describe('probeSandbox', () => {
  it('does nothing for bypass', async () => {
    expect(await probeSandbox({ sandbox: 'bypass', writableRoots: [] }, binary(), identity(() => true), configuration, () => {}, kernel({}))).toBeUndefined()
  })

  it('proves that workspace-write and read-only start and refuse the write, and leaves no probe file', async () => {
    const write = await probeSandbox({ sandbox: 'workspace-write', writableRoots: [] }, binary(), identity(() => false), configuration, () => {}, kernel({}))
    expect(write?.summary).toMatch(new RegExp(`^started here and refused a write to ${configuration.env.HOME}/\\.codex-action-sandbox-probe-[0-9a-f]{12}$`))
    const read = await probeSandbox({ sandbox: 'read-only', writableRoots: [] }, binary(), identity(() => false), configuration, () => {}, kernel({}))
    expect(read?.summary).toMatch(new RegExp(`^started here and refused a write to ${configuration.workingDirectory}/\\.codex-action-sandbox-probe-`))
    expect(readdirSync(configuration.env.HOME)).toEqual([])
    expect(readdirSync(configuration.workingDirectory)).toEqual([])
  })

  it('fails when the sandbox lets the write through, and undoes the write', async () => {
    // Codex's config opens HOME while the action believes it closed: the probe must catch the sandbox not holding.
    writeFileSync(path.join(configuration.env.CODEX_HOME, 'config.toml'), `[sandbox_workspace_write]\nwritable_roots = [${JSON.stringify(configuration.env.HOME)}]\n`)
    await expect(probeSandbox({ sandbox: 'workspace-write', writableRoots: [] }, binary(), identity(() => false), configuration, () => {}, kernel({}))).rejects.toThrow(
      new RegExp(`^Codex's sandbox \\(workspace-write\\) started, but it did not refuse a write to ${configuration.env.HOME}/\\.codex-action-sandbox-probe-[0-9a-f]{12}, outside the folders it may write: it would not hold the agent here\\. Use 'sandbox: bypass' with 'isolation: user' instead\\.$`)
    )
    expect(readdirSync(configuration.env.HOME)).toEqual([])
  })

  it('says so when every folder it could try is writable by design', async () => {
    const probe = await probeSandbox({ sandbox: 'workspace-write', writableRoots: [configuration.env.HOME] }, binary(), identity(() => false), configuration, () => {}, kernel({}))
    expect(probe?.summary).toBe('started here; every folder to try a refused write in is writable by design, so no write was tried')
  })

  it('relaxes the AppArmor restriction with root, recording it first, and cleanup can put it back', async () => {
    let blocked = true
    const calls: string[] = []
    const recorded: RelaxedSysctl[] = []
    const root = fakeRoot(calls, () => (blocked = false))
    const probe = await probeSandbox({ sandbox: 'workspace-write', writableRoots: [] }, binary(), identity(() => blocked), configuration, (relaxed) => recorded.push({ ...relaxed, callsSoFar: calls.length } as RelaxedSysctl), kernel({ [APPARMOR]: '1' }, root))
    expect(recorded).toEqual([{ name: APPARMOR, value: '1', callsSoFar: 0 }])
    expect(calls).toEqual([`sysctl -w ${APPARMOR}=0`])
    expect(probe?.relaxed).toEqual({ name: APPARMOR, value: '1' })
    expect(probe?.summary).toMatch(/^started here and refused a write to .*; kernel\.apparmor_restrict_unprivileged_userns was set to 0 for this run \(it was 1\) and is restored when the job's cleanup runs$/)
    await restoreSysctl(root, { name: APPARMOR, value: '1' })
    expect(calls.at(-1)).toBe(`sysctl -w ${APPARMOR}=1`)
  })

  it('fails with the cause and the fix when the AppArmor restriction is on and the action has no root', async () => {
    const run = probeSandbox({ sandbox: 'workspace-write', writableRoots: [] }, binary(), identity(() => true), configuration, () => expect.unreachable(), kernel({ [APPARMOR]: '1' }))
    await expect(run).rejects.toThrow(
      `Codex's sandbox (sandbox: workspace-write) cannot start on this runner: ${APPARMOR} is 1: Ubuntu's AppArmor stops unprivileged user namespaces, which the sandbox needs, and the action has neither root nor passwordless sudo to relax it. Fix: run 'sudo sysctl -w ${APPARMOR}=0' in an earlier step, or use 'sandbox: bypass' with 'isolation: user'`
    )
  })

  it('fails with what bubblewrap said when no known setting explains it, and when relaxing did not help', async () => {
    await expect(probeSandbox({ sandbox: 'read-only', writableRoots: [] }, binary(), identity(() => true), configuration, () => {}, kernel({}))).rejects.toThrow(
      /^Codex's sandbox \(sandbox: read-only\) cannot start on this runner: it exited with 1 \(bwrap: Creating new namespace failed: nesting depth or \/proc\/sys\/user\/max_\*_namespaces exceeded \(ENOSPC\)\)\. Fix: /
    )
    const calls: string[] = []
    await expect(probeSandbox({ sandbox: 'read-only', writableRoots: [] }, binary(), identity(() => true), configuration, () => {}, kernel({ [APPARMOR]: '1' }, fakeRoot(calls, () => {})))).rejects.toThrow(
      /cannot start on this runner: even with kernel\.apparmor_restrict_unprivileged_userns set to 0, it exited with 1 \(bwrap: Creating new namespace failed/
    )
    expect(calls).toEqual([`sysctl -w ${APPARMOR}=0`])
  })
})
