import * as core from '@actions/core'
import { escapeHtml } from './agent-text.js'
import { restoreGitDir } from './git-dir.js'
import { identityForCleanup } from './isolation.js'
import { handBack, removeAgentFolders } from './lend.js'
import type { RunState } from './state.js'

/**
 * Ends the agent's time on the runner, whatever happened before: no process of the agent is left,
 * the repository and the real git dir are back as the runner user's, and the agent's folders,
 * user and leftovers are gone. Run at the end of main and again by the post step; anything already
 * done is skipped. Returns what could not be removed.
 */
export async function cleanup(state: RunState | undefined): Promise<string[]> {
  if (!state) {
    core.info('Nothing to clean up: the main step did not get as far as preparing Codex.')
    return []
  }
  const identity = await identityForCleanup(state.isolation, state.agentUser)
  await identity.stop()
  await handBack(identity, state.folders, state.gitDirs?.top)
  if (state.gitDirs && (await restoreGitDir(state.gitDirs))) core.info(`Put the repository's git dir back at ${state.gitDirs.home}.`)
  await removeAgentFolders(identity.privilege, state.folders)
  const left = await identity.remove()
  if (left.length && process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addRaw(`<b>Could not remove everything the agent left:</b> ${escapeHtml(left.join('; '))}`, true).write()
  }
  return left
}
