// Run control, end to end with the real Codex CLI: the budget the model proxy enforces (max-tokens,
// max-model-requests), the preflight check of base-url, the key and the model before anything is installed, and
// structured output (output-schema) read from the final message.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { message, shell } from '../../test-support/responses-server.js'
import type { ActionRun } from '../../test-support/runner.js'
import { ACTION_DIR, API_KEY, act, scratchRepository, startWorld, type World } from './harness.js'

let world: World | undefined
const servers: Server[] = []
afterEach(async () => {
  await world?.close()
  world = undefined
  for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()))
})

function errors(run: ActionRun): string[] {
  return run.main.commands.filter((c) => c.command === 'error').map((c) => c.message)
}

function warnings(run: ActionRun): string {
  return run.main.commands.filter((c) => c.command === 'warning').map((c) => c.message).join('\n')
}

function log(run: ActionRun): string {
  return [run.main.stdout, run.main.stderr, run.post?.stdout ?? '', run.post?.stderr ?? ''].join('\n')
}

/** Every byte the job shows or keeps: the logs, the summary and every uploaded file. */
function everything(run: ActionRun, world: World): string {
  const files = world.results.artifacts.flatMap((artifact) => [...artifact.files.values()].map((bytes) => bytes.toString('latin1')))
  return [log(run).split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n'), run.summary, ...files].join('\n')
}

function responsesRequests(world: World): number {
  return world.model.requests.filter((request) => request.method === 'POST' && request.path.split('?')[0].endsWith('/responses')).length
}

describe('the budget', () => {
  it('max-tokens: the request after the limit is crossed is refused, the run ends budget-exceeded and publishes what it had', async () => {
    const repository = scratchRepository()
    // 600 tokens each: after the second response the run has used 1200 of 1000; the third request must never reach the model.
    world = await startWorld([
      { output: [shell('echo first > first.txt')], usage: { input_tokens: 500, output_tokens: 100 } },
      { output: [shell('echo second > second.txt')], usage: { input_tokens: 500, output_tokens: 100 } },
      { output: [message('should never be asked')] }
    ])
    const started = Date.now()

    const run = await act(world, repository, { inputs: { 'max-tokens': '1000' } })

    expect(Date.now() - started).toBeLessThan(60_000)
    expect(responsesRequests(world)).toBe(2)
    expect(run.main.exitCode).not.toBe(0)
    expect(run.main.outputs.conclusion).toBe('budget-exceeded')
    expect(errors(run).join('\n')).toMatch(/budget-exceeded: The run reached max-tokens \(1000\): 1200 tokens were used\./)
    // Codex saw the proxy's refusal and said so in its own events.
    const artifact = world.results.artifacts[0]
    expect(artifact.files.get('events.jsonl')?.toString()).toMatch(/the run's budget is spent \(1200 tokens used, max-tokens is 1000\)/)
    // The partial work is published as for a timeout.
    expect(JSON.parse(run.main.outputs['changed-files']).sort()).toEqual(['first.txt', 'second.txt'])
    expect(artifact.files.get('codex.patch')?.toString()).toContain('+second')
    const record = JSON.parse(String(artifact.files.get('run.json')))
    expect(record.conclusion).toBe('budget-exceeded')
    expect(record.budget).toEqual({ maxTokens: 1000, exceeded: 'max-tokens' })
    expect(record.usage).toMatchObject({ requests: 2, input_tokens: 1000, output_tokens: 200, total_tokens: 1200 })
    // gpt-5.5 at the built-in price: 1000 input × $5/1M + 200 output × $30/1M.
    expect(record.costEstimate).toEqual({ model: 'gpt-5.5', estimatedUsd: 0.011, source: 'built-in' })
    expect(JSON.parse(run.main.outputs.usage)).toMatchObject({ requests: 2, total_tokens: 1200, estimated_cost_usd: 0.011, cost_model: 'gpt-5.5' })
    expect(run.summary).toContain('Codex: budget-exceeded')
    expect(run.summary).toContain('<b>Stopped by the budget:</b> max-tokens (1000 tokens) was reached.')
    expect(run.summary).toContain('<b>max-tokens was reached and stopped the run</b>')
    expect(run.summary).toMatch(/Estimated cost: about \$0\.0110 for gpt-5\.5/)
    expect(run.post?.exitCode).toBe(0)
  })

  it('max-model-requests: no request past the limit reaches the model; model-prices overrides the price', async () => {
    const repository = scratchRepository()
    world = await startWorld([], { output: [shell('date >> log.txt')] })

    const run = await act(world, repository, { inputs: { 'max-model-requests': '3', 'model-prices': '{"gpt-5.5": {"input": 1000, "cached_input": 0, "output": 0}}' } })

    expect(responsesRequests(world)).toBe(3)
    expect(run.main.outputs.conclusion).toBe('budget-exceeded')
    expect(errors(run).join('\n')).toContain('The run reached max-model-requests (3): 3 model requests were made.')
    expect(JSON.parse(run.main.outputs['changed-files'])).toEqual(['log.txt'])
    const record = JSON.parse(String(world.results.artifacts[0].files.get('run.json')))
    expect(record.budget).toEqual({ maxModelRequests: 3, exceeded: 'max-model-requests' })
    // Three responses of 10 input tokens (the scripted default) at $1000 per 1M.
    expect(record.costEstimate).toEqual({ model: 'gpt-5.5', estimatedUsd: 0.03, source: 'model-prices' })
    expect(run.summary).toContain('<b>Stopped by the budget:</b> max-model-requests (3 requests) was reached.')
  })

  it('a run that ends within its budget succeeds and reports the budget', async () => {
    world = await startWorld([{ output: [message('done')] }])

    const run = await act(world, scratchRepository(), { inputs: { 'max-tokens': '1000', 'max-model-requests': '5' } })

    expect(run.main.outputs.conclusion).toBe('success')
    const record = JSON.parse(String(world.results.artifacts[0].files.get('run.json')))
    expect(record.budget).toEqual({ maxTokens: 1000, maxModelRequests: 5 })
    expect(run.summary).toMatch(/Budget: \d+ of 1000 tokens \(max-tokens\); \d+ of 5 model requests \(max-model-requests\)\.\n/)
    expect(run.summary).not.toContain('Stopped by')
  })
})

describe('the preflight check', () => {
  /** The step failed before install with one error matching `says`; Codex never started and nothing was written. */
  function expectStoppedBeforeInstall(run: ActionRun, world: World, says: RegExp): string {
    expect(run.main.exitCode, log(run)).not.toBe(0)
    const [error, ...more] = errors(run)
    expect(more, log(run)).toEqual([])
    expect(error).toMatch(says)
    expect(responsesRequests(world)).toBe(0)
    expect(readdirSync(run.runnerTemp).filter((name) => name.startsWith('codex-action-'))).toEqual([])
    expect(log(run)).not.toContain('Starting: codex')
    expect(everything(run, world)).not.toContain(API_KEY)
    expect(run.post?.exitCode).toBe(0)
    return error
  }

  it("a wrong key (401) fails within 3 s with the endpoint's message, naming openai-api-key, the key never shown", async () => {
    // The endpoint echoes the key it was given, as some gateways do: the message must show it redacted.
    // The world's own key check accepts API_KEY, so /models is scripted to refuse it; the probe is scripted to refuse it
    // too, as a wrong key's would be (else this is a key that only may not list models, which goes on; see below).
    world = await startWorld([], undefined, { models: [{ status: 401, body: { error: { message: `Incorrect API key provided: ${API_KEY}.`, type: 'invalid_request_error', code: 'invalid_api_key' } } }], probe: { status: 401 } })

    const run = await act(world, scratchRepository())

    expect(run.main.durationMs).toBeLessThan(3_000)
    const error = expectStoppedBeforeInstall(run, world, /^The model endpoint refused 'openai-api-key': HTTP 401 for GET http:\/\/127\.0\.0\.1:\d+\/v1\/models: "Incorrect API key provided: \*\*\*\."/)
    expect(error).not.toContain(API_KEY)
    expect(world.model.listings).toHaveLength(1)
    expect(world.model.listings[0].headers.authorization).toBe(`Bearer ${API_KEY}`)
    expect(world.model.probes.map((probe) => probe.body)).toEqual([{}])
  })

  it('a key the endpoint does not know (its own 401 check) fails the same way', async () => {
    world = await startWorld([])

    const run = await act(world, scratchRepository(), { inputs: { 'openai-api-key': 'sk-proj-wrongwrongwrongwrongwrong0123' } })

    expect(run.main.durationMs).toBeLessThan(3_000)
    expectStoppedBeforeInstall(run, world, /^The model endpoint refused 'openai-api-key': HTTP 401 .*"Incorrect API key provided \(scripted server\)\."/)
    expect(errors(run)[0]).toMatch(/The check with POST http:\/\/127\.0\.0\.1:\d+\/v1\/responses was refused too \(HTTP 401\)\.$/)
    expect(world.model.probes).toHaveLength(1)
  })

  it('a restricted key that may not list models (401 on /models, "Missing scopes: api.model.read") but may use /responses: a warning, and the run succeeds', async () => {
    const scopes = { error: { message: 'You have insufficient permissions for this operation. Missing scopes: api.model.read.', type: 'invalid_request_error', param: null, code: null } }
    world = await startWorld([{ output: [message('done')] }], undefined, { models: [{ status: 401, body: scopes }] })

    const run = await act(world, scratchRepository())

    expect(run.main.exitCode, log(run)).toBe(0)
    expect(run.main.outputs.conclusion).toBe('success')
    expect(errors(run)).toEqual([])
    expect(warnings(run)).toMatch(/The key cannot list models \(HTTP 401 for GET http:\/\/127\.0\.0\.1:\d+\/v1\/models: "You have insufficient permissions for this operation\. Missing scopes: api\.model\.read\."\), so 'model' was not checked; POST http:\/\/127\.0\.0\.1:\d+\/v1\/responses accepted the key \(HTTP 400 to a request without a model, nothing generated\)\. Going on\./)
    // One listing, one probe with the real key, then Codex's own request; the probe consumed no scripted step.
    expect(world.model.listings).toHaveLength(1)
    expect(world.model.probes.map((probe) => [probe.headers.authorization, probe.body])).toEqual([[`Bearer ${API_KEY}`, {}]])
    expect(responsesRequests(world)).toBe(1)
    expect(world.model.requests[0].body.model).toBe('gpt-5.5')
    expect(everything(run, world)).not.toContain(API_KEY)
  })

  it('a 404 names base-url', async () => {
    world = await startWorld([], undefined, { models: [{ status: 404 }] })

    const run = await act(world, scratchRepository())

    expectStoppedBeforeInstall(run, world, /^Input 'base-url' \(http:\/\/127\.0\.0\.1:\d+\/v1\) is not a model API root: HTTP 404 for GET .*\/v1\/models: "scripted error 404"\. Expected the address that \/responses and \/models are under/)
  })

  it('a model the endpoint does not list names model', async () => {
    world = await startWorld([])

    const run = await act(world, scratchRepository(), { inputs: { model: 'gpt-5.5-typo' } })

    expectStoppedBeforeInstall(run, world, /^Input 'model' is 'gpt-5\.5-typo', which the endpoint does not list \(GET .*\/v1\/models: 4 models, such as gpt-5\.5, gpt-5\.4, gpt-5\.4-mini, gpt-5\)\./)
  })

  it('a 500, then a 200: retried, and the run goes on', async () => {
    world = await startWorld([{ output: [message('done')] }], undefined, { models: [{ status: 500 }, { ids: ['gpt-5.5'] }] })

    const run = await act(world, scratchRepository())

    expect(run.main.outputs.conclusion, log(run)).toBe('success')
    expect(world.model.listings.length).toBe(2)
    expect(warnings(run)).not.toContain('preflight')
  })

  it('an endpoint that keeps answering 503: a warning, and the run goes on', async () => {
    world = await startWorld([{ output: [message('done')] }], undefined, { models: [{ status: 503 }] })

    const run = await act(world, scratchRepository())

    expect(run.main.outputs.conclusion, log(run)).toBe('success')
    expect(world.model.listings.length).toBe(3)
    expect(warnings(run)).toMatch(/The model endpoint did not answer the preflight check \(GET .*\/models\): HTTP 503: "scripted server error"\. Going on/)
  })

  it('a closed port names base-url', async () => {
    world = await startWorld([])
    const port = await closedPort()

    const run = await act(world, scratchRepository(), { inputs: { 'base-url': `http://127.0.0.1:${port}/v1` } })

    expectStoppedBeforeInstall(run, world, new RegExp(`^Input 'base-url' points to 127\\.0\\.0\\.1:${port}, where nothing accepts connections \\(ECONNREFUSED\\)\\. Check 'base-url'\\.`))
  })

  it('a server that does not speak TLS behind an https:// base-url names base-url', async () => {
    world = await startWorld([])
    const plain = createServer((_request, response) => response.end('plain http'))
    servers.push(plain)
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve))
    const port = (plain.address() as AddressInfo).port

    const run = await act(world, scratchRepository(), { inputs: { 'base-url': `https://127.0.0.1:${port}/v1` } })

    expectStoppedBeforeInstall(run, world, /^Input 'base-url' \(https:\/\/127\.0\.0\.1:\d+\/v1\): the TLS connection failed \(EPROTO: the server does not speak TLS there; is it plain http:\/\/\?\)\. Check that 'base-url' is the endpoint's https:\/\/ address/)
  })

  it('a redirect to another host is not followed with the key', async () => {
    world = await startWorld([])
    const elsewhere: string[] = []
    const other = createServer((request, response) => {
      elsewhere.push(String(request.headers.authorization))
      response.end('{}')
    })
    servers.push(other)
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.2', resolve))
    const target = `http://127.0.0.2:${(other.address() as AddressInfo).port}/v1/models`
    const redirecting = createServer((_request, response) => {
      response.writeHead(307, { location: target })
      response.end()
    })
    servers.push(redirecting)
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve))

    const run = await act(world, scratchRepository(), { inputs: { 'base-url': `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/v1` } })

    expectStoppedBeforeInstall(run, world, /^Input 'base-url' \(.*\) answered HTTP 307, a redirect to http:\/\/127\.0\.0\.2:\d+, which the action does not follow with the key\./)
    expect(elsewhere).toEqual([])
  })
})

async function closedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

const VERDICT_SCHEMA = {
  type: 'object',
  properties: { verdict: { type: 'string', enum: ['bug', 'feature', 'question'] }, confidence: { type: 'number' } },
  required: ['verdict', 'confidence'],
  additionalProperties: false
}

describe('structured output', () => {
  it('a final message that matches output-schema: structured-output holds it, and Codex sent the schema to the model', async () => {
    world = await startWorld([{ output: [message('{"verdict": "bug", "confidence": 0.9}')] }])

    const run = await act(world, scratchRepository(), { inputs: { 'output-schema': JSON.stringify(VERDICT_SCHEMA) } })

    expect(run.main.exitCode, log(run)).toBe(0)
    expect(run.main.outputs.conclusion).toBe('success')
    expect(JSON.parse(run.main.outputs['structured-output'])).toEqual({ verdict: 'bug', confidence: 0.9 })
    const format = world.model.requests[0].body.text.format
    expect(format).toMatchObject({ type: 'json_schema', strict: true, schema: VERDICT_SCHEMA })
    expect(log(run)).toMatch(/Starting: codex exec .*--output-schema \/\S+\/output-schema\.json/)
    const record = JSON.parse(String(world.results.artifacts[0].files.get('run.json')))
    expect(record.structuredOutput).toEqual({ value: { verdict: 'bug', confidence: 0.9 } })
  })

  it('a final message that does not match: conclusion failure, with the reasons', async () => {
    world = await startWorld([{ output: [message('{"verdict": "maybe", "extra": 1}')] }])

    const run = await act(world, scratchRepository(), { inputs: { 'output-schema': JSON.stringify(VERDICT_SCHEMA) } })

    expect(run.main.exitCode).not.toBe(0)
    expect(run.main.outputs.conclusion).toBe('failure')
    expect(run.main.outputs['structured-output']).toBe('')
    const error = errors(run).join('\n')
    expect(error).toContain('The final message does not match output-schema:')
    expect(error).toContain("/ must have required property 'confidence'")
    expect(error).toContain("/ must NOT have additional properties ('extra')")
    expect(error).toContain('/verdict must be equal to one of the allowed values')
    const record = JSON.parse(String(world.results.artifacts[0].files.get('run.json')))
    expect(record.structuredOutput.errors).toHaveLength(3)
  })

  it('a final message that is not JSON: conclusion failure, saying so', async () => {
    world = await startWorld([{ output: [message('I think it is a bug.')] }])

    const run = await act(world, scratchRepository(), { inputs: { 'output-schema': JSON.stringify(VERDICT_SCHEMA), isolation: 'none' } })

    expect(run.main.outputs.conclusion).toBe('failure')
    expect(errors(run).join('\n')).toMatch(/The final message does not match output-schema: the final message is not JSON \(/)
  })

  it("examples/triage.yml: Codex takes the example's schema, and structured-output carries the verdict its if: conditions read", async () => {
    const example = readFileSync(path.join(ACTION_DIR, 'examples', 'triage.yml'), 'utf8')
    // The block under `output-schema: |`, as the runner would pass it.
    const block = /\n( +)output-schema: \|\n((?:\1  .*\n)+)/.exec(example)
    expect(block).not.toBeNull()
    const schema = (block?.[2] ?? '').split('\n').map((line) => line.slice((block?.[1].length ?? 0) + 2)).join('\n')
    expect(example).toContain("if: fromJSON(steps.codex.outputs.structured-output).kind == 'bug'")
    world = await startWorld([{ output: [message('{"kind": "bug", "area": "network", "duplicate_of": null, "summary": "The proxy drops IPv6."}')] }])

    const run = await act(world, scratchRepository(), { inputs: { 'output-schema': schema, 'max-tokens': '200000', 'max-model-requests': '30' } })

    expect(run.main.outputs.conclusion, log(run)).toBe('success')
    const verdict = JSON.parse(run.main.outputs['structured-output'])
    expect(verdict.kind).toBe('bug')
    expect(verdict.duplicate_of).toBeNull()
    expect(world.model.requests[0].body.text.format.schema).toEqual(JSON.parse(schema))
  })

  it('the agent can read the schema file Codex was given, but neither change, replace nor remove it; it is gone after the run', async () => {
    // The agent's HOME is inside the root-owned folder that holds the schema.
    const attack = [
      'cd "$HOME/.."',
      'echo \'{"type": "object"}\' > output-schema.json; echo "write=$?"',
      'mv output-schema.json moved.json; echo "mv=$?"',
      'rm -f output-schema.json; echo "rm=$?"',
      'ln -sf /tmp/mine.json output-schema.json; echo "ln=$?"',
      'chmod 666 output-schema.json; echo "chmod=$?"',
      'sha256sum output-schema.json'
    ].join('; ')
    world = await startWorld([{ output: [shell(`sh -c '${attack.replace(/'/g, "'\\''")}' 2>&1`)] }, { output: [message('{"verdict": "question", "confidence": 0.5}')] }])

    const run = await act(world, scratchRepository(), { inputs: { 'output-schema': JSON.stringify(VERDICT_SCHEMA) } })

    expect(run.main.outputs.conclusion, log(run)).toBe('success')
    // As the agent's own user: as the runner user, nothing in its folders would be out of its reach.
    expect(run.main.stdout).toMatch(/unprivileged user 'codex-agent-[0-9a-z]+'/)
    const seen = world.model.requests[1].toolOutputs.at(-1) ?? ''
    for (const step of ['write', 'mv', 'rm', 'ln', 'chmod']) expect(seen, seen).toMatch(new RegExp(`${step}=[1-9]`))
    expect(seen).toMatch(/Permission denied|Operation not permitted/)
    // Still the action's schema, byte for byte.
    expect(seen).toContain(`${createHash('sha256').update(JSON.stringify(VERDICT_SCHEMA, null, 2) + '\n').digest('hex')}  output-schema.json`)
    const file = /--output-schema (\S+)/.exec(log(run))?.[1] ?? ''
    expect(file).toMatch(/\/output-schema\.json$/)
    expect(existsSync(file)).toBe(false)
    expect(existsSync(path.dirname(file))).toBe(false)
  })
})
