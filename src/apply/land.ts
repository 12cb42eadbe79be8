import * as core from '@actions/core'
import type { Plan } from './check.js'
import { openPullRequest, type GitHub, type TargetPullRequest } from './github.js'
import type { ApplySettings } from './inputs.js'
import { git, type Repository, type Scratch } from './repository.js'

export interface Landing {
  commitSha: string
  branch?: string
  pullRequest?: { number: number; url: string; updated: boolean }
}

export interface LandingRequest {
  settings: ApplySettings
  plan: Plan
  title: string
  message: string
  body: string
  /** The pull request `push` mode commits onto (not from a fork: checked before). */
  pullRequest?: TargetPullRequest
  /** The branch a new pull request targets when `base` is not given. */
  defaultBase?: string
}

/** Commits the checked plan onto the checked-out commit, then pushes it or opens a pull request, as `mode` says. */
export async function land(repository: Repository, scratch: Scratch, github: GitHub, request: LandingRequest): Promise<Landing> {
  const { settings, plan } = request
  // Everything that can still refuse is decided before the first write.
  const base = settings.mode === 'pull-request' ? pullRequestBase(repository, request) : undefined
  const target = request.pullRequest
  if (settings.mode === 'push' && !target?.headRef) throw new Error('mode push needs a pull request to push to: run apply on a pull_request, issue_comment (on a pull request) or workflow_run event, or use mode pull-request.')
  await scratch.keep()
  const { name, email } = settings.author
  const identity = { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email }
  // commit-tree writes the commit from the checked tree: no hook, no index, no work tree involved.
  const commitSha = (await git(repository, ['commit-tree', plan.tree, '-p', repository.head, '-m', request.message], identity)).trim()

  if (base) {
    // The branch is apply's own: when it exists (the same scheduled job, again), it is replaced, and its open pull request updated.
    await push(repository, settings, `+${commitSha}:refs/heads/${settings.branch}`)
    const pullRequest = await openPullRequest(github, { head: settings.branch, base, title: request.title, body: request.body, labels: settings.labels, reviewers: settings.reviewers })
    return { commitSha, branch: settings.branch, pullRequest }
  }

  // push and commit: the commit goes onto the checkout, work tree and index included.
  await git(repository, ['read-tree', '-m', '-u', repository.head, commitSha])
  await git(repository, ['update-ref', '-m', 'codex-action apply', 'HEAD', commitSha, repository.head])
  if (settings.mode === 'commit' || !target) return { commitSha, branch: repository.branch }
  // Never forced: if the branch moved since the checkout, the push is refused and nothing is lost.
  await push(repository, settings, `${commitSha}:refs/heads/${target.headRef}`)
  return { commitSha, branch: target.headRef }
}

/** The base of the pull request; apply's branch, which it force-pushes, may be none of the branches people work on. */
function pullRequestBase(repository: Repository, { settings, defaultBase }: LandingRequest): string {
  const base = settings.base ?? repository.branch ?? defaultBase
  if (!base) throw new Error("The pull request needs a base branch: HEAD is detached and the event names no default branch. Set the input 'base'.")
  const taken = [base, repository.branch, defaultBase].filter((name): name is string => Boolean(name))
  if (taken.includes(settings.branch)) throw new Error(`The input 'branch' (${settings.branch}) is the base, the checked-out or the default branch: apply force-pushes its branch, so it must be a branch of its own.`)
  return base
}

/** Pushes to origin; over https, with github-token (the checkout's persisted credential, if any, is replaced). */
async function push(repository: Repository, settings: ApplySettings, refspec: string): Promise<void> {
  const origin = (await git(repository, ['remote', 'get-url', 'origin'])).trim()
  const auth: Record<string, string> = {}
  const url = /^https?:\/\//i.test(origin) ? new URL(origin) : undefined
  if (url) {
    const header = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${settings.githubToken}`).toString('base64')}`
    core.setSecret(header.slice('AUTHORIZATION: basic '.length))
    const key = `http.${url.protocol}//${url.host}/.extraheader`
    // Through the environment, not the command line; an empty value first clears what actions/checkout persisted.
    Object.assign(auth, { GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_0: key, GIT_CONFIG_VALUE_0: '', GIT_CONFIG_KEY_1: key, GIT_CONFIG_VALUE_1: header })
  }
  await git(repository, ['push', '--no-verify', '--porcelain', 'origin', refspec], auth)
}
