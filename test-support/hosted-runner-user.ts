// A GitHub-hosted runner runs actions as the user `runner`, with passwordless sudo. This makes the
// same shape on this machine (as root): a user with its own home (0750) and a NOPASSWD sudoers entry,
// so the action's sudo path — not its root path — is what a test exercises.
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'

// CODEX_E2E_RUNNER_USER lets two checkouts run their suites at once without sharing the user's home.
export const RUNNER_USER = process.env.CODEX_E2E_RUNNER_USER || 'runner-e2e'

export interface RunnerUser {
  uid: number
  gid: number
  home: string
}

/** The runner-shaped user, or why it cannot be made here (not root, or no sudo binary). */
export function hostedRunnerUser(): RunnerUser | string {
  if (process.getuid?.() !== 0) return 'the tests are not running as root'
  if (!existsSync('/usr/bin/sudo')) return 'sudo is not installed (apt-get install sudo)'
  const home = `/home/${RUNNER_USER}`
  try {
    execFileSync('id', ['-u', RUNNER_USER], { stdio: 'ignore' })
  } catch {
    execFileSync('useradd', ['--create-home', '--home-dir', home, '--shell', '/bin/bash', RUNNER_USER])
  }
  mkdirSync(home, { recursive: true })
  chmodSync(home, 0o750)
  writeFileSync(`/etc/sudoers.d/${RUNNER_USER}`, `${RUNNER_USER} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 })
  const uid = Number(execFileSync('id', ['-u', RUNNER_USER], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', RUNNER_USER], { encoding: 'utf8' }).trim())
  return { uid, gid, home }
}
