import * as core from '@actions/core'
import { escapeHtml } from './agent-text.js'
import { restoreGitDir } from './git-dir.js'
import { removeFirewall } from './egress/firewall.js'
import { findPrivilege, identityForCleanup, processesOf } from './isolation.js'
import { handBack, removeAgentFolders } from './lend.js'
import { restoreSysctl } from './sandbox-probe.js'
import type { AgentIdentity } from './isolation.js'
import type { RunState } from './state.js'

/**
 * Ends the agent's time on the runner, whatever happened before: no process of the agent is left,
 * the repository and the real git dir are back as the runner user's, and the agent's folders,
 * user and leftovers are gone. Run at the end of main and again by the post step; anything already
 * done is skipped. Returns what could not be removed. Main passes the agent's identity it holds;
 * the post step finds it again from the saved state.
 */
export async function cleanup(state: RunState | undefined, known?: AgentIdentity): Promise<string[]> {
  if (!state) {
    core.info('Nothing to clean up: the main step did not get as far as preparing Codex.')
    return []
  }
  const identity = known ?? (await identityForCleanup(state.isolation, state.agentUser))
  const left: string[] = []
  // Each step on its own: one the agent managed to break must not keep the next, the real git dir above all, from its turn.
  const step = async (what: string, work: () => Promise<unknown>): Promise<void> => {
    await work().catch((error: Error) => {
      core.warning(`Cleanup could not ${what}: ${error.message}`)
      left.push(what)
    })
  }
  // All of it again even after main did: a process caught mid-fork by main's stop can have written since.
  await step("stop the agent's processes", () => identity.stop())
  await step("delete the agent's files in shared folders", () => identity.sweep([state.gitDirs?.top, state.runRoot].filter((folder): folder is string => Boolean(folder))))
  await step('give the repository back to the runner user', () => handBack(identity, state.folders, state.gitDirs?.top))
  const { gitDirs } = state
  if (gitDirs) await step("put the repository's git dir back", async () => (await restoreGitDir(gitDirs, identity.privilege)) && core.info(`Put the repository's git dir back at ${gitDirs.home}.`))
  await step("remove the agent's folders", () => removeAgentFolders(identity.privilege, state.folders))
  await step('remove the agent user', async () => left.push(...(await identity.remove())))
  // The rules go last, and only once no process of the agent is left to use the network they fenced.
  if (state.firewall) {
    if ((await processesOf(state.firewall.uid)).length) left.push(`the firewall chain ${state.firewall.chain} (processes of uid ${state.firewall.uid} are still alive)`)
    else left.push(...(await removeFirewall(identity.privilege ?? (await findPrivilege()), state.firewall)))
  }
  const { relaxedSysctl } = state
  if (relaxedSysctl) {
    await step(`restore ${relaxedSysctl.name} to ${relaxedSysctl.value}`, async () => {
      const privilege = identity.privilege ?? (await findPrivilege())
      if (!privilege) throw new Error('the action has neither root nor passwordless sudo now')
      await restoreSysctl(privilege, relaxedSysctl)
    })
  }
  if (left.length && process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addRaw(`<b>Could not remove everything the agent left:</b> ${escapeHtml(left.join('; '))}`, true).write()
  }
  return left
}
