import { HttpClient } from '@actions/http-client'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Token counts, summed over every model response of the run. */
export interface Usage {
  requests: number
  input_tokens: number
  cached_input_tokens: number
  output_tokens: number
  reasoning_output_tokens: number
  total_tokens: number
}

export interface ModelProxy {
  /** What Codex is configured with instead of the real endpoint. */
  url: string
  /** The per-run credential Codex presents; worthless outside this run and this machine. */
  clientToken: string
  usage: Usage
  close(): Promise<void>
}

// Only what Codex needs from a Responses endpoint; anything else the agent might try is refused.
const FORWARDED = [
  { method: 'POST', path: /^\/responses(\/compact)?$/ },
  { method: 'GET', path: /^\/models$/ }
]
const PREFIX = '/v1'
// The request headers a Responses endpoint needs from Codex, as 0.169.0 sends them (measured): the body's type and
// size, the SSE accept, who is calling and the session ids; older versions the action may install sent session_id,
// conversation_id, version and OpenAI-Beta instead. Nothing else passes: with a stolen per-run token the agent could
// otherwise bill another organization or project, override the method, or add cookies and forwarding headers.
// Not accept-encoding either: the usage counter reads the stream as text. The user-agent is the proxy's own.
const FORWARDED_HEADERS = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'accept',
  'originator',
  'version',
  'openai-beta',
  'session-id',
  'session_id',
  'thread-id',
  'conversation_id',
  'x-client-request-id',
  'x-codex-beta-features',
  'x-codex-window-id',
  'x-codex-turn-metadata'
])
const LONGEST_SSE_LINE = 8 * 1024 * 1024

/**
 * A Responses API proxy on 127.0.0.1 that holds the real key. Codex talks to it with a random
 * per-run token, so the key is never in Codex's environment, its config or anything the agent runs.
 */
export async function startModelProxy(upstream: string, apiKey: string): Promise<ModelProxy> {
  const clientToken = `codex-action-${randomBytes(24).toString('hex')}`
  const expected = Buffer.from(`Bearer ${clientToken}`)
  const usage: Usage = { requests: 0, input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0, total_tokens: 0 }
  const client = new HttpClient('codex-action', [], { allowRetries: false, socketTimeout: 15 * 60_000, keepAlive: true })
  const upstreamUrl = new URL(upstream)

  const server: Server = createServer((request, response) => {
    const presented = Buffer.from(request.headers.authorization ?? '')
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      return refuse(request, response, 401, 'codex-action model proxy: missing or wrong per-run token')
    }
    const url = new URL(request.url ?? '/', 'http://proxy')
    const route = url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) : ''
    if (!FORWARDED.some((f) => f.method === request.method && f.path.test(route))) {
      return refuse(request, response, 404, `codex-action model proxy: ${request.method} ${url.pathname} is not a model endpoint`)
    }
    forward(request, response, route).catch((error: Error) => {
      if (!response.headersSent) refuse(request, response, 502, `codex-action model proxy: ${upstreamUrl.origin} could not be reached (${error.message})`)
      else response.destroy(error)
    })
  })

  async function forward(request: IncomingMessage, response: ServerResponse, route: string): Promise<void> {
    // The route goes after the base URL's path, before its query (`/openai/v1?api-version=…` → `/openai/v1/responses?api-version=…`).
    const target = new URL(upstreamUrl.href)
    target.pathname = target.pathname.replace(/\/$/, '') + route
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` }
    if (upstreamUrl.hostname.endsWith('.azure.com')) headers['api-key'] = apiKey
    for (const [name, value] of Object.entries(request.headers)) {
      if (FORWARDED_HEADERS.has(name) && typeof value === 'string') headers[name] = value
    }
    const upstreamResponse = await client.request(request.method ?? 'POST', target.href, request.method === 'GET' ? null : request, headers)
    const message = upstreamResponse.message
    if (route.startsWith('/responses')) usage.requests++
    const responseHeaders = { ...message.headers }
    delete responseHeaders.connection
    delete responseHeaders['transfer-encoding']
    response.writeHead(message.statusCode ?? 502, responseHeaders)
    response.flushHeaders()
    const counter = new UsageCounter(usage)
    message.on('data', (chunk: Buffer) => {
      counter.feed(chunk)
      response.write(chunk)
    })
    message.on('end', () => response.end())
    message.on('error', (error) => response.destroy(error))
    response.on('close', () => message.destroy())
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}${PREFIX}`,
    clientToken,
    usage,
    close: () =>
      new Promise<void>((resolve) => {
        client.dispose()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

function refuse(request: IncomingMessage, response: ServerResponse, status: number, message: string): void {
  request.resume()
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify({ error: { message, type: 'codex_action_proxy_error' } }))
}

/** Reads `response.completed` usage from an SSE stream as it passes, keeping at most one line in memory. */
class UsageCounter {
  private line = ''
  private event = ''

  constructor(private readonly usage: Usage) {}

  feed(chunk: Buffer): void {
    const text = this.line + chunk.toString()
    const lines = text.split('\n')
    this.line = lines.pop() ?? ''
    if (this.line.length > LONGEST_SSE_LINE) this.line = ''
    for (const line of lines) {
      if (line.startsWith('event:')) this.event = line.slice(6).trim()
      if (!line.startsWith('data:') || (this.event !== 'response.completed' && !line.includes('"response.completed"'))) continue
      try {
        const event = JSON.parse(line.slice(5))
        const counts = event?.response?.usage
        if (!counts) continue
        this.usage.input_tokens += counts.input_tokens ?? 0
        this.usage.cached_input_tokens += counts.input_tokens_details?.cached_tokens ?? 0
        this.usage.output_tokens += counts.output_tokens ?? 0
        this.usage.reasoning_output_tokens += counts.output_tokens_details?.reasoning_tokens ?? 0
        this.usage.total_tokens += counts.total_tokens ?? (counts.input_tokens ?? 0) + (counts.output_tokens ?? 0)
      } catch {
        // A line that is not JSON carries no usage.
      }
    }
  }
}
