import { randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { checkEndpoint } from '../../src/preflight.js'
import { captureStdout } from './install/helpers.js'

const API_KEY = `sk-proj-${randomBytes(24).toString('hex')}`
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const close of closers.splice(0)) await close()
})

type Seen = { method: string; url: string; headers: IncomingHttpHeaders; body: string }

/** An endpoint on 127.0.0.1 whose answers `answer` writes; returns its base URL and what it saw. */
async function endpoint(answer: (response: ServerResponse, index: number) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = createServer(async (request, response) => {
    let body = ''
    for await (const chunk of request) body += String(chunk)
    seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body })
    answer(response, seen.length - 1)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(() => new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1?api-version=2025-04-01`, seen }
}

/** The n-th request gets the n-th answer. */
const inTurn = (...answers: Array<(response: ServerResponse) => void>) => (response: ServerResponse, index: number) => answers[index]?.(response)

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => (response: ServerResponse) => {
  response.writeHead(status, { 'content-type': 'application/json', ...headers })
  response.end(typeof body === 'string' ? body : JSON.stringify(body))
}

describe('checkEndpoint', () => {
  it('asks <base-url>/models once, keeping the query, with the key as a bearer token', async () => {
    const { url, seen } = await endpoint(json(200, { object: 'list', data: [{ id: 'gpt-5.5' }] }))
    await checkEndpoint({ baseUrl: url, apiKey: API_KEY, model: 'gpt-5.5' })
    expect(seen.map((s) => s.url)).toEqual(['/v1/models?api-version=2025-04-01'])
    expect(seen[0].headers.authorization).toBe(`Bearer ${API_KEY}`)
  })

  it('a 403 names openai-api-key and shows the endpoint message with the key redacted, in every form it echoed', async () => {
    const echoed = `Key ${API_KEY} (${Buffer.from(API_KEY).toString('base64')}) is not allowed for this project`
    const { url } = await endpoint(json(403, { error: { message: echoed } }))
    const failure = checkEndpoint({ baseUrl: url, apiKey: API_KEY })
    await expect(failure).rejects.toThrow(/^The model endpoint refused 'openai-api-key': HTTP 403 for GET .*: "Key \*\*\* \(\*\*\*[A-Za-z0-9+/=]{0,3}\) is not allowed for this project"\./)
    const message = String(await failure.catch((error: Error) => error.message))
    expect(message).not.toContain(API_KEY)
    expect(message).not.toContain(Buffer.from(API_KEY).toString('base64').slice(4, 30))
  })

  it('a key that may not list models (401) but that /responses accepts (400 or 422): a warning that model was not checked, and no failure', async () => {
    const scopes = { error: { message: 'You have insufficient permissions for this operation. Missing scopes: api.model.read. Check that you have the correct role in your organization.', type: 'invalid_request_error', param: null, code: null } }
    const missing = { error: { message: "Missing required parameter: 'model'.", type: 'invalid_request_error', param: 'model', code: 'missing_required_parameter' } }
    for (const accepted of [400, 422]) {
      const printed = captureStdout()
      const { url, seen } = await endpoint(inTurn(json(401, scopes), json(accepted, missing)))
      // A model no list shows: with the list refused, it cannot be checked.
      await checkEndpoint({ baseUrl: url, apiKey: API_KEY, model: 'gpt-5.5-typo' })
      expect(seen.map((s) => [s.method, s.url, s.body])).toEqual([
        ['GET', '/v1/models?api-version=2025-04-01', ''],
        ['POST', '/v1/responses?api-version=2025-04-01', '{}']
      ])
      expect(seen[1].headers.authorization).toBe(`Bearer ${API_KEY}`)
      expect(seen[1].headers['content-type']).toBe('application/json')
      const warnings = printed.lines().filter((line) => line.startsWith('::warning::'))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(new RegExp(`^::warning::The key cannot list models \\(HTTP 401 for GET http://127\\.0\\.0\\.1:\\d+/v1/models\\?api-version=2025-04-01: "You have insufficient permissions for this operation\\. Missing scopes: api\\.model\\.read\\. .*"\\), so 'model' was not checked; POST http://127\\.0\\.0\\.1:\\d+/v1/responses\\?api-version=2025-04-01 accepted the key \\(HTTP ${accepted} to a request without a model, nothing generated\\)\\. Going on\\.$`))
      printed.restore()
    }
  })

  it('a key /models and /responses both refuse (401, 401) fails naming openai-api-key, with the /models message', async () => {
    const printed = captureStdout()
    const wrong = { error: { message: 'Incorrect API key provided: sk-proj-****abcd.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }
    const { url, seen } = await endpoint(inTurn(json(401, wrong), json(401, wrong)))
    await expect(checkEndpoint({ baseUrl: url, apiKey: API_KEY, model: 'gpt-5.5' })).rejects.toThrow(
      /^The model endpoint refused 'openai-api-key': HTTP 401 for GET http:\/\/127\.0\.0\.1:\d+\/v1\/models\?api-version=2025-04-01: "Incorrect API key provided: sk-proj-\*\*\*\*abcd\."\. Check that the secret holds a valid key for this endpoint \(and 'base-url'\)\. The check with POST http:\/\/127\.0\.0\.1:\d+\/v1\/responses\?api-version=2025-04-01 was refused too \(HTTP 401\)\.$/
    )
    expect(seen.map((s) => s.method)).toEqual(['GET', 'POST'])
    expect(printed.lines().filter((line) => line.startsWith('::warning::'))).toEqual([])
  })

  it('a 403 on /models, then anything but 400, 422, 401 or 403 on /responses (404, a redirect, 500, a dropped connection, no answer) fails as a refused key', async () => {
    const never = () => {}
    const dropped = (response: ServerResponse) => response.socket?.destroy()
    const probes: Array<[string, (response: ServerResponse) => void]> = [
      ['HTTP 404', json(404, { error: { message: 'Not found' } })],
      // Not followed: the key goes only to base-url's host.
      ['HTTP 307', json(307, '', { location: 'http://127.0.0.2:9/v1/responses' })],
      ['HTTP 500', json(500, { error: { message: 'server error' } })],
      ['ECONNRESET', dropped],
      ['Request timeout: /v1/responses?api-version=2025-04-01', never]
    ]
    for (const [said, probe] of probes) {
      const { url, seen } = await endpoint(inTurn(json(403, { error: { message: 'Forbidden' } }), probe))
      await expect(checkEndpoint({ baseUrl: url, apiKey: API_KEY }, 300), said).rejects.toThrow(
        new RegExp(`^The model endpoint refused 'openai-api-key': HTTP 403 for GET \\S+/v1/models\\S*: "Forbidden"\\. Check that the secret holds a valid key for this endpoint \\(and 'base-url'\\)\\. The check with POST \\S+/v1/responses\\S* did not accept it either \\(${said.replace(/[.?]/g, '\\$&')}\\)\\.$`)
      )
      expect(seen.map((s) => s.method), said).toEqual(['GET', 'POST'])
    }
  })

  it('shows a body that is not JSON on one line, cut short', async () => {
    const { url } = await endpoint(json(401, `<html>\n<body>${'x'.repeat(2000)}</body></html>`))
    const message = String(await checkEndpoint({ baseUrl: url, apiKey: API_KEY }).catch((error: Error) => error.message))
    expect(message).toMatch(/: "<html> <body>x+…"\. Check that the secret/)
    expect(message.length).toBeLessThan(900)
  })

  it('refuses a redirect even to the same host', async () => {
    const { url, seen } = await endpoint(json(301, '', { location: '/v2/models' }))
    await expect(checkEndpoint({ baseUrl: url, apiKey: API_KEY })).rejects.toThrow(/^Input 'base-url' \(.*\) answered HTTP 301, a redirect to http:\/\/127\.0\.0\.1:\d+, which the action does not follow with the key\./)
    expect(seen).toHaveLength(1)
  })

  it('an endpoint that does not answer in time: three tries, then a warning, and no failure', async () => {
    const printed = captureStdout()
    const { url, seen } = await endpoint(() => {})
    const started = Date.now()
    await checkEndpoint({ baseUrl: url, apiKey: API_KEY }, 300)
    expect(seen).toHaveLength(3)
    expect(Date.now() - started).toBeLessThan(5_000)
    const warnings = printed.lines().filter((line) => line.startsWith('::warning::'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^::warning::The model endpoint did not answer the preflight check \(GET .*\/models\?api-version=2025-04-01\): Request timeout: .*\. Going on; Codex will try it again\.$/)
  })

  it('an answer that says nothing about the key (a gateway without /models): a warning, one try', async () => {
    const printed = captureStdout()
    const { url, seen } = await endpoint(json(405, { error: { message: 'Method Not Allowed' } }))
    await checkEndpoint({ baseUrl: url, apiKey: API_KEY, model: 'anything' })
    expect(seen).toHaveLength(1)
    expect(printed.lines().filter((line) => line.startsWith('::warning::'))[0]).toMatch(/HTTP 405 to the preflight check .*: "Method Not Allowed"; the key could not be checked\. Going on\./)
  })

  it('fails naming model only when the list is a model list without it; a tag-less name of a tagged model counts as listed', async () => {
    const { url } = await endpoint(json(200, { object: 'list', data: [{ id: 'llama3:latest' }, { id: 'qwen3:8b' }, { id: 'gpt-5.4' }] }))
    for (const model of ['llama3', 'llama3:latest', 'qwen3', 'gpt-5.4']) await expect(checkEndpoint({ baseUrl: url, apiKey: API_KEY, model }), model).resolves.toBeUndefined()
    await expect(checkEndpoint({ baseUrl: url, apiKey: API_KEY, model: 'gpt-5.4-mini' })).rejects.toThrow(/^Input 'model' is 'gpt-5\.4-mini', which the endpoint does not list \(GET .*: 3 models, such as gpt-5\.4\)\. Expected a model the key can use at 'base-url'\.$/)
    await expect(checkEndpoint({ baseUrl: url, apiKey: API_KEY, model: 'llama' })).rejects.toThrow(/^Input 'model' is 'llama'/)
  })

  it('does not check the model against a list that is not a model list', async () => {
    for (const body of [{ data: [] }, { data: [{ name: 'x' }] }, { models: ['gpt-5.5'] }, 'not json']) {
      const { url } = await endpoint(json(200, body))
      await expect(checkEndpoint({ baseUrl: url, apiKey: API_KEY, model: 'my-model' }), JSON.stringify(body)).resolves.toBeUndefined()
    }
  })

  it('names a host that does not resolve as base-url', async () => {
    await expect(checkEndpoint({ baseUrl: 'https://models.invalid/v1', apiKey: API_KEY })).rejects.toThrow(/^Input 'base-url' names the host 'models\.invalid', which could not be resolved \((ENOTFOUND|EAI_AGAIN)\)\. Check 'base-url'\./)
  })
})
