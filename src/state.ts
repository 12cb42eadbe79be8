import * as core from '@actions/core'
import type { FirewallState } from './egress/firewall.js'
import type { GitDirs } from './git-dir.js'
import type { AgentFolders } from './lend.js'
import type { RelaxedSysctl } from './sandbox-probe.js'

/** What main leaves for the post step: the only data that crosses from one to the other. */
export interface RunState {
  /** The action's own folder for this run (logs and patch), under RUNNER_TEMP. */
  runRoot: string
  isolation: 'user' | 'none'
  agentUser?: string
  folders: AgentFolders
  /** Where the real git dir belongs and where it waits while the agent runs: put back if main could not. */
  gitDirs?: GitDirs
  /** The kernel rules of this run's agent uid, saved before they are added. */
  firewall?: FirewallState
  /** A kernel setting relaxed so that Codex's sandbox could start, saved before it was changed. */
  relaxedSysctl?: RelaxedSysctl
  /** Main's cleanup left nothing behind: the post step has nothing to do. */
  cleanedUp?: boolean
}

const KEY = 'codex-action-run'

export function saveRunState(state: RunState): void {
  core.saveState(KEY, JSON.stringify(state))
}

export function loadRunState(): RunState | undefined {
  const saved = core.getState(KEY)
  if (!saved) return undefined
  try {
    return JSON.parse(saved) as RunState
  } catch {
    return undefined
  }
}
