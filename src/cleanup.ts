import * as core from '@actions/core'
import { existsSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { writeRepositoryConfig } from './collect.js'
import { identityForCleanup } from './isolation.js'
import type { RunState } from './state.js'

/**
 * The post step, run whatever happened in main: stops what the agent left running, hands back what
 * it was lent, puts the repository config back, and removes every file that held a secret.
 * Idempotent: anything already gone is simply skipped.
 */
export async function cleanup(state: RunState | undefined): Promise<void> {
  if (!state) return core.info('Nothing to clean up: the main step did not get as far as preparing Codex.')
  const identity = await identityForCleanup(state.isolation, state.agentUser, state.lent)
  await identity.signalAll(undefined, 'SIGKILL')
  await identity.handBack()
  await identity.remove()

  if (state.gitConfigFile && state.gitConfigBackup && existsSync(state.gitConfigBackup)) {
    await writeRepositoryConfig(state.gitConfigFile, await readFile(state.gitConfigBackup))
    core.info(`Put the repository config back at ${state.gitConfigFile}.`)
  }
  for (const secretBearing of [state.codexHome, state.agentHome, state.gitConfigBackup]) {
    if (secretBearing) await rm(secretBearing, { recursive: true, force: true })
  }
  core.info(`Removed CODEX_HOME (${state.codexHome}) and the agent's home; the patch and logs stay in ${state.runRoot}/output.`)
}
