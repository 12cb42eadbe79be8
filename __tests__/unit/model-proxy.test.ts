import { randomBytes } from 'node:crypto'
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startModelProxy, type BudgetLimits, type ModelProxy } from '../../src/model-proxy.js'

const API_KEY = `sk-proj-${randomBytes(24).toString('hex')}`
const FRAME_GAP_MS = 200

interface Seen {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

interface Upstream {
  url: string
  port: number
  seen: Seen[]
  /** When the upstream finished writing its last response. */
  endedAt: number[]
  close(): Promise<void>
}

const usageOf = (input: number, cached: number, output: number, reasoning: number) => ({
  input_tokens: input,
  input_tokens_details: { cached_tokens: cached },
  output_tokens: output,
  output_tokens_details: { reasoning_tokens: reasoning },
  total_tokens: input + output
})

function frame(type: string, data: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...(data as object) })}\n\n`
}

/**
 * A stand-in model endpoint on 127.0.0.1 that records what reached it and answers /responses with
 * three SSE frames, FRAME_GAP_MS apart; the last carries usage. `plan` can change the answer.
 */
async function startUpstream(plan: (seen: Seen, index: number) => 'stream' | { status: number; headers?: Record<string, string>; body: string } = () => 'stream'): Promise<Upstream> {
  const seen: Seen[] = []
  const endedAt: number[] = []
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const record: Seen = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString() }
      seen.push(record)
      const answer = plan(record, seen.length - 1)
      if (answer !== 'stream') {
        response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
        response.end(answer.body, () => endedAt.push(Date.now()))
        return
      }
      const n = seen.length
      response.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-number': String(n) })
      const frames = [
        frame('response.created', { response: { id: `resp_${n}` } }),
        frame('response.output_item.done', { item: { type: 'message', role: 'assistant', id: `m${n}`, content: [{ type: 'output_text', text: 'héllo ✓' }] } }),
        frame('response.completed', { response: { id: `resp_${n}`, output: [{ type: 'message', content: [{ type: 'output_text', text: 'héllo ✓' }] }], usage: usageOf(100 * n, 10 * n, 7 * n, 3 * n) } })
      ]
      let i = 0
      const next = (): void => {
        if (response.destroyed) return
        const text = frames[i++]
        if (i < frames.length) {
          response.write(text)
          setTimeout(next, FRAME_GAP_MS)
        } else {
          // The usage frame in two writes, split inside a multi-byte character of its JSON, as a network might deliver it.
          const bytes = Buffer.from(text)
          const cut = bytes.indexOf(Buffer.from('✓')) + 1
          response.write(bytes.subarray(0, cut))
          setTimeout(() => response.end(bytes.subarray(cut), () => endedAt.push(Date.now())), 20)
        }
      }
      next()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    seen,
    endedAt,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
  /** Arrival time of each body chunk. */
  chunkTimes: number[]
  chunks: string[]
}

/** A raw request to the proxy: the path goes out exactly as written (no URL normalisation). */
function call(proxy: ModelProxy, options: { method?: string; path?: string; token?: string | null; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const url = new URL(proxy.url)
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers }
  const token = options.token === undefined ? proxy.clientToken : options.token
  if (token !== null) headers.authorization = `Bearer ${token}`
  const body = options.body ?? (options.method === 'GET' ? undefined : '{"model":"gpt-5.5","input":[],"stream":true}')
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
  return new Promise((resolve, reject) => {
    // A connection per request, so one refused request cannot affect the next.
    const request = httpRequest({ host: url.hostname, port: url.port, method: options.method ?? 'POST', path: options.path ?? '/v1/responses', headers, agent: false }, (response) => {
      const chunks: string[] = []
      const chunkTimes: number[] = []
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        chunks.push(chunk)
        chunkTimes.push(Date.now())
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: chunks.join(''), chunkTimes, chunks }))
      response.on('error', reject)
    })
    request.on('error', reject)
    request.end(body)
  })
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function world(plan?: Parameters<typeof startUpstream>[0], base?: (upstream: Upstream) => string, limits?: BudgetLimits): Promise<{ upstream: Upstream; proxy: ModelProxy }> {
  const upstream = await startUpstream(plan)
  cleanups.push(upstream.close)
  const proxy = await startModelProxy(base ? base(upstream) : upstream.url, API_KEY, limits)
  cleanups.push(proxy.close)
  return { upstream, proxy }
}

describe('startModelProxy', () => {
  it('listens on 127.0.0.1 under /v1 with a fresh random token each time', async () => {
    const { proxy } = await world()
    const other = await startModelProxy('http://127.0.0.1:9/v1', API_KEY)
    cleanups.push(other.close)
    expect(proxy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/)
    expect(proxy.clientToken).toMatch(/^codex-action-[0-9a-f]{48}$/)
    expect(other.clientToken).not.toBe(proxy.clientToken)
    expect(proxy.clientToken).not.toContain(API_KEY)
  })

  it('refuses requests without the per-run token, or with a wrong one, before they reach upstream', async () => {
    const { upstream, proxy } = await world()
    const wrongSameLength = proxy.clientToken.slice(0, -1) + (proxy.clientToken.endsWith('0') ? '1' : '0')
    for (const token of [null, '', 'nope', wrongSameLength, API_KEY, `${proxy.clientToken}x`, proxy.clientToken.toUpperCase()]) {
      const answer = await call(proxy, { token })
      expect(answer.status, String(token)).toBe(401)
      expect(JSON.parse(answer.body).error.message).toContain('missing or wrong per-run token')
    }
    // The token in another header, or with another scheme, is not accepted either.
    expect((await call(proxy, { token: null, headers: { 'x-api-key': proxy.clientToken } })).status).toBe(401)
    expect((await call(proxy, { token: null, headers: { authorization: `Basic ${proxy.clientToken}` } })).status).toBe(401)
    expect((await call(proxy, { token: null, headers: { authorization: proxy.clientToken } })).status).toBe(401)
    expect(upstream.seen).toEqual([])
    expect(proxy.usage.requests).toBe(0)
  })

  it('forwards POST /v1/responses to <upstream>/responses with the real key and never the client token', async () => {
    const { upstream, proxy } = await world()
    const body = JSON.stringify({ model: 'gpt-5.5', input: [{ role: 'user', content: 'héllo ✓' }], stream: true })
    const answer = await call(proxy, { body, headers: { 'session_id': 'abc', originator: 'codex_exec', accept: 'text/event-stream' } })
    expect(answer.status).toBe(200)
    expect(answer.headers['content-type']).toBe('text/event-stream')
    expect(answer.headers['x-request-number']).toBe('1')
    expect(upstream.seen).toHaveLength(1)
    const [seen] = upstream.seen
    expect(seen.method).toBe('POST')
    expect(seen.url).toBe('/v1/responses')
    expect(seen.headers.authorization).toBe(`Bearer ${API_KEY}`)
    expect(seen.headers.host).toBe(`127.0.0.1:${upstream.port}`)
    expect(seen.headers.session_id).toBe('abc')
    expect(seen.headers.originator).toBe('codex_exec')
    expect(seen.headers['content-type']).toBe('application/json')
    expect(seen.headers['api-key']).toBeUndefined()
    expect(JSON.stringify(seen.headers)).not.toContain(proxy.clientToken)
    expect(seen.body).toBe(body)
    expect(answer.body).toContain('event: response.created')
    expect(answer.body).toContain('héllo ✓')
    expect(answer.body).toContain('event: response.completed')
  })

  it("forwards Codex's own headers and drops every other one, the organization, project and method override included", async () => {
    const { upstream, proxy } = await world()
    // What Codex 0.169.0 sends to /responses, as measured, besides authorization.
    const codex = {
      accept: 'text/event-stream',
      originator: 'codex_exec',
      'session-id': '01a2325d-c135-7971-aef0-198d79b23e08',
      'thread-id': '01a2325d-c135-7971-aef0-198d79b23e08',
      'x-client-request-id': '01a2325d-c135-7971-aef0-198d79b23e08',
      'x-codex-beta-features': 'remote_compaction_v2',
      'x-codex-window-id': '01a2325d-c135-7971-aef0-198d79b23e08:0',
      'x-codex-turn-metadata': '{"turn_id":"t1","sandbox":"none"}'
    }
    const agent = {
      'OpenAI-Organization': 'org-someone-else',
      'OpenAI-Project': 'proj_someone_else',
      'X-HTTP-Method-Override': 'DELETE',
      Cookie: 'session=agent',
      'X-Forwarded-For': '203.0.113.7',
      'X-Forwarded-Host': 'evil.example',
      'Proxy-Authorization': 'Basic YWdlbnQ=',
      'Api-Key': 'agent-key',
      'Accept-Encoding': 'gzip, br',
      'X-Stainless-Arch': 'x64',
      'Chatgpt-Account-Id': 'acct'
    }
    const answer = await call(proxy, { headers: { ...codex, ...agent } })
    expect(answer.status).toBe(200)
    const [seen] = upstream.seen
    for (const [name, value] of Object.entries(codex)) expect(seen.headers[name], name).toBe(value)
    for (const name of Object.keys(agent)) expect(seen.headers[name.toLowerCase()], name).toBeUndefined()
    expect(seen.headers.authorization).toBe(`Bearer ${API_KEY}`)
    expect(Object.keys(seen.headers).sort()).toEqual(
      ['authorization', 'connection', 'content-length', 'content-type', 'host', 'user-agent', ...Object.keys(codex)].sort()
    )
  })

  it('streams: the first SSE frame reaches the client before the upstream has finished', async () => {
    const { upstream, proxy } = await world()
    const answer = await call(proxy)
    expect(answer.status).toBe(200)
    const [endedAt] = upstream.endedAt
    const first = answer.chunkTimes[0]
    const last = answer.chunkTimes.at(-1) as number
    expect(answer.chunks[0]).toContain('event: response.created')
    // The upstream takes two frame gaps to finish; buffering would deliver everything at its end.
    expect(endedAt - first).toBeGreaterThanOrEqual(FRAME_GAP_MS * 2 - 100)
    expect(last - first).toBeGreaterThanOrEqual(FRAME_GAP_MS * 2 - 100)
    expect(answer.chunkTimes.length).toBeGreaterThanOrEqual(3)
  })

  it('forwards GET /v1/models, and refuses every other path or method without reaching upstream', async () => {
    const { upstream, proxy } = await world(() => ({ status: 200, body: '{"data":[]}' }))
    const models = await call(proxy, { method: 'GET', path: '/v1/models' })
    expect(models.status).toBe(200)
    expect(models.body).toBe('{"data":[]}')
    expect(upstream.seen.map((seen) => `${seen.method} ${seen.url}`)).toEqual(['GET /v1/models'])

    const refused: Array<[string, string]> = [
      ['POST', '/v1/files'],
      ['GET', '/v1/files/file-123/content'],
      ['POST', '/v1/../x'],
      ['POST', '/v1/%2e%2e/responses'],
      ['POST', '/v1/responses/../files'],
      ['GET', '/v1/responses'],
      ['DELETE', '/v1/responses'],
      ['POST', '/v1/responses/resp_123'],
      ['POST', '/v1/responses/compact/x'],
      ['POST', '/v1//responses'],
      ['POST', '/responses'],
      ['POST', '/v2/responses'],
      ['POST', '/v1responses'],
      ['POST', '/v1/models'],
      ['GET', '/']
    ]
    for (const [method, path] of refused) {
      const answer = await call(proxy, { method, path })
      expect(answer.status, `${method} ${path}`).toBe(404)
      expect(JSON.parse(answer.body).error.type).toBe('codex_action_proxy_error')
    }
    expect(upstream.seen).toHaveLength(1)
  })

  it('sends a request whose target names another host only to the configured upstream', async () => {
    const { upstream, proxy } = await world(() => ({ status: 200, body: '{}' }))
    const { port } = new URL(proxy.url)
    for (const target of ['http://evil.example/v1/responses', '//evil.example/v1/responses']) {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1')
        let text = ''
        socket.on('data', (chunk) => (text += chunk.toString()))
        socket.on('close', () => resolve(text))
        socket.on('error', reject)
        // Written without ending our side: the server closes once it has answered (Connection: close).
        socket.write(`POST ${target} HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer ${proxy.clientToken}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`)
      })
      expect(reply.split('\r\n')[0], target).toBe('HTTP/1.1 200 OK')
    }
    expect(upstream.seen.map((seen) => [seen.url, seen.headers.host])).toEqual([
      ['/v1/responses', `127.0.0.1:${upstream.port}`],
      ['/v1/responses', `127.0.0.1:${upstream.port}`]
    ])
  })

  it('forwards /v1/responses/compact too', async () => {
    const { upstream, proxy } = await world(() => ({ status: 200, body: '{"output":[]}' }))
    expect((await call(proxy, { path: '/v1/responses/compact' })).status).toBe(200)
    expect(upstream.seen.map((seen) => seen.url)).toEqual(['/v1/responses/compact'])
  })

  it('keeps the base URL path prefix and query when forwarding', async () => {
    const { upstream, proxy } = await world(undefined, (up) => `http://127.0.0.1:${up.port}/openai/v1?api-version=2025-01-01`)
    expect((await call(proxy)).status).toBe(200)
    expect((await call(proxy, { method: 'GET', path: '/v1/models' })).status).toBe(200)
    expect(upstream.seen.map((seen) => seen.url)).toEqual(['/openai/v1/responses?api-version=2025-01-01', '/openai/v1/models?api-version=2025-01-01'])
  })

  it('accepts a base URL with a trailing slash', async () => {
    const { upstream, proxy } = await world(undefined, (up) => `http://127.0.0.1:${up.port}/v1/`)
    expect((await call(proxy)).status).toBe(200)
    expect(upstream.seen.map((seen) => seen.url)).toEqual(['/v1/responses'])
  })

  it('sums usage from response.completed frames across requests', async () => {
    const { proxy } = await world()
    await call(proxy)
    await call(proxy)
    // Request n reports input 100n, cached 10n, output 7n, reasoning 3n.
    expect(proxy.usage).toEqual({
      requests: 2,
      input_tokens: 300,
      cached_input_tokens: 30,
      output_tokens: 21,
      reasoning_output_tokens: 9,
      total_tokens: 321
    })
  })

  it('passes an upstream error status and body through', async () => {
    const { proxy } = await world(() => ({ status: 429, headers: { 'retry-after': '3' }, body: '{"error":{"message":"slow down"}}' }))
    const answer = await call(proxy)
    expect(answer.status).toBe(429)
    expect(answer.headers['retry-after']).toBe('3')
    expect(answer.body).toBe('{"error":{"message":"slow down"}}')
    expect(proxy.usage.requests).toBe(1)
    expect(proxy.usage.total_tokens).toBe(0)
  })

  it('answers 502 naming the upstream when it cannot be reached', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const proxy = await startModelProxy(`http://127.0.0.1:${port}/v1`, API_KEY)
    cleanups.push(proxy.close)
    const answer = await call(proxy)
    expect(answer.status).toBe(502)
    const message = JSON.parse(answer.body).error.message as string
    expect(message).toContain(`http://127.0.0.1:${port}`)
    expect(message).toContain('could not be reached')
    expect(message).not.toContain(API_KEY)
  })

  it('close() ends a response in flight and stops listening', async () => {
    const { upstream, proxy } = await world()
    const url = new URL(proxy.url)
    const { firstChunk, ended } = await new Promise<{ firstChunk: string; ended: Promise<string> }>((resolve, reject) => {
      const request = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/v1/responses', headers: { authorization: `Bearer ${proxy.clientToken}` } }, (response) => {
        response.once('data', (chunk: Buffer) => {
          const ended = new Promise<string>((done) => {
            response.on('close', () => done(response.complete ? 'complete' : 'cut'))
            response.on('error', () => done('cut'))
          })
          resolve({ firstChunk: chunk.toString(), ended })
        })
      })
      request.on('error', reject)
      request.end('{}')
    })
    expect(firstChunk).toContain('response.created')
    const closing = Date.now()
    await proxy.close()
    expect(await ended).toBe('cut')
    expect(Date.now() - closing).toBeLessThan(FRAME_GAP_MS * 2)
    expect(upstream.endedAt).toEqual([])
    await expect(call(proxy)).rejects.toThrow(/ECONNREFUSED/)
  })
})

describe('the budget', () => {
  it('max-tokens: forwards requests until the counted total reaches the limit, then refuses with a 400 Codex gives up on', async () => {
    // Request n uses 107n tokens: 107, then 321 in all.
    const { upstream, proxy } = await world(undefined, undefined, { maxTokens: 200 })
    let exceeded: string | undefined
    void proxy.budgetExceeded.then((limit) => (exceeded = limit))
    expect((await call(proxy)).status).toBe(200)
    // 107 of 200: the second request still starts, and its response crosses the limit.
    expect((await call(proxy)).status).toBe(200)
    expect(proxy.usage.total_tokens).toBe(321)
    const refused = await call(proxy)
    expect(refused.status).toBe(400)
    expect(JSON.parse(refused.body)).toEqual({
      error: { message: "codex-action: the run's budget is spent (321 tokens used, max-tokens is 200); no further model request is sent.", type: 'codex_action_budget_exceeded' }
    })
    expect(upstream.seen).toHaveLength(2)
    expect(proxy.budget()).toEqual({ maxTokens: 200, maxModelRequests: undefined, exceeded: 'max-tokens' })
    expect(exceeded).toBe('max-tokens')
    expect(proxy.usage.requests).toBe(2)
    // The model list costs nothing and stays open.
    expect((await call(proxy, { method: 'GET', path: '/v1/models' })).status).toBe(200)
  })

  it('max-model-requests: requests sent at once are counted before they go, so no more than the limit reach the model', async () => {
    const { upstream, proxy } = await world(undefined, undefined, { maxModelRequests: 2 })
    const answers = await Promise.all([call(proxy), call(proxy), call(proxy), call(proxy, { path: '/v1/responses/compact' })])
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 400, 400])
    expect(upstream.seen).toHaveLength(2)
    expect(proxy.budget().exceeded).toBe('max-model-requests')
    expect(answers.find((answer) => answer.status === 400)?.body).toContain('2 model requests made, max-model-requests is 2')
  })

  it('a request that never reached the model does not count', async () => {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const proxy = await startModelProxy(`http://127.0.0.1:${port}/v1`, API_KEY, { maxModelRequests: 1 })
    cleanups.push(proxy.close)
    expect((await call(proxy)).status).toBe(502)
    expect((await call(proxy)).status).toBe(502)
    expect(proxy.usage.requests).toBe(0)
    expect(proxy.budget().exceeded).toBeUndefined()
  })

  it('without limits, nothing is refused', async () => {
    const { upstream, proxy } = await world()
    for (let i = 0; i < 3; i++) expect((await call(proxy)).status).toBe(200)
    expect(upstream.seen).toHaveLength(3)
    expect(proxy.budget()).toEqual({ maxTokens: undefined, maxModelRequests: undefined })
  })

  it('remembers the model the endpoint named in its completed response', async () => {
    const { proxy } = await world((_seen, index) => ({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: frame('response.completed', { response: { id: `r${index}`, model: 'gpt-5.4-2026-03-05', usage: usageOf(1, 0, 1, 0) } }) }))
    expect(proxy.model()).toBeUndefined()
    await call(proxy)
    expect(proxy.model()).toBe('gpt-5.4-2026-03-05')
  })
})

describe('the budget against an agent that holds the per-run token', () => {
  // The token is in the agent's own config by design: these requests are what the agent can send the proxy itself.
  it('max-tokens: requests sent at once go one at a time, so no more start once the counted total reaches the limit', async () => {
    // Request n uses 107n tokens: 107, then 321 in all; the third and later are refused.
    const { upstream, proxy } = await world(undefined, undefined, { maxTokens: 200 })
    const answers = await Promise.all(Array.from({ length: 6 }, () => call(proxy)))
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 400, 400, 400, 400])
    expect(upstream.seen).toHaveLength(2)
    expect(proxy.usage.total_tokens).toBe(321)
    expect(proxy.budget().exceeded).toBe('max-tokens')
  })

  it('counts the usage of a non-streamed answer (stream: false, /responses/compact)', async () => {
    const { upstream, proxy } = await world(() => ({ status: 200, body: JSON.stringify({ id: 'r', object: 'response', model: 'gpt-5.5', usage: usageOf(150, 0, 50, 0) }, null, 2) }), undefined, { maxTokens: 300 })
    expect((await call(proxy, { body: '{"model":"gpt-5.5","input":"hi","stream":false}' })).status).toBe(200)
    expect((await call(proxy, { path: '/v1/responses/compact' })).status).toBe(200)
    expect(proxy.usage.total_tokens).toBe(400)
    expect((await call(proxy)).status).toBe(400)
    expect(upstream.seen).toHaveLength(2)
  })

  it('counts response.incomplete and response.failed: a low max_output_tokens does not make a response free', async () => {
    const { upstream, proxy } = await world(
      (_seen, index) => ({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: frame(index ? 'response.failed' : 'response.incomplete', { response: { id: `r${index}`, status: index ? 'failed' : 'incomplete', usage: usageOf(5000, 0, 16, 0) } }) }),
      undefined,
      { maxTokens: 10_000 }
    )
    for (let i = 0; i < 3; i++) await call(proxy, { body: '{"model":"gpt-5.5","input":"x","stream":true,"max_output_tokens":16}' })
    expect(proxy.usage.total_tokens).toBe(10_032)
    expect(upstream.seen).toHaveLength(2)
  })

  it('a client that hangs up before the last event does not stop the count', async () => {
    const { upstream, proxy } = await world(undefined, undefined, { maxTokens: 100 })
    const url = new URL(proxy.url)
    const body = '{"model":"gpt-5.5","input":[],"stream":true}'
    await new Promise<void>((resolve) => {
      const request = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/v1/responses', agent: false, headers: { authorization: `Bearer ${proxy.clientToken}`, 'content-type': 'application/json', 'content-length': String(body.length) } }, (response) => {
        // The output is in the first frames; the usage only in the last.
        response.once('data', () => {
          request.destroy()
          resolve()
        })
      })
      request.on('error', () => {})
      request.end(body)
    })
    const refused = await call(proxy)
    expect(refused.status).toBe(400)
    expect(proxy.usage.total_tokens).toBe(107)
    expect(upstream.seen).toHaveLength(1)
  })

  it('an answer that never says its usage (background: true, a stream cut short) stops max-tokens: it cannot be kept any more', async () => {
    const { upstream, proxy } = await world(() => ({ status: 200, body: JSON.stringify({ id: 'r', object: 'response', status: 'queued', background: true, usage: null }) }), undefined, { maxTokens: 1_000_000 })
    expect((await call(proxy, { body: '{"model":"gpt-5.5","input":"x","background":true}' })).status).toBe(200)
    const refused = await call(proxy)
    expect(refused.status).toBe(400)
    expect(JSON.parse(refused.body).error.message).toBe("codex-action: the run's budget is spent (0 tokens used and a response whose usage the endpoint did not say, max-tokens is 1000000); no further model request is sent.")
    expect(upstream.seen).toHaveLength(1)
    // Without max-tokens nothing depends on it.
    const open = await world(() => ({ status: 200, body: '{}' }), undefined, { maxModelRequests: 5 })
    for (let i = 0; i < 2; i++) expect((await call(open.proxy)).status).toBe(200)
  })

  it('an error status counts no tokens and stops nothing', async () => {
    const { upstream, proxy } = await world((_seen, index) => (index ? 'stream' : { status: 429, body: '{"error":{"message":"slow down"}}' }), undefined, { maxTokens: 1000 })
    expect((await call(proxy)).status).toBe(429)
    expect((await call(proxy)).status).toBe(200)
    expect(upstream.seen).toHaveLength(2)
  })
})

describe('redirects from the endpoint', () => {
  it('are passed back, never followed with the key', async () => {
    const elsewhere = await startUpstream()
    cleanups.push(elsewhere.close)
    const { upstream, proxy } = await world(() => ({ status: 307, headers: { location: `http://localhost:${elsewhere.port}/v1/responses` }, body: '' }))
    const answer = await call(proxy)
    expect(answer.status).toBe(307)
    expect(upstream.seen).toHaveLength(1)
    expect(elsewhere.seen).toEqual([])
  })
})
