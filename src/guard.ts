import * as core from '@actions/core'
import { HttpClient } from '@actions/http-client'
import { readFileSync } from 'node:fs'
import type { Settings } from './inputs.js'

export class GuardRefusal extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'GuardRefusal'
  }
}

type GuardSettings = Pick<Settings, 'sandbox' | 'allowSelfHosted' | 'allowUsers' | 'allowBots' | 'allowForks' | 'githubToken'>

const WRITE_PERMISSIONS = new Set(['admin', 'maintain', 'write'])
// Events whose workflow runs with the base repository's secrets while the code or text came from a fork.
const PRIVILEGED_FORK_EVENTS = new Set(['pull_request_target', 'workflow_run'])

/** Decides whether the agent may run here, for this actor and event. Starts nothing; a refusal throws. */
export async function checkGuard(settings: GuardSettings, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  checkRunner(settings, env)
  const event = readEvent(env)
  checkFork(settings, env.GITHUB_EVENT_NAME ?? '', event)
  await checkActor(settings, env, event)
}

function checkRunner(settings: GuardSettings, env: NodeJS.ProcessEnv): void {
  if (settings.sandbox !== 'bypass' || env.RUNNER_ENVIRONMENT === 'github-hosted' || settings.allowSelfHosted) return
  throw new GuardRefusal(
    `sandbox 'bypass' runs only on GitHub-hosted runners, and this runner is ${env.RUNNER_ENVIRONMENT ? `'${env.RUNNER_ENVIRONMENT}'` : 'of unknown kind'}. ` +
      `If it is thrown away after every job, say so with 'allow-self-hosted: true'; otherwise use 'sandbox: workspace-write'.`
  )
}

function checkFork(settings: GuardSettings, eventName: string, event: Record<string, any>): void {
  if (!PRIVILEGED_FORK_EVENTS.has(eventName) || settings.allowForks) return
  const base: unknown = event.repository?.full_name
  const head: unknown = eventName === 'workflow_run' ? event.workflow_run?.head_repository?.full_name : event.pull_request?.head?.repo?.full_name
  // The head must be shown to be the base repository itself. `head.repo.fork` is no test: it is true for every pull request
  // inside a repository that is itself a fork. An unknown head (a deleted fork leaves `head.repo: null`) or an unreadable
  // event payload proves nothing, so it is refused like a fork.
  if (typeof base === 'string' && typeof head === 'string' && base.toLowerCase() === head.toLowerCase()) return
  const origin = typeof head === 'string' ? `comes from the fork ${head}` : 'comes from a head repository that cannot be identified (a deleted fork, or an unreadable event payload)'
  throw new GuardRefusal(
    `This ${eventName} event ${origin}: its code and text are untrusted, and this job holds the base repository's secrets. ` +
      `Refusing to run the agent. Set 'allow-forks: true' only if you accept that.`
  )
}

async function checkActor(settings: GuardSettings, env: NodeJS.ProcessEnv, event: Record<string, any>): Promise<void> {
  // A re-run keeps the privileges of GITHUB_ACTOR whoever started it (GITHUB_TRIGGERING_ACTOR), so both must be allowed.
  const actors = new Map<string, string>()
  for (const actor of [env.GITHUB_ACTOR, env.GITHUB_TRIGGERING_ACTOR]) if (actor) actors.set(actor.toLowerCase(), actor)
  if (actors.size === 0) {
    if (settings.allowUsers.includes('*')) return core.info("The triggering actor is unknown; 'allow-users' is '*'.")
    throw new GuardRefusal("The triggering actor is unknown (GITHUB_ACTOR is empty), so its permission cannot be checked. Set 'allow-users: \"*\"' to run for anyone.")
  }
  // A bot that sent the event is held to allow-bots even when the run is attributed to someone else.
  if (event.sender?.type === 'Bot' && typeof event.sender.login === 'string') actors.set(event.sender.login.toLowerCase(), event.sender.login)
  const rerun =
    env.GITHUB_ACTOR && env.GITHUB_TRIGGERING_ACTOR && env.GITHUB_ACTOR.toLowerCase() !== env.GITHUB_TRIGGERING_ACTOR.toLowerCase()
      ? ` This is a re-run: the original actor (${env.GITHUB_ACTOR}) and the one who re-ran it (${env.GITHUB_TRIGGERING_ACTOR}) must both be allowed.`
      : ''
  for (const actor of actors.values()) await checkOneActor(settings, env, event, actor, rerun)
}

async function checkOneActor(settings: GuardSettings, env: NodeJS.ProcessEnv, event: Record<string, any>, actor: string, rerun: string): Promise<void> {
  const sender = event.sender as { login?: string; type?: string } | undefined
  const isBot = actor.endsWith('[bot]') || (sender?.type === 'Bot' && (!sender.login || sender.login.toLowerCase() === actor.toLowerCase()))
  if (isBot) {
    if (listed(settings.allowBots, actor)) return core.info(`The bot ${actor} is listed in allow-bots.`)
    throw new GuardRefusal(`The run was triggered by the bot '${actor}', which is not listed in 'allow-bots'. Add it there (or '*') to let bots start the agent.${rerun}`)
  }
  if (listed(settings.allowUsers, actor)) return core.info(`The actor ${actor} is listed in allow-users.`)

  const permission = await actorPermission(settings, env, actor)
  if (!WRITE_PERMISSIONS.has(permission)) {
    throw new GuardRefusal(
      `The actor '${actor}' has '${permission}' permission on ${env.GITHUB_REPOSITORY}; the agent runs only for write, maintain or admin. ` +
        `List trusted users in 'allow-users' to let them start it.${rerun}`
    )
  }
  core.info(`The actor ${actor} has ${permission} permission.`)
}

async function actorPermission(settings: GuardSettings, env: NodeJS.ProcessEnv, actor: string): Promise<string> {
  const repository = env.GITHUB_REPOSITORY
  const api = (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '')
  if (!settings.githubToken || !repository) {
    throw new GuardRefusal(
      `Cannot check the permission of '${actor}': ${!settings.githubToken ? "'github-token' is empty" : 'GITHUB_REPOSITORY is not set'}. Failing closed. ` +
        `Give 'github-token' a token that can read the repository (the default is \${{ github.token }}), or list the actor in 'allow-users'.`
    )
  }
  const client = new HttpClient('codex-action', [], { allowRetries: true, maxRetries: 2, socketTimeout: 15_000 })
  try {
    const url = `${api}/repos/${repository}/collaborators/${encodeURIComponent(actor)}/permission`
    const response = await client.get(url, { authorization: `Bearer ${settings.githubToken}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' })
    const status = response.message.statusCode ?? 0
    const body = await response.readBody()
    if (status !== 200) {
      throw new GuardRefusal(`The permission check for '${actor}' failed: GitHub answered HTTP ${status}${status === 403 || status === 404 ? " (does 'github-token' have read access to the repository?)" : ''}. Failing closed.`)
    }
    const answer = JSON.parse(body) as { permission?: string; role_name?: string }
    return answer.role_name && WRITE_PERMISSIONS.has(answer.role_name) ? answer.role_name : (answer.permission ?? 'none')
  } catch (error) {
    if (error instanceof GuardRefusal) throw error
    throw new GuardRefusal(`The permission check for '${actor}' could not reach ${api} (${(error as Error).message}). Failing closed.`)
  } finally {
    client.dispose()
  }
}

function listed(list: string[], actor: string): boolean {
  return list.includes('*') || list.some((entry) => entry.toLowerCase() === actor.toLowerCase())
}

function readEvent(env: NodeJS.ProcessEnv): Record<string, any> {
  if (!env.GITHUB_EVENT_PATH) return {}
  try {
    return JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'))
  } catch {
    return {}
  }
}
