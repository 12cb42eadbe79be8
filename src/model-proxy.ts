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
  /** A successful model response ended without saying its usage, so max-tokens could no longer be kept. */
  uncounted?: true
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
const HANG_UP_GRACE_MS = 60_000
// The events that end a model response's stream and carry its usage: every one of them is billed.
const LAST_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed'])
const LAST_EVENT_NAMED = /"response\.(completed|incomplete|failed)"/
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
    if (limits.maxTokens !== undefined && (usage.total_tokens >= limits.maxTokens || uncounted)) return 'max-tokens'
    return undefined
  }
  // A model response that ended without saying what it used (a non-streamed one without usage, a stream cut before its
  // last event): its tokens are billed but unknown, so max-tokens can no longer be kept and no further request starts.
  let uncounted = false
  // With max-tokens, model requests go one at a time: usage is known only when a response ends, so requests sent at
  // once would all start under the limit.
  let turn: Promise<void> = Promise.resolve()

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
    if (!route.startsWith('/responses')) return void relay(request, response, route, false)
    if (limits.maxTokens === undefined) return void sendModelRequest(request, response, route)
    const previous = turn
    turn = previous.then(() => (request.destroyed ? undefined : sendModelRequest(request, response, route)))
  })

  async function sendModelRequest(request: IncomingMessage, response: ServerResponse, route: string): Promise<void> {
    const limit = spent()
    if (limit) {
      exceeded ??= limit
      reportExceeded(limit)
      return refuse(request, response, BUDGET_STATUS, budgetMessage(limit, limits, usage, uncounted), 'codex_action_budget_exceeded')
    }
    // Counted before it is sent: requests in flight at once cannot all slip under max-model-requests.
    usage.requests++
    await relay(request, response, route, true)
  }

  /** Forwards one request; resolves once the endpoint's answer has ended. */
  async function relay(request: IncomingMessage, response: ServerResponse, route: string, modelRequest: boolean): Promise<void> {
    try {
      const counted = await forward(request, response, route)
      if (modelRequest && !counted) uncounted = true
    } catch (error) {
      // Never reached the model: it costs nothing.
      if (modelRequest && !response.headersSent) usage.requests--
      if (!response.headersSent) refuse(request, response, 502, `codex-action model proxy: ${upstreamUrl.origin} could not be reached (${(error as Error).message})`)
      else response.destroy(error as Error)
    }
  }

  /** Sends the request on and its answer back; resolves when the answer has ended, with whether its usage is known (always, for an error status). */
  async function forward(request: IncomingMessage, response: ServerResponse, route: string): Promise<boolean> {
    const headers = endpointHeaders(upstream, apiKey)
    for (const [name, value] of Object.entries(request.headers)) {
      if (FORWARDED_HEADERS.has(name) && typeof value === 'string') headers[name] = value
    }
    const upstreamResponse = await client.request(request.method ?? 'POST', endpointUrl(upstream, route), request.method === 'GET' ? null : request, headers)
    const message = upstreamResponse.message
    const responseHeaders = { ...message.headers }
    delete responseHeaders.connection
    delete responseHeaders['transfer-encoding']
    const status = message.statusCode ?? 502
    response.writeHead(status, responseHeaders)
    response.flushHeaders()
    const counter = new UsageCounter(usage, seen, !String(message.headers['content-type']).includes('text/event-stream'))
    // A client that hangs up does not stop the reading: the endpoint bills the response whole, so it is counted whole.
    // Up to a point: an answer that stalls is dropped HANG_UP_GRACE_MS later, uncounted, so it cannot hold the turn.
    message.on('data', (chunk: Buffer) => {
      counter.feed(chunk)
      if (!response.destroyed) response.write(chunk)
    })
    response.on('close', () => {
      if (!message.complete) setTimeout(() => message.destroy(), HANG_UP_GRACE_MS).unref()
    })
    return new Promise<boolean>((resolve) => {
      message.on('end', () => {
        counter.end()
        response.end()
      })
      message.on('error', (error) => response.destroy(error))
      message.on('close', () => {
        if (!message.complete) response.destroy()
        resolve(status < 200 || status >= 300 || counter.counted)
      })
    })
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
    budget: () => ({ maxTokens: limits.maxTokens, maxModelRequests: limits.maxModelRequests, ...(exceeded ? { exceeded } : {}), ...(uncounted ? { uncounted: true as const } : {}) }),
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

function budgetMessage(limit: BudgetLimit, limits: BudgetLimits, usage: Usage, uncounted: boolean): string {
  const tokens = `${usage.total_tokens} tokens used${uncounted ? ' and a response whose usage the endpoint did not say' : ''}, max-tokens is ${limits.maxTokens}`
  const spent = limit === 'max-tokens' ? tokens : `${usage.requests} model requests made, max-model-requests is ${limits.maxModelRequests}`
  return `codex-action: the run's budget is spent (${spent}); no further model request is sent.`
}

/**
 * Reads a model response's usage as it passes: from the last event of an SSE stream (completed, incomplete or failed,
 * keeping at most one line in memory), or from a JSON body (`stream: false`, `/responses/compact`) of at most
 * LONGEST_SSE_LINE. `counted` says whether the response said what it used.
 */
class UsageCounter {
  private line = ''
  private event = ''
  private body = ''
  counted = false

  constructor(
    private readonly usage: Usage,
    private readonly seen: { model?: string },
    private readonly json: boolean
  ) {}

  feed(chunk: Buffer): void {
    if (this.json) {
      if (this.body.length <= LONGEST_SSE_LINE) this.body += chunk.toString()
      return
    }
    const text = this.line + chunk.toString()
    const lines = text.split('\n')
    this.line = lines.pop() ?? ''
    if (this.line.length > LONGEST_SSE_LINE) this.line = ''
    for (const line of lines) {
      if (line.startsWith('event:')) this.event = line.slice(6).trim()
      if (!line.startsWith('data:') || (!LAST_EVENTS.has(this.event) && !LAST_EVENT_NAMED.test(line))) continue
      try {
        const event = JSON.parse(line.slice(5))
        if (LAST_EVENTS.has(event?.type ?? this.event)) this.add(event?.response)
      } catch {
        // A line that is not JSON carries no usage.
      }
    }
  }

  end(): void {
    if (!this.json || this.body.length > LONGEST_SSE_LINE) return
    try {
      const answer = JSON.parse(this.body)
      if (answer?.usage) this.add(answer)
    } catch {
      // Not JSON: no usage.
    }
  }

  private add(response: { model?: unknown; usage?: Record<string, any> } | undefined): void {
    if (typeof response?.model === 'string') this.seen.model = response.model
    // A failed response may say nothing of usage; the endpoint said how it ended, which is all Codex gets either.
    this.counted = true
    const counts = response?.usage
    if (!counts) return
    this.usage.input_tokens += counts.input_tokens ?? 0
    this.usage.cached_input_tokens += counts.input_tokens_details?.cached_tokens ?? 0
    this.usage.output_tokens += counts.output_tokens ?? 0
    this.usage.reasoning_output_tokens += counts.output_tokens_details?.reasoning_tokens ?? 0
    this.usage.total_tokens += counts.total_tokens ?? (counts.input_tokens ?? 0) + (counts.output_tokens ?? 0)
  }
}
