// A git smart-HTTP remote for tests: `git http-backend` behind a local server that, like GitHub,
// answers 401 without credentials and records the Authorization header of every request.
import { spawn } from 'node:child_process'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'

export interface GitHttpRemote {
  /** The URL of `repository` on this server. */
  url: string
  authorizations: string[]
  close(): Promise<void>
}

/** Serves the bare repository `repository` (pushes allowed) to requests that carry `acceptedAuthorization`. */
export async function serveGitHttp(repository: string, acceptedAuthorization: string): Promise<GitHttpRemote> {
  const authorizations: string[] = []
  const server = http.createServer((request, response) => {
    // The scheme is case-insensitive (git sends what its extraheader says, actions/checkout writes 'basic').
    const authorization = String(request.headers.authorization ?? '').replace(/^basic /i, 'Basic ')
    authorizations.push(authorization)
    if (authorization !== acceptedAuthorization) {
      request.resume()
      response.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"' }).end()
      return
    }
    const url = new URL(request.url ?? '/', 'http://localhost')
    const backend = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: path.dirname(repository),
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        REQUEST_METHOD: request.method ?? 'GET',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: String(request.headers['content-type'] ?? ''),
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: '127.0.0.1'
      }
    })
    request.pipe(backend.stdin)
    let head = Buffer.alloc(0)
    let headerDone = false
    backend.stdout.on('data', (chunk: Buffer) => {
      if (headerDone) return void response.write(chunk)
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      headerDone = true
      let status = 200
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const [name, ...value] = line.split(':')
        if (name.toLowerCase() === 'status') status = Number.parseInt(value.join(':'), 10)
        else response.setHeader(name, value.join(':').trim())
      }
      response.writeHead(status)
      response.write(head.subarray(end + 4))
    })
    backend.stdout.on('end', () => response.end())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/${path.basename(repository)}`,
    authorizations,
    close: () => new Promise((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
}
