// A stand-in for the GitHub REST endpoints the actions call: the collaborator permission check (main),
// and pulls, issue comments, labels and review requests (apply), kept in memory so tests can read them.
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface PullRequest {
  number: number
  title: string
  body: string
  head: string
  base: string
  state: 'open' | 'closed'
  labels: string[]
  reviewers: string[]
  /** Set for a pull request whose head lives in another repository (a fork). */
  headRepository?: string
  headSha?: string
}

export interface IssueComment {
  id: number
  issue: number
  body: string
}

export interface GitHubApi {
  /** GITHUB_API_URL for the action. */
  url: string
  /** Permission by login; a login not listed gets 404, as GitHub answers for a non-collaborator. */
  permissions: Record<string, 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none'>
  /** The Authorization header of every request, in order. */
  authorizations: string[]
  /** Every request as `METHOD /path`, in order. */
  requests: string[]
  pulls: PullRequest[]
  comments: IssueComment[]
  /**
   * Answer 403 ("Resource not accessible by integration", as GitHub does for a token without the
   * permission) to requests whose `METHOD /path` matches.
   */
  forbidden: RegExp[]
  close(): Promise<void>
}

const PERMISSION_PATH = /^\/repos\/([^/]+)\/([^/]+)\/collaborators\/([^/]+)\/permission$/
const LEGACY: Record<string, string> = { admin: 'admin', maintain: 'write', write: 'write', triage: 'read', read: 'read', none: 'none' }

class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly errors?: unknown[]) {
    super(message)
  }
}

export async function startGitHubApi(permissions: GitHubApi['permissions'] = {}): Promise<GitHubApi> {
  const authorizations: string[] = []
  const requests: string[] = []
  const pulls: PullRequest[] = []
  const comments: IssueComment[] = []
  const forbidden: RegExp[] = []
  let nextComment = 1000

  const pullJson = (pull: PullRequest, owner: string, repo: string): Record<string, unknown> => ({
    number: pull.number,
    html_url: `https://github.com/${owner}/${repo}/pull/${pull.number}`,
    title: pull.title,
    body: pull.body,
    state: pull.state,
    labels: pull.labels.map((name) => ({ name })),
    requested_reviewers: pull.reviewers.map((login) => ({ login })),
    head: { ref: pull.head, sha: pull.headSha ?? '', repo: { full_name: pull.headRepository ?? `${owner}/${repo}` } },
    base: { ref: pull.base, repo: { full_name: `${owner}/${repo}` } }
  })

  function route(method: string, url: URL, body: Record<string, unknown>): [number, unknown] {
    const permission = PERMISSION_PATH.exec(url.pathname)
    if (permission && method === 'GET') {
      const role = permissions[decodeURIComponent(permission[3])]
      if (!role) throw new ApiError(404, 'Not Found')
      return [200, { permission: LEGACY[role], role_name: role, user: { login: permission[3] } }]
    }
    const repoPath = /^\/repos\/([^/]+)\/([^/]+)(\/.*)$/.exec(url.pathname)
    if (!repoPath) throw new ApiError(404, 'Not Found')
    const [, owner, repo, rest] = repoPath
    const pullOf = (number: string): PullRequest => {
      const pull = pulls.find((p) => p.number === Number(number))
      if (!pull) throw new ApiError(404, 'Not Found')
      return pull
    }
    let match: RegExpExecArray | null
    if (rest === '/pulls' && method === 'POST') {
      const head = String(body.head ?? '')
      const base = String(body.base ?? '')
      if (!body.title || !head || !base) throw new ApiError(422, 'Validation Failed', [{ resource: 'PullRequest', code: 'missing_field' }])
      const branch = head.includes(':') ? head.slice(head.indexOf(':') + 1) : head
      if (pulls.some((p) => p.state === 'open' && p.head === branch && p.base === base)) {
        throw new ApiError(422, 'Validation Failed', [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${branch}.` }])
      }
      const pull: PullRequest = { number: Math.max(100, ...pulls.map((p) => p.number)) + 1, title: String(body.title), body: String(body.body ?? ''), head: branch, base, state: 'open', labels: [], reviewers: [] }
      pulls.push(pull)
      return [201, pullJson(pull, owner, repo)]
    }
    if (rest === '/pulls' && method === 'GET') {
      const head = url.searchParams.get('head')
      const state = url.searchParams.get('state') ?? 'open'
      const list = pulls.filter((p) => (state === 'all' || p.state === state) && (!head || `${owner}:${p.head}` === head))
      return [200, list.map((p) => pullJson(p, owner, repo))]
    }
    if ((match = /^\/pulls\/(\d+)$/.exec(rest))) {
      const pull = pullOf(match[1])
      if (method === 'PATCH') {
        if (typeof body.title === 'string') pull.title = body.title
        if (typeof body.body === 'string') pull.body = body.body
      } else if (method !== 'GET') throw new ApiError(404, 'Not Found')
      return [200, pullJson(pull, owner, repo)]
    }
    if ((match = /^\/pulls\/(\d+)\/requested_reviewers$/.exec(rest)) && method === 'POST') {
      const pull = pullOf(match[1])
      for (const login of (body.reviewers as string[] | undefined) ?? []) if (!pull.reviewers.includes(login)) pull.reviewers.push(login)
      return [201, pullJson(pull, owner, repo)]
    }
    if ((match = /^\/issues\/(\d+)\/labels$/.exec(rest)) && method === 'POST') {
      const pull = pullOf(match[1])
      for (const name of (body.labels as string[] | undefined) ?? []) if (!pull.labels.includes(name)) pull.labels.push(name)
      return [200, pull.labels.map((name) => ({ name }))]
    }
    if ((match = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
      const issue = Number(match[1])
      if (method === 'GET') return [200, comments.filter((c) => c.issue === issue).map((c) => ({ id: c.id, body: c.body }))]
      if (method === 'POST') {
        const comment = { id: nextComment++, issue, body: String(body.body ?? '') }
        comments.push(comment)
        return [201, { id: comment.id, body: comment.body, html_url: `https://github.com/${owner}/${repo}/issues/${issue}#issuecomment-${comment.id}` }]
      }
    }
    if ((match = /^\/issues\/comments\/(\d+)$/.exec(rest)) && method === 'PATCH') {
      const comment = comments.find((c) => c.id === Number(match![1]))
      if (!comment) throw new ApiError(404, 'Not Found')
      comment.body = String(body.body ?? '')
      return [200, { id: comment.id, body: comment.body }]
    }
    throw new ApiError(404, 'Not Found')
  }

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      authorizations.push(String(request.headers.authorization ?? ''))
      const method = request.method ?? 'GET'
      const url = new URL(request.url ?? '/', 'http://localhost')
      requests.push(`${method} ${url.pathname}`)
      response.setHeader('content-type', 'application/json')
      try {
        if (forbidden.some((pattern) => pattern.test(`${method} ${url.pathname}`))) throw new ApiError(403, 'Resource not accessible by integration')
        const text = Buffer.concat(chunks).toString()
        const [status, answer] = route(method, url, text ? (JSON.parse(text) as Record<string, unknown>) : {})
        response.writeHead(status).end(JSON.stringify(answer))
      } catch (error) {
        if (!(error instanceof ApiError)) throw error
        response.writeHead(error.status).end(JSON.stringify({ message: error.message, ...(error.errors ? { errors: error.errors } : {}) }))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    permissions,
    authorizations,
    requests,
    pulls,
    comments,
    forbidden,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}
