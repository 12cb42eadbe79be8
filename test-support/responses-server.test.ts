import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { LISTED_MODELS, applyPatch, message, shell, startResponsesServer } from './responses-server.js'
import type { ResponsesServer } from './responses-server.js'

// The binary the project's global setup installed through the action's own installer (or CODEX_BIN to try another).
const CODEX_BIN = process.env.CODEX_BIN || inject('codexBinary')

const servers: ResponsesServer[] = []
const dirs: string[] = []

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function start(options: Parameters<typeof startResponsesServer>[0]): Promise<ResponsesServer> {
  const server = await startResponsesServer(options)
  servers.push(server)
  return server
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

interface SseFrame {
  event: string
  data: any
}

function parseSse(text: string): SseFrame[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n')
      const event = lines.find((l) => l.startsWith('event: '))?.slice('event: '.length) ?? ''
      const data = lines.find((l) => l.startsWith('data: '))?.slice('data: '.length) ?? 'null'
      return { event, data: JSON.parse(data) }
    })
}

// A request as Codex sends it: with a model and input (a body with neither is the preflight check's probe, not a model request).
const ASK = { model: 'm', input: 'hi' }

function post(server: ResponsesServer, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body)
  })
}

describe('responses server (protocol, no codex)', () => {
  it('streams an output step as SSE frames and records the request', async () => {
    const server = await start({ script: [{ output: [shell('echo hi', 'c1'), message('ok')] }] })
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/)
    const res = await post(server, { model: 'm', input: [] }, { authorization: 'Bearer x' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const frames = parseSse(await res.text())
    expect(frames.map((f) => f.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.output_item.done',
      'response.output_item.added',
      'response.output_item.done',
      'response.completed'
    ])
    for (const f of frames) expect(f.data.type).toBe(f.event)
    const done = frames.filter((f) => f.event === 'response.output_item.done').map((f) => f.data.item)
    expect(done[0]).toMatchObject({ type: 'function_call', name: 'exec_command', call_id: 'c1', arguments: '{"cmd":"echo hi"}' })
    expect(done[1]).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] })
    const completed = frames.at(-1)!.data.response
    expect(completed.id).toMatch(/^resp_/)
    expect(completed.usage).toEqual({
      input_tokens: 10,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 15
    })
    expect(server.requests).toHaveLength(1)
    expect(server.requests[0]).toMatchObject({ index: 0, method: 'POST', path: '/v1/responses', body: { model: 'm' } })
    expect(server.requests[0]!.headers.authorization).toBe('Bearer x')
  })

  it('gives unique ids, honours usage, and falls back to afterScript', async () => {
    const server = await start({
      script: [{ output: [message('a')], usage: { input_tokens: 7, output_tokens: 3 } }],
      afterScript: { output: [message('after')] }
    })
    const a = parseSse(await (await post(server, ASK)).text())
    const b = parseSse(await (await post(server, ASK)).text())
    const c = parseSse(await (await post(server, ASK)).text())
    expect(a.at(-1)!.data.response.usage).toMatchObject({ input_tokens: 7, output_tokens: 3, total_tokens: 10 })
    const ids = [a, b, c].map((f) => f.at(-1)!.data.response.id)
    expect(new Set(ids).size).toBe(3)
    const texts = [a, b, c].map((f) => f.find((x) => x.event === 'response.output_item.done')!.data.item.content[0].text)
    expect(texts).toEqual(['a', 'after', 'after'])
    expect(new Set([message('x').id, message('y').id, shell('z').id, applyPatch('p').id]).size).toBe(4)
    const s = shell('z')
    expect(s.call_id).not.toBe(shell('z').call_id)
  })

  it('default afterScript is a final message "done"', async () => {
    const server = await start({ script: [] })
    const frames = parseSse(await (await post(server, ASK)).text())
    expect(frames.find((f) => f.event === 'response.output_item.done')!.data.item.content[0].text).toBe('done')
  })

  it('answers error steps with status, OpenAI-style body and headers', async () => {
    const server = await start({
      script: [
        { status: 500 },
        { status: 429, headers: { 'retry-after': '2' } },
        { status: 400, body: { error: { message: 'custom', type: 'x', code: 'y' } } }
      ]
    })
    const r1 = await post(server, ASK)
    expect(r1.status).toBe(500)
    expect(await r1.json()).toMatchObject({ error: { message: 'scripted server error', type: 'server_error' } })
    const r2 = await post(server, ASK)
    expect(r2.status).toBe(429)
    expect(r2.headers.get('retry-after')).toBe('2')
    expect(await r2.json()).toMatchObject({ error: { code: 'rate_limit_exceeded' } })
    const r3 = await post(server, ASK)
    expect(r3.status).toBe(400)
    expect(await r3.json()).toEqual({ error: { message: 'custom', type: 'x', code: 'y' } })
  })

  it('rejects a wrong key with 401 without consuming a step, and records it', async () => {
    const server = await start({ apiKey: 'k1', script: [{ output: [message('first')] }] })
    const bad = await post(server, ASK, { authorization: 'Bearer nope' })
    expect(bad.status).toBe(401)
    expect(await bad.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_api_key' }
    })
    const none = await post(server, ASK)
    expect(none.status).toBe(401)
    const good = parseSse(await (await post(server, ASK, { authorization: 'Bearer k1' })).text())
    expect(good.find((f) => f.event === 'response.output_item.done')!.data.item.content[0].text).toBe('first')
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer nope', undefined, 'Bearer k1'])
  })

  it('answers 404 to other paths and records them; accepts any prefix ending in /responses', async () => {
    const server = await start({ script: [{ output: [message('p')] }] })
    const base = server.url.replace(/\/v1$/, '')
    const r404 = await fetch(`${base}/v1/files`)
    expect(r404.status).toBe(404)
    expect((await r404.json()).error.message).toContain('/v1/files')
    const other = await fetch(`${base}/api/openai/responses`, { method: 'POST', body: JSON.stringify(ASK) })
    expect(other.status).toBe(200)
    await other.text()
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/files', 'POST /api/openai/responses'])
  })

  it('lists models on GET /models, apart from the requests, checking the key; a test can script the listings', async () => {
    const server = await start({ script: [], apiKey: 'k1', models: [{ status: 500 }, { ids: ['m-1', 'm-2'] }] })
    expect((await fetch(`${server.url}/models`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401)
    expect((await fetch(`${server.url}/models`, { headers: { authorization: 'Bearer k1' } })).status).toBe(500)
    const listed = await fetch(`${server.url}/models`, { headers: { authorization: 'Bearer k1' } })
    expect(await listed.json()).toMatchObject({ object: 'list', data: [{ id: 'm-1', object: 'model' }, { id: 'm-2', object: 'model' }] })
    // The last step repeats.
    expect((await (await fetch(`${server.url}/models`, { headers: { authorization: 'Bearer k1' } })).json()).data).toHaveLength(2)
    expect(server.listings.map((r) => r.headers.authorization)).toEqual(['Bearer nope', 'Bearer k1', 'Bearer k1', 'Bearer k1'])
    expect(server.requests).toEqual([])
    const plain = await start({ script: [] })
    expect((await (await fetch(`${plain.url}/models`)).json()).data.map((m: { id: string }) => m.id)).toEqual(LISTED_MODELS)
  })

  it('answers a probe (no input, no model) as OpenAI does, apart from the requests, checking the key, consuming no step', async () => {
    const server = await start({ script: [{ output: [message('first')] }], apiKey: 'k1' })
    const wrong = await post(server, {}, { authorization: 'Bearer nope' })
    expect(wrong.status).toBe(401)
    expect((await wrong.json()).error.code).toBe('invalid_api_key')
    const accepted = await post(server, { stream: true }, { authorization: 'Bearer k1' })
    expect(accepted.status).toBe(400)
    expect(await accepted.json()).toEqual({ error: { message: "Missing required parameter: 'model'.", type: 'invalid_request_error', param: 'model', code: 'missing_required_parameter' } })
    // Step 0 is still there for the first real request.
    const first = parseSse(await (await post(server, ASK, { authorization: 'Bearer k1' })).text())
    expect(first.find((f) => f.event === 'response.output_item.done')!.data.item.content[0].text).toBe('first')
    expect(server.probes.map((r) => [r.index, r.headers.authorization, r.body])).toEqual([[0, 'Bearer nope', {}], [1, 'Bearer k1', { stream: true }]])
    expect(server.requests.map((r) => r.body)).toEqual([ASK])
    expect(server.listings).toEqual([])
    // A test can script the answer to a probe with the right key.
    const refusing = await start({ script: [], apiKey: 'k1', probe: { status: 403 } })
    const refused = await post(refusing, {}, { authorization: 'Bearer k1' })
    expect(refused.status).toBe(403)
    expect((await refused.json()).error.message).toBe('scripted error 403')
  })

  it('records and refuses an Upgrade (WebSocket) request', async () => {
    const server = await start({ script: [] })
    const { port } = new URL(server.url)
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/v1/responses', headers: { connection: 'Upgrade', upgrade: 'websocket' } })
      req.on('response', (res) => {
        res.resume()
        resolve(res.statusCode)
      })
      req.on('upgrade', () => reject(new Error('unexpected upgrade')))
      req.on('error', reject)
      req.end()
    })
    expect(status).toBe(404)
    expect(server.requests).toHaveLength(1)
    expect(server.requests[0]).toMatchObject({ method: 'GET', path: '/v1/responses' })
    expect(server.requests[0]!.headers.upgrade).toBe('websocket')
  })

  it('extracts tool outputs (string and content-part arrays) and passes request + index to a script function', async () => {
    const seen: Array<[number, number]> = []
    const server = await start({
      script: (req, index) => {
        seen.push([req.index, index])
        return { output: [message(`n${index}:${req.toolOutputs.join('|')}`)] }
      }
    })
    await fetch(`${server.url}/nothing`)
    const res = await post(server, {
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
        { type: 'function_call_output', call_id: 'a', output: 'plain' },
        { type: 'custom_tool_call_output', call_id: 'b', output: [{ type: 'input_text', text: 'x' }, { type: 'input_text', text: 'y' }] }
      ]
    })
    const frames = parseSse(await res.text())
    expect(frames.find((f) => f.event === 'response.output_item.done')!.data.item.content[0].text).toBe('n0:plain|xy')
    expect(server.requests[1]!.toolOutputs).toEqual(['plain', 'xy'])
    expect(seen).toEqual([[1, 0]])
  })

  it('cut drops the connection after the items, without response.completed', async () => {
    const server = await start({ script: [{ cut: true, output: [message('partial')] }] })
    const res = await post(server, ASK)
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let text = ''
    let failed = false
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        text += Buffer.from(value).toString('utf8')
      }
    } catch {
      failed = true
    }
    expect(failed).toBe(true)
    expect(text).toContain('response.output_item.done')
    expect(text).not.toContain('response.completed')
  })

  it('stall sends headers and response.created, then hangs until close()', async () => {
    const server = await startResponsesServer({ script: [{ stall: true }] })
    const res = await post(server, ASK)
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(Buffer.from(first.value!).toString('utf8')).toContain('event: response.created')
    const pending = reader.read().then(
      (r) => (r.done ? 'ended' : 'data'),
      () => 'error'
    )
    const raced = await Promise.race([pending, new Promise((r) => setTimeout(() => r('still stalled'), 300))])
    expect(raced).toBe('still stalled')
    const t0 = Date.now()
    await server.close()
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(await pending).toBe('error')
  })
})

// ---------------------------------------------------------------------------------------------
// The real Codex CLI against the server.

interface CodexRun {
  code: number | null
  stdout: string
  stderr: string
  events: any[]
}

function codexHome(server: ResponsesServer, extraProvider = ''): string {
  const home = tempDir('codex-home-')
  writeFileSync(
    join(home, 'config.toml'),
    [
      'model = "gpt-5.5"',
      'model_provider = "scripted"',
      'approval_policy = "never"',
      'sandbox_mode = "danger-full-access"',
      '[model_providers.scripted]',
      'name = "scripted"',
      `base_url = "${server.url}"`,
      'env_key = "SCRIPTED_API_KEY"',
      'wire_api = "responses"',
      'request_max_retries = 0',
      'stream_max_retries = 0',
      extraProvider,
      '[analytics]',
      'enabled = false',
      '[features]',
      'plugins = false',
      ''
    ].join('\n')
  )
  return home
}

function runCodex(opts: { home: string; cwd: string; apiKey: string; prompt: string; timeoutMs?: number }): Promise<CodexRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      CODEX_BIN!,
      ['exec', '--dangerously-bypass-approvals-and-sandbox', '--json', '--skip-git-repo-check', '-C', opts.cwd, opts.prompt],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: opts.home,
          CODEX_HOME: opts.home,
          SCRIPTED_API_KEY: opts.apiKey
        }
      }
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 45_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const events = stdout
        .split('\n')
        .filter((l) => l.trim().startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l)
          } catch {
            return { unparsed: l }
          }
        })
      resolve({ code, stdout, stderr, events })
    })
  })
}

function agentMessages(run: CodexRun): string[] {
  return run.events.filter((e) => e.type === 'item.completed' && e.item?.type === 'agent_message').map((e) => e.item.text)
}

const PATCH = ['*** Begin Patch', '*** Add File: added.txt', '+added by patch', '*** End Patch', ''].join('\n')

describe('responses server with the real codex binary', () => {
  it('drives shell, apply_patch and a final message to a completed turn', async () => {
    const server = await start({
      script: [{ output: [shell('echo hello > a.txt && cat a.txt')] }, { output: [applyPatch(PATCH)] }, { output: [message('all done')] }]
    })
    const work = tempDir('codex-work-')
    const run = await runCodex({ home: codexHome(server), cwd: work, apiKey: 'test-key', prompt: 'do the thing' })
    const context = `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`

    expect(run.code, context).toBe(0)
    expect(readFileSync(join(work, 'a.txt'), 'utf8')).toBe('hello\n')
    expect(existsSync(join(work, 'added.txt')), context).toBe(true)
    expect(readFileSync(join(work, 'added.txt'), 'utf8')).toBe('added by patch\n')

    // Exactly three model calls, all POST <base>/responses with the key; nothing else was asked for.
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/responses', 'POST /v1/responses', 'POST /v1/responses'])
    for (const r of server.requests) {
      expect(r.headers.authorization).toBe('Bearer test-key')
      expect(r.body).toMatchObject({ model: 'gpt-5.5', stream: true })
    }
    expect(server.requests[0]!.toolOutputs).toEqual([])
    expect(server.requests[1]!.toolOutputs.join('\n')).toContain('hello')
    expect(server.requests[2]!.toolOutputs.length).toBeGreaterThanOrEqual(2)
    expect(JSON.stringify(server.requests[0]!.body.input)).toContain('do the thing')

    expect(run.events.some((e) => e.type === 'turn.completed'), context).toBe(true)
    expect(run.events.some((e) => e.type === 'turn.failed')).toBe(false)
    expect(agentMessages(run)).toContain('all done')
  })

  it('apiKey: a wrong key is rejected (401, exit 1), the right key is accepted', async () => {
    const server = await start({ apiKey: 'right-key', script: [{ output: [message('welcome')] }] })
    const home = codexHome(server)
    const work = tempDir('codex-work-')

    const bad = await runCodex({ home, cwd: work, apiKey: 'wrong-key', prompt: 'hi' })
    expect(bad.code, bad.stdout + bad.stderr).toBe(1)
    expect(server.requests).toHaveLength(1)
    expect(server.requests[0]!.headers.authorization).toBe('Bearer wrong-key')
    expect(bad.events.some((e) => e.type === 'turn.completed')).toBe(false)
    expect(bad.stdout + bad.stderr).toMatch(/401|Unauthorized|Incorrect API key/i)

    const good = await runCodex({ home, cwd: work, apiKey: 'right-key', prompt: 'hi' })
    expect(good.code, good.stdout + good.stderr).toBe(0)
    expect(server.requests).toHaveLength(2)
    expect(server.requests[1]!.headers.authorization).toBe('Bearer right-key')
    expect(agentMessages(good)).toEqual(['welcome'])
  })

  it('a 500 step makes codex exit 1 and report the error', async () => {
    const server = await start({ script: [{ status: 500 }] })
    const run = await runCodex({ home: codexHome(server), cwd: tempDir('codex-work-'), apiKey: 'k', prompt: 'hi' })
    const context = `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`
    expect(run.code, context).toBe(1)
    expect(server.requests).toHaveLength(1)
    expect(run.events.some((e) => e.type === 'turn.completed')).toBe(false)
    // codex 0.169.0 replaces any HTTP 500 answer (whatever its body) by a generic text.
    const failed = run.events.find((e) => e.type === 'turn.failed')
    expect(failed?.error?.message, context).toMatch(/experiencing high demand/)
    expect(run.events.some((e) => e.type === 'error' && /high demand/.test(e.message))).toBe(true)
  })

  it('a 503 step: the error body message reaches the JSONL', async () => {
    const server = await start({ script: [{ status: 503 }] })
    const run = await runCodex({ home: codexHome(server), cwd: tempDir('codex-work-'), apiKey: 'k', prompt: 'hi' })
    const context = `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`
    expect(run.code, context).toBe(1)
    expect(server.requests).toHaveLength(1)
    const failed = run.events.find((e) => e.type === 'turn.failed')
    expect(failed?.error?.message, context).toContain('503 Service Unavailable: scripted server error')
  })

  it('a cut stream (no response.completed) fails the turn', async () => {
    const server = await start({ script: [{ cut: true, output: [message('half')] }] })
    const run = await runCodex({ home: codexHome(server), cwd: tempDir('codex-work-'), apiKey: 'k', prompt: 'hi' })
    const context = `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`
    expect(run.code, context).toBe(1)
    expect(run.events.some((e) => e.type === 'turn.completed'), context).toBe(false)
    expect(run.events.find((e) => e.type === 'turn.failed')?.error?.message, context).toMatch(/stream disconnected before completion/)
  })

  it('a stalled stream trips stream_idle_timeout_ms and close() still ends the server', async () => {
    const server = await start({ script: [{ stall: true }] })
    const home = codexHome(server, 'stream_idle_timeout_ms = 1000')
    const t0 = Date.now()
    const run = await runCodex({ home, cwd: tempDir('codex-work-'), apiKey: 'k', prompt: 'hi' })
    const context = `exit ${run.code} after ${Date.now() - t0} ms\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`
    expect(run.code, context).toBe(1)
    expect(run.events.some((e) => e.type === 'turn.completed'), context).toBe(false)
    expect(Date.now() - t0, context).toBeLessThan(20_000)
    expect(run.events.find((e) => e.type === 'turn.failed')?.error?.message, context).toMatch(/idle timeout/)
  })
})
