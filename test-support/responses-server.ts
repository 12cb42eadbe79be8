/**
 * A scripted stand-in for the OpenAI Responses API (`POST <base>/v1/responses`, SSE streaming),
 * for driving the real Codex CLI (`codex exec`) in end-to-end tests through a custom provider:
 *
 *   [model_providers.scripted]
 *   base_url = "<server.url>"   # http://127.0.0.1:<port>/v1
 *   env_key = "SCRIPTED_API_KEY"
 *   wire_api = "responses"
 *
 * Node built-in `http` only; listens on 127.0.0.1 on a random port.
 *
 * Protocol facts measured with codex-cli 0.169.0 (linux x64) through responses-server.test.ts and
 * probes, beyond /work/shared/notes/codex-cli.md:
 * - Codex reads the event type from the `type` field inside each SSE `data:` JSON, so every frame
 *   here carries `"type": "<event>"` in its data as well as the `event:` line.
 * - Only `POST <base_url>/responses` ever reached the server (no /models, no WebSocket upgrade, no
 *   /responses/compact in short runs). Bodies are plain JSON (no content-encoding) with keys model,
 *   stream:true, input, tools, tool_choice, parallel_tool_calls, reasoning, store:false, include,
 *   prompt_cache_key, text, client_metadata. Headers include authorization, accept:
 *   text/event-stream, originator: codex_exec, user-agent codex_exec/0.169.0, session-id,
 *   thread-id, x-client-request-id, x-codex-window-id, x-codex-beta-features, and
 *   x-codex-turn-metadata (JSON: installation_id, turn_id, sandbox_mode, model, ...).
 * - shell + patch + message = exactly three requests. The 2nd request's input carries the model's
 *   function_call item back plus a `function_call_output` whose `output` is a plain string like
 *   "Chunk ID: …
Wall time: …
Process exited with code 0
Original token count: 2
Output:
hello
";
 *   the 3rd adds `custom_tool_call_output` "Exit code: 0
…Success. Updated the following files:
A x.txt
".
 *   Codex gives these input items its own ids (fco_…, ctco_…).
 * - A completed response with no output items ends the turn successfully (turn.completed, no
 *   agent_message). Items without `id` are accepted; this server fills in unique ids anyway.
 * - HTTP errors (request_max_retries = 0: exactly one request, exit 1, `error` + `turn.failed` events):
 *   500 -> message is always "We’re currently experiencing high demand, which may cause temporary
 *          errors." whatever the body says (the body's message never appears);
 *   503 -> "unexpected status 503 Service Unavailable: <error.message>, url: <url>";
 *   401 -> "unexpected status 401 Unauthorized: <error.message>, url: <url>";
 *   400 -> the raw body JSON text;
 *   429 -> "exceeded retry limit, last status: 429 Too Many Requests". 429 is NOT retried by
 *          request_max_retries (one request even with 3); it is retried by stream_max_retries
 *          ("Reconnecting... 1/3 (…429…)"), and a 500 IS retried by request_max_retries, silently.
 * - A cut stream (items, then connection dropped, stream_max_retries = 0): the items already done
 *   are surfaced (agent_message), then "stream disconnected before completion: Transport error:
 *   network error: error decoding response body", turn.failed, exit 1.
 * - A stall with stream_idle_timeout_ms = 1000: "stream disconnected before completion: idle
 *   timeout waiting for SSE", exit 1 after about 1.5 s.
 * - stderr always has "Reading additional input from stdin..." (even with stdin = /dev/null) and,
 *   when CODEX_HOME is under /tmp, "WARNING: proceeding, even though we could not create PATH
 *   aliases: Refusing to create helper binaries under temporary dir". Neither is an error.
 *
 * Beside Codex's requests, the server answers the action's preflight check, which Codex never sends:
 * - `GET …/models` (a listing): recorded in `listings`, not in `requests`; scripted with `models`.
 * - A probe: a POST to a `/responses` path whose JSON body has neither `input` nor `model` (the
 *   action sends `{}` when the listing was refused, to tell a wrong key from a key that may not list
 *   models). It is answered as OpenAI does: 401 for a wrong key, else 400 `missing_required_parameter`
 *   (or the `probe` answer a test scripts); recorded in `probes`, not in `requests`; it consumes no
 *   step. Codex's requests always carry both `model` and `input`.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import * as zlib from 'node:zlib'

export type OutputItem = Record<string, unknown>

export interface Usage {
  input_tokens: number
  output_tokens: number
  total_tokens?: number
}

export type Step =
  /** `delayMs`: `response.completed` comes that much after the items, as from a model that takes its time. */
  | { output: OutputItem[]; usage?: Usage; delayMs?: number }
  /** HTTP error answer, e.g. 500, or 429 with `headers: {'retry-after': '1'}`. */
  | { status: number; body?: unknown; headers?: Record<string, string> }
  /** Send headers and a `response.created` frame, then never finish; ended by close(). */
  | { stall: true }
  /** Send the items, then drop the connection without `response.completed`. */
  | { cut: true; output?: OutputItem[] }

export type Script = Step[] | ((request: RecordedRequest, index: number) => Step)

/** An answer to `GET <base>/models`: the list of these model ids, or an HTTP error. */
export type ModelsStep = { ids: string[] } | { status: number; body?: unknown; headers?: Record<string, string> }

/** What `GET <base>/models` lists unless a test says otherwise. */
export const LISTED_MODELS = ['gpt-5.5', 'gpt-5.4', 'gpt-5.4-mini', 'gpt-5']

export interface RecordedRequest {
  /** Position of this request in `ResponsesServer.requests` (every request, any path). */
  index: number
  method: string
  /** Path including any query string, as sent. */
  path: string
  headers: Record<string, string | string[] | undefined>
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: any
  /** Text of every function_call_output / custom_tool_call_output item in body.input. */
  toolOutputs: string[]
}

export interface ResponsesServer {
  /** 'http://127.0.0.1:<port>/v1' */
  url: string
  /** Every request but the model listings and the probes. */
  requests: RecordedRequest[]
  /** Every `GET …/models` (the action's preflight check), wrong key or not. */
  listings: RecordedRequest[]
  /** Every probe (a POST to a `/responses` path with neither `input` nor `model`), wrong key or not. */
  probes: RecordedRequest[]
  close(): Promise<void>
}

export interface ResponsesServerOptions {
  /**
   * An array: the n-th accepted POST to a path ending in `/responses` gets step n (0-based).
   * A function: called with the recorded request and that same 0-based counter.
   * Requests rejected for a wrong key (401) and probes do not consume a step.
   */
  script: Script
  /** When set, requests whose Authorization is not `Bearer <apiKey>` get 401. */
  apiKey?: string
  /** Answer once an array script is exhausted. Default: a final `message('done')`. */
  afterScript?: Step
  /** The n-th `GET …/models` with the right key gets step n, the last one repeating. Default: `{ ids: LISTED_MODELS }`. A wrong key gets 401 and consumes no step. */
  models?: ModelsStep[]
  /** What a probe with the right key gets. Default: 400 `missing_required_parameter` (the key was accepted). A wrong key gets 401. */
  probe?: { status: number; body?: unknown }
}

let idCounter = 0
function nextId(prefix: string): string {
  idCounter += 1
  return `${prefix}_${process.pid.toString(36)}${idCounter.toString().padStart(6, '0')}`
}

/** A `function_call` of Codex's `exec_command` tool. */
export function shell(cmd: string, callId?: string): OutputItem {
  return {
    type: 'function_call',
    id: nextId('fc'),
    name: 'exec_command',
    call_id: callId ?? nextId('call'),
    arguments: JSON.stringify({ cmd })
  }
}

/** A `custom_tool_call` of Codex's `apply_patch` tool (freeform `*** Begin Patch` text). */
export function applyPatch(patch: string, callId?: string): OutputItem {
  return {
    type: 'custom_tool_call',
    id: nextId('ctc'),
    name: 'apply_patch',
    call_id: callId ?? nextId('call'),
    input: patch
  }
}

/** A final assistant message. */
export function message(text: string, id?: string): OutputItem {
  return {
    type: 'message',
    role: 'assistant',
    id: id ?? nextId('msg'),
    status: 'completed',
    content: [{ type: 'output_text', text, annotations: [] }]
  }
}

const DEFAULT_USAGE: Usage = { input_tokens: 10, output_tokens: 5 }

function errorBody(status: number): unknown {
  if (status === 401) {
    return { error: { message: 'Incorrect API key provided (scripted server).', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }
  }
  if (status === 429) {
    return { error: { message: 'Rate limit reached (scripted server).', type: 'requests', param: null, code: 'rate_limit_exceeded' } }
  }
  if (status >= 500) {
    return { error: { message: 'scripted server error', type: 'server_error', param: null, code: null } }
  }
  return { error: { message: `scripted error ${status}`, type: 'invalid_request_error', param: null, code: null } }
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value
  if (Array.isArray(value)) {
    return value
      .map((part) => {
        if (typeof part === 'string') return part
        if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
          return (part as { text: string }).text
        }
        return ''
      })
      .join('')
  }
  if (value && typeof value === 'object' && 'content' in value) {
    return textOf((value as { content: unknown }).content)
  }
  return value === undefined || value === null ? '' : JSON.stringify(value)
}

function toolOutputsOf(body: unknown): string[] {
  const input = (body as { input?: unknown } | undefined)?.input
  if (!Array.isArray(input)) return []
  const out: string[] = []
  for (const item of input) {
    if (!item || typeof item !== 'object') continue
    const type = (item as { type?: unknown }).type
    if (type === 'function_call_output' || type === 'custom_tool_call_output') {
      out.push(textOf((item as { output?: unknown }).output))
    }
  }
  return out
}

function decodeBody(raw: Buffer, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(raw)
    case 'deflate':
      return zlib.inflateSync(raw)
    case 'br':
      return zlib.brotliDecompressSync(raw)
    case 'zstd': {
      const zstd = (zlib as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync
      if (zstd) return zstd(raw)
      return raw
    }
    default:
      return raw
  }
}

function parseBody(raw: Buffer, encoding: string | undefined): any {
  if (raw.length === 0) return undefined
  let text: string
  try {
    text = decodeBody(raw, encoding).toString('utf8')
  } catch {
    text = raw.toString('utf8')
  }
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  const lower = Object.keys(headers).map((h) => h.toLowerCase())
  const all: Record<string, string> = { ...headers }
  if (!lower.includes('content-type')) all['content-type'] = 'application/json'
  all['content-length'] = String(Buffer.byteLength(text))
  res.writeHead(status, all)
  res.end(text)
}

class Sse {
  private seq = 0
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': nextId('req')
    })
    // Send the headers now, not with the first frame (matters for stall steps).
    res.flushHeaders()
  }

  send(type: string, data: Record<string, unknown>): void {
    const payload = { type, sequence_number: this.seq++, ...data }
    this.res.write(`event: ${type}\ndata: ${JSON.stringify(payload)}\n\n`)
  }
}

interface ResponseMeta {
  id: string
  model: unknown
  createdAt: number
}

function responseObject(meta: ResponseMeta, status: string, output: OutputItem[], usage?: Record<string, unknown>): Record<string, unknown> {
  const obj: Record<string, unknown> = {
    id: meta.id,
    object: 'response',
    created_at: meta.createdAt,
    status,
    model: meta.model ?? 'scripted',
    output
  }
  if (usage) obj.usage = usage
  return obj
}

function withIds(items: OutputItem[]): OutputItem[] {
  return items.map((item) => (typeof item.id === 'string' && item.id ? item : { ...item, id: nextId('item') }))
}

function streamItems(sse: Sse, items: OutputItem[]): void {
  items.forEach((item, outputIndex) => {
    sse.send('response.output_item.added', { output_index: outputIndex, item })
    sse.send('response.output_item.done', { output_index: outputIndex, item })
  })
}

function usageObject(usage: Usage | undefined): Record<string, unknown> {
  const u = usage ?? DEFAULT_USAGE
  return {
    input_tokens: u.input_tokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: u.output_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.total_tokens ?? u.input_tokens + u.output_tokens
  }
}

function isResponsesPath(path: string): boolean {
  const pathname = path.split('?')[0] ?? ''
  return pathname.replace(/\/+$/, '').endsWith('/responses')
}

/** OpenAI's answer to a Responses request without a model, once the key is accepted. */
const MISSING_MODEL = { error: { message: "Missing required parameter: 'model'.", type: 'invalid_request_error', param: 'model', code: 'missing_required_parameter' } }

function isProbe(method: string | undefined, path: string, body: unknown): boolean {
  return method === 'POST' && isResponsesPath(path) && !!body && typeof body === 'object' && !Array.isArray(body) && !('input' in body) && !('model' in body)
}

export function startResponsesServer(options: ResponsesServerOptions): Promise<ResponsesServer> {
  const requests: RecordedRequest[] = []
  const listings: RecordedRequest[] = []
  const probes: RecordedRequest[] = []
  let listingCounter = 0
  const sockets = new Set<Socket>()
  // The default is built per use, so each answer's message gets a fresh id.
  const afterScript = (): Step => options.afterScript ?? { output: [message('done')] }
  let stepCounter = 0
  let closing = false

  const nextStep = (record: RecordedRequest): Step => {
    const n = stepCounter++
    if (typeof options.script === 'function') return options.script(record, n)
    return n < options.script.length ? (options.script[n] as Step) : afterScript()
  }

  const answer = (res: ServerResponse, step: Step, model: unknown): void => {
    if ('status' in step) {
      sendJson(res, step.status, step.body === undefined ? errorBody(step.status) : step.body, step.headers)
      return
    }
    const meta: ResponseMeta = { id: nextId('resp'), model, createdAt: Math.floor(Date.now() / 1000) }
    const sse = new Sse(res)
    sse.send('response.created', { response: responseObject(meta, 'in_progress', []) })
    if ('stall' in step) {
      // Never finish; close() destroys the socket.
      return
    }
    if ('cut' in step) {
      const items = withIds(step.output ?? [])
      sse.send('response.in_progress', { response: responseObject(meta, 'in_progress', []) })
      streamItems(sse, items)
      // Let the written frames flush, then drop the connection mid-stream (no terminating chunk).
      setImmediate(() => res.socket?.destroy())
      return
    }
    const items = withIds(step.output)
    sse.send('response.in_progress', { response: responseObject(meta, 'in_progress', []) })
    streamItems(sse, items)
    const complete = (): void => {
      sse.send('response.completed', { response: responseObject(meta, 'completed', items, usageObject(step.usage)) })
      res.end()
    }
    if (step.delayMs) setTimeout(complete, step.delayMs)
    else complete()
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readAll(req)
    const body = parseBody(raw, req.headers['content-encoding'] as string | undefined)
    const path = req.url ?? '/'
    const listing = req.method === 'GET' && (path.split('?')[0] ?? '').replace(/\/+$/, '').endsWith('/models')
    const probe = isProbe(req.method, path, body)
    const record: RecordedRequest = {
      index: listing ? listings.length : probe ? probes.length : requests.length,
      method: req.method ?? 'GET',
      path,
      headers: { ...req.headers },
      body,
      toolOutputs: toolOutputsOf(body)
    }
    if (listing) {
      listings.push(record)
      if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) return sendJson(res, 401, errorBody(401))
      const steps = options.models ?? [{ ids: LISTED_MODELS }]
      const step = steps[Math.min(listingCounter++, steps.length - 1)] as ModelsStep
      if ('status' in step) return sendJson(res, step.status, step.body === undefined ? errorBody(step.status) : step.body, step.headers)
      return sendJson(res, 200, { object: 'list', data: step.ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'scripted' })) })
    }
    if (probe) {
      probes.push(record)
      if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) return sendJson(res, 401, errorBody(401))
      const reply = options.probe ?? { status: 400, body: MISSING_MODEL }
      return sendJson(res, reply.status, reply.body === undefined ? errorBody(reply.status) : reply.body)
    }
    requests.push(record)

    if (req.method !== 'POST' || !isResponsesPath(path)) {
      sendJson(res, 404, { error: { message: `Unknown path ${req.method} ${path} (scripted server)`, type: 'invalid_request_error', param: null, code: 'not_found' } })
      return
    }
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      sendJson(res, 401, errorBody(401))
      return
    }
    let step: Step
    try {
      step = nextStep(record)
    } catch (err) {
      sendJson(res, 500, { error: { message: `scripted server: script threw: ${String(err)}`, type: 'server_error', param: null, code: null } })
      return
    }
    answer(res, step, (body as { model?: unknown } | undefined)?.model)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: `scripted server: ${String(err)}`, type: 'server_error', param: null, code: null } })
      else res.destroy()
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    if (closing) socket.destroy()
  })
  // Ignore client-side socket errors (e.g. Codex hanging up on a stalled stream).
  server.on('clientError', (_err, socket) => socket.destroy())
  // An Upgrade request (e.g. a WebSocket attempt at .../responses) bypasses the 'request' event:
  // record it too, so a test can see that it happened, and refuse it.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    requests.push({
      index: requests.length,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: { ...req.headers },
      body: undefined,
      toolOutputs: []
    })
    const text = JSON.stringify({ error: { message: 'Upgrade not supported (scripted server)', type: 'invalid_request_error', param: null, code: 'not_found' } })
    socket.end(`HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`)
  })

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}/v1`,
        requests,
        listings,
        probes,
        close: () =>
          new Promise<void>((done) => {
            closing = true
            server.close(() => done())
            server.closeAllConnections()
            for (const s of sockets) s.destroy()
          })
      })
    })
  })
}
