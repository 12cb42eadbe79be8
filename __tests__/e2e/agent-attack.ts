// What the trust-boundary tests share: the two shapes the action runs in, one scripted agent run at
// a time (each shell command an attack step), what came back to the model, what was uploaded, and
// who the agent was.
import { readdirSync, readFileSync } from 'node:fs'
import { afterEach, expect } from 'vitest'
import { hostedRunnerUser, type RunnerUser } from '../../test-support/hosted-runner-user.js'
import { message, shell } from '../../test-support/responses-server.js'
import type { ActionRun } from '../../test-support/runner.js'
import { act, startWorld, type World } from './harness.js'

const runnerUser = hostedRunnerUser()
/** The action as root (this machine) and, where sudo exists, as a runner-shaped user with passwordless sudo (GitHub-hosted). */
export const shapes: { shape: string; runner?: RunnerUser }[] = [{ shape: 'the action as root' }]
if (typeof runnerUser !== 'string') shapes.push({ shape: 'the action as a sudo user (hosted shape)', runner: runnerUser })

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

/** The world of the latest attack. */
export function currentWorld(): World | undefined {
  return world
}

/** Runs the agent through `commands`, one shell call each, then a final message. */
export async function attack(repository: string, runner: RunnerUser | undefined, commands: string[], options: Parameters<typeof act>[2] = {}): Promise<ActionRun> {
  await world?.close()
  world = await startWorld([...commands.map((command) => ({ output: [shell(command)] })), { output: [message('done')] }])
  return act(world, repository, { runAs: runner, ...options })
}

/** What command `i` of the latest attack printed, as the model received it. */
export function toolOutput(i: number): string {
  return world?.model.requests[i + 1]?.toolOutputs.at(-1) ?? '<no request>'
}

/** Every file the latest attack's run uploaded, as one text. */
export function uploaded(): string {
  return (world?.results.artifacts ?? []).flatMap((artifact) => [...artifact.files.values()].map((bytes) => bytes.toString('latin1'))).join('\n')
}

export function agentUid(run: ActionRun): number {
  const uid = /\(uid (\d+)\)/.exec(run.main.stdout)?.[1]
  expect(uid, run.main.stdout).toBeDefined()
  return Number(uid)
}

/** Live processes with `uid` as their real, effective, saved or file-system uid. */
export function processesOfUid(uid: number): string[] {
  const alive: string[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let status = ''
    try {
      status = readFileSync(`/proc/${entry}/status`, 'utf8')
    } catch {
      continue
    }
    const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1].split(/\s+/).map(Number) ?? []
    if (uids.includes(uid) && !/^State:\s+[ZX]/m.test(status)) alive.push(entry)
  }
  return alive
}
