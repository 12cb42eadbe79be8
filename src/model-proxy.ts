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

/** The run's limits, counted at the proxy: `max-tokens` (input + output of every response) and `max-model-requests`. */
export interface BudgetLimits {
  maxTokens?: number
  maxModelRequests?: number
}

export type BudgetLimit = 'max-tokens' | 'max-model-requests'

/** The limits and, once the proxy refused a request for one, which. */
export interface Budget extends BudgetLimits {
  exceeded?: BudgetLimit
}

export interface ModelProxy {
  /** What Codex is configured with instead of the real endpoint. */
  url: string
  /** The per-run credential Codex presents; worthless outside this run and this machine. */
  clientToken: string
  usage: Usage
  /** The model the endpoint named in its last completed response. */
  model(): string | undefined
  /** The limits, and the one that made the proxy refuse a request, if any did. */
  budget(): Budget
  /** Resolves when the proxy first refuses a request for the budget. */
  budgetExceeded: Promise<BudgetLimit>
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
// Codex 0.169.0 gives up at once on a 400 and shows its body (measured: one request, exit 1); a 403 or a 5xx it retries
// for seconds, and a 429 with a quota code it replaces with a message of its own.
const BUDGET_STATUS = 400

/** The proxy's HTTP client for the model endpoint: no retries (Codex has its own), and never a redirect, which could carry the key to another host. */
export function endpointClient(socketTimeout: number): HttpClient {
  return new HttpClient('codex-action', [], { allowRetries: false, allowRedirects: false, socketTimeout, keepAlive: true })
}

/** Where `route` (`/responses`, `/models`) of the endpoint is: after the base URL's path, before its query (`/openai/v1?api-version=…` → `/openai/v1/responses?api-version=…`). */
export function endpointUrl(baseUrl: string, route: string): string {
  const target = new URL(baseUrl)
  target.pathname = target.pathname.replace(/\/$/, '') + route
  return target.href
}

/** The key as the endpoint expects it: a bearer token, and Azure's own header on Azure hosts. */
export function endpointHeaders(baseUrl: string, apiKey: string): Record<string, string> {
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` }
  if (new URL(baseUrl).hostname.endsWith('.azure.com')) headers['api-key'] = apiKey
  return headers
}

/**
 * A Responses API proxy on 127.0.0.1 that holds the real key. Codex talks to it with a random
 * per-run token, so the key is never in Codex's environment, its config or anything the agent runs.
 */
export async function startModelProxy(upstream: string, apiKey: string, { maxTokens, maxModelRequests }: BudgetLimits = {}): Promise<ModelProxy> {
  const limits: BudgetLimits = { maxTokens, maxModelRequests }
  const clientToken = `codex-action-${randomBytes(24).toString('hex')}`
  const expected = Buffer.from(`Bearer ${clientToken}`)
  const usage: Usage = { requests: 0, input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0, total_tokens: 0 }
  const client = endpointClient(15 * 60_000)
  const upstreamUrl = new URL(upstream)
  const seen: { model?: string } = {}
  let exceeded: BudgetLimit | undefined
  let reportExceeded: (limit: BudgetLimit) => void = () => {}
  const budgetExceeded = new Promise<BudgetLimit>((resolve) => (reportExceeded = resolve))

  /** The limit a new model request would break: checked before it is sent, so no request starts once a limit is reached. */
  const spent = (): BudgetLimit | undefined => {
    if (limits.maxModelRequests !== undefined && usage.requests >= limits.maxModelRequests) return 'max-model-requests'
    if (limits.maxTokens !== undefined && usage.total_tokens >= limits.maxTokens) return 'max-tokens'
    return undefined
  }

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
    const modelRequest = route.startsWith('/responses')
    if (modelRequest) {
      const limit = spent()
      if (limit) {
        exceeded ??= limit
        reportExceeded(limit)
        return refuse(request, response, BUDGET_STATUS, budgetMessage(limit, limits, usage), 'codex_action_budget_exceeded')
      }
      // Counted before it is sent: requests in flight at once cannot all slip under max-model-requests.
      usage.requests++
    }
    forward(request, response, route).catch((error: Error) => {
      // Never reached the model: it costs nothing.
      if (modelRequest && !response.headersSent) usage.requests--
      if (!response.headersSent) refuse(request, response, 502, `codex-action model proxy: ${upstreamUrl.origin} could not be reached (${error.message})`)
      else response.destroy(error)
    })
  })

  async function forward(request: IncomingMessage, response: ServerResponse, route: string): Promise<void> {
    const headers = endpointHeaders(upstream, apiKey)
    for (const [name, value] of Object.entries(request.headers)) {
      if (FORWARDED_HEADERS.has(name) && typeof value === 'string') headers[name] = value
    }
    const upstreamResponse = await client.request(request.method ?? 'POST', endpointUrl(upstream, route), request.method === 'GET' ? null : request, headers)
    const message = upstreamResponse.message
    const responseHeaders = { ...message.headers }
    delete responseHeaders.connection
    delete responseHeaders['transfer-encoding']
    response.writeHead(message.statusCode ?? 502, responseHeaders)
    response.flushHeaders()
    const counter = new UsageCounter(usage, seen)
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
    model: () => seen.model,
    budget: () => ({ maxTokens: limits.maxTokens, maxModelRequests: limits.maxModelRequests, ...(exceeded ? { exceeded } : {}) }),
    budgetExceeded,
    close: () =>
      new Promise<void>((resolve) => {
        client.dispose()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

function refuse(request: IncomingMessage, response: ServerResponse, status: number, message: string, type = 'codex_action_proxy_error'): void {
  request.resume()
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify({ error: { message, type } }))
}

function budgetMessage(limit: BudgetLimit, limits: BudgetLimits, usage: Usage): string {
  const spent = limit === 'max-tokens' ? `${usage.total_tokens} tokens used, max-tokens is ${limits.maxTokens}` : `${usage.requests} model requests made, max-model-requests is ${limits.maxModelRequests}`
  return `codex-action: the run's budget is spent (${spent}); no further model request is sent.`
}

/** Reads `response.completed` usage from an SSE stream as it passes, keeping at most one line in memory. */
class UsageCounter {
  private line = ''
  private event = ''

  constructor(
    private readonly usage: Usage,
    private readonly seen: { model?: string }
  ) {}

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
        if (typeof event?.response?.model === 'string') this.seen.model = event.response.model
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
