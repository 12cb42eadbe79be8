import * as core from '@actions/core'

/** What main leaves for the post step: the only data that crosses from one to the other. */
export interface RunState {
  runRoot: string
  codexHome: string
  agentHome: string
  isolation: 'user' | 'none'
  agentUser?: string
  /** Directories lent to the agent user that main has not yet handed back. */
  lent: string[]
  /** The repository config the agent was given, and the copy of the user's own to put back if main could not. */
  gitConfigFile?: string
  gitConfigBackup?: string
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
