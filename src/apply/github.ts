import * as core from '@actions/core'
import { context, getOctokit } from '@actions/github'
import { COMMENT_MARKER } from './messages.js'

export type GitHub = ReturnType<typeof getOctokit>

/** The pull request whose branch `push` mode commits onto. */
export interface TargetPullRequest {
  number: number
  headRef: string
  /** The head lives in another repository: apply comments instead of pushing. */
  fromFork: boolean
}

/** Where this run came from: the pull request or issue to comment on, and the pull request to push to. */
export interface Trigger {
  issueNumber?: number
  pullRequest?: TargetPullRequest
}

export function connect(token: string): GitHub {
  // GITHUB_API_URL (GitHub Enterprise Server, or a test's stand-in) is read by the client itself.
  return getOctokit(token)
}

export async function readTrigger(github: GitHub): Promise<Trigger> {
  const { payload, repo } = context
  const thisRepository = `${repo.owner}/${repo.repo}`.toLowerCase()
  const target = (number: number, headRef: string, headRepository: string | undefined): Trigger => ({
    issueNumber: number,
    pullRequest: { number, headRef, fromFork: (headRepository ?? '').toLowerCase() !== thisRepository }
  })
  if (payload.pull_request) {
    const pull = payload.pull_request as { number: number; head: { ref: string; repo?: { full_name?: string } | null } }
    return target(pull.number, pull.head.ref, pull.head.repo?.full_name)
  }
  if (payload.issue?.pull_request) {
    const { data } = await github.rest.pulls.get({ ...repo, pull_number: payload.issue.number }).catch((error: Error) => {
      throw new Error(status(error) === 403 ? forbidden(`read pull request #${payload.issue!.number}`, 'pull-requests: read') : `Could not read pull request #${payload.issue!.number}: ${error.message}`)
    })
    return target(data.number, data.head.ref, data.head.repo?.full_name)
  }
  if (payload.issue) return { issueNumber: payload.issue.number }
  const run = payload.workflow_run as { head_branch?: string; head_repository?: { full_name?: string }; pull_requests?: { number: number }[] } | undefined
  if (run) {
    // GitHub lists no pull request for a workflow_run from a fork: a head repository of its own says it all.
    const number = run.pull_requests?.[0]?.number
    if (number) return target(number, run.head_branch ?? '', run.head_repository?.full_name)
    if (run.head_repository?.full_name?.toLowerCase() !== thisRepository) return { pullRequest: { number: 0, headRef: run.head_branch ?? '', fromFork: true } }
  }
  return {}
}

/** Opens the pull request, or updates the open one from the same branch (GitHub answers 422 for a second), then adds labels and reviewers. */
export async function openPullRequest(github: GitHub, request: { head: string; base: string; title: string; body: string; labels: string[]; reviewers: string[] }): Promise<{ number: number; url: string; updated: boolean }> {
  const { repo } = context
  let pull: { number: number; html_url: string }
  let updated = false
  try {
    pull = (await github.rest.pulls.create({ ...repo, head: request.head, base: request.base, title: request.title, body: request.body })).data
  } catch (error) {
    if (status(error) === 403) throw new Error(forbidden('open a pull request', 'pull-requests: write (and, for GITHUB_TOKEN, the repository setting "Allow GitHub Actions to create and approve pull requests")'))
    if (status(error) !== 422) throw error
    const [existing] = (await github.rest.pulls.list({ ...repo, head: `${repo.owner}:${request.head}`, base: request.base, state: 'open' })).data
    if (!existing) throw error
    pull = (await github.rest.pulls.update({ ...repo, pull_number: existing.number, title: request.title, body: request.body })).data
    updated = true
  }
  if (request.labels.length) await github.rest.issues.addLabels({ ...repo, issue_number: pull.number, labels: request.labels }).catch((error) => core.warning(`Labels were not added to #${pull.number}: ${(error as Error).message}`))
  if (request.reviewers.length) await github.rest.pulls.requestReviewers({ ...repo, pull_number: pull.number, reviewers: request.reviewers }).catch((error) => core.warning(`Reviewers were not requested on #${pull.number}: ${(error as Error).message}`))
  return { number: pull.number, url: pull.html_url, updated }
}

/** One comment per workflow run on the issue or pull request, found again by its marker and updated in place. */
export async function upsertComment(github: GitHub, issueNumber: number, runId: string, body: string): Promise<void> {
  const { repo } = context
  try {
    const comments = await github.paginate(github.rest.issues.listComments, { ...repo, issue_number: issueNumber, per_page: 100 })
    const mine = comments.find((comment) => comment.body?.startsWith(COMMENT_MARKER(runId)))
    if (mine) await github.rest.issues.updateComment({ ...repo, comment_id: mine.id, body })
    else await github.rest.issues.createComment({ ...repo, issue_number: issueNumber, body })
  } catch (error) {
    // The comment reports; it never decides the outcome.
    core.warning(status(error) === 403 ? forbidden(`comment on #${issueNumber}`, 'issues: write or pull-requests: write') : `The comment on #${issueNumber} was not written: ${(error as Error).message}`)
  }
}

function status(error: unknown): number | undefined {
  return (error as { status?: number }).status
}

function forbidden(what: string, permission: string): string {
  return `The github-token may not ${what} (HTTP 403): give the job ${permission}.`
}
