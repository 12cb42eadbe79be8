// A stand-in for the one GitHub REST endpoint the action calls: the collaborator permission check.
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface GitHubApi {
  /** GITHUB_API_URL for the action. */
  url: string
  /** Permission by login; a login not listed gets 404, as GitHub answers for a non-collaborator. */
  permissions: Record<string, 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none'>
  /** The Authorization header of every request, in order. */
  authorizations: string[]
  close(): Promise<void>
}

const PERMISSION_PATH = /^\/repos\/([^/]+)\/([^/]+)\/collaborators\/([^/]+)\/permission$/
const LEGACY: Record<string, string> = { admin: 'admin', maintain: 'write', write: 'write', triage: 'read', read: 'read', none: 'none' }

export async function startGitHubApi(permissions: GitHubApi['permissions'] = {}): Promise<GitHubApi> {
  const authorizations: string[] = []
  const server = http.createServer((request, response) => {
    authorizations.push(String(request.headers.authorization ?? ''))
    const match = PERMISSION_PATH.exec(request.url ?? '')
    const role = match ? permissions[decodeURIComponent(match[3])] : undefined
    response.setHeader('content-type', 'application/json')
    if (!match || !role) {
      response.writeHead(404).end(JSON.stringify({ message: 'Not Found' }))
      return
    }
    response.writeHead(200).end(JSON.stringify({ permission: LEGACY[role], role_name: role, user: { login: match[3] } }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    permissions,
    authorizations,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}
