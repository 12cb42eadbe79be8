// Faults around the agent: the model endpoint failing or stalling, the time limit, cancellation, and
// the artifact service failing. Each must end with a clear message and lose nothing already produced.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { message, shell } from '../../test-support/responses-server.js'
import { act, scratchRepository, startWorld, type World } from './harness.js'

// Codex retries a failing endpoint for about 25 s by default; these tests want the first answer to count.
const NO_RETRIES = '[model_providers.codex-action]\nrequest_max_retries = 0\nstream_max_retries = 0\nstream_idle_timeout_ms = 1500\n'

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

function errors(run: Awaited<ReturnType<typeof act>>): string {
  return run.main.commands.filter((c) => c.command === 'error').map((c) => c.message).join('\n')
}

function warnings(run: Awaited<ReturnType<typeof act>>): string {
  return run.main.commands.filter((c) => c.command === 'warning').map((c) => c.message).join('\n')
}

describe('the model endpoint fails', () => {
  it('answers 503: the run fails with the endpoint message, and the logs are still uploaded', async () => {
    const repository = scratchRepository()
    world = await startWorld([{ status: 503, body: { error: { message: 'the scripted endpoint is down for maintenance', type: 'server_error' } } }])

    const run = await act(world, repository, { inputs: { config: NO_RETRIES } })

    expect(run.main.exitCode).not.toBe(0)
    expect(run.main.outputs.conclusion).toBe('failure')
    expect(errors(run)).toContain('the scripted endpoint is down for maintenance')
    const artifact = world.results.artifacts[0]
    expect(artifact.files.get('events.jsonl')?.toString()).toContain('turn.failed')
    expect(JSON.parse(String(artifact.files.get('run.json'))).failure).toContain('down for maintenance')
  })

  it('answers 429: the run fails saying so, and the logs are still uploaded', async () => {
    const repository = scratchRepository()
    world = await startWorld([], { status: 429, headers: { 'retry-after': '0' }, body: { error: { message: 'Rate limit reached for scripted model', type: 'requests' } } })

    const run = await act(world, repository, { inputs: { config: NO_RETRIES } })

    expect(run.main.outputs.conclusion).toBe('failure')
    expect(errors(run)).toMatch(/429/)
    expect(world.results.artifacts).toHaveLength(1)
    expect(world.results.artifacts[0].files.get('events.jsonl')?.toString()).toContain('429')
  })

  it('stalls mid-stream: Codex gives up after its idle timeout and the run fails with that reason', async () => {
    const repository = scratchRepository()
    world = await startWorld([{ stall: true }], { stall: true })

    const run = await act(world, repository, { inputs: { config: NO_RETRIES } })

    expect(run.main.outputs.conclusion).toBe('failure')
    expect(errors(run)).toMatch(/idle timeout|stream disconnected/)
  })
})

describe('the model endpoint cannot be reached', () => {
  // The preflight check finds it before install (run-control.test.ts has the other preflight cases).
  it('fails before Codex starts, naming the base-url that refused the connection', async () => {
    world = await startWorld([])

    const run = await act(world, scratchRepository(), { inputs: { 'base-url': 'http://127.0.0.1:9/v1', config: NO_RETRIES } })

    expect(run.main.exitCode).not.toBe(0)
    expect(errors(run)).toMatch(/^Input 'base-url' points to 127\.0\.0\.1:9, where nothing accepts connections \(ECONNREFUSED\)/)
    expect(world.model.requests).toHaveLength(0)
    expect(world.results.artifacts).toHaveLength(0)
  })
})

describe('the time limit', () => {
  it('stops the agent, then publishes the partial patch and the logs', async () => {
    const repository = scratchRepository()
    // exec_command hands a long command back to the model after about ten seconds, so the model keeps asking for more.
    world = await startWorld([{ output: [shell('echo partial > partial.txt')] }], { output: [shell('sleep 300')] })
    const started = Date.now()

    const run = await act(world, repository, { inputs: { 'timeout-minutes': '0.2' } })

    expect(Date.now() - started).toBeLessThan(40_000)
    expect(run.main.exitCode).not.toBe(0)
    expect(run.main.outputs.conclusion).toBe('timeout')
    expect(JSON.parse(run.main.outputs['changed-files'])).toEqual(['partial.txt'])
    const patch = world.results.artifacts[0].files.get('codex.patch')?.toString()
    expect(patch).toContain('+partial')
    expect(errors(run)).toContain('timeout-minutes')
    // The whole tree stopped: no 'sleep 300' of the agent outlived the step.
    // Under the agent's own user: a silent fallback to the runner user would not stop a detached child.
    expect(run.main.stdout).toMatch(/unprivileged user 'codex-agent-[0-9a-z]+'/)
    expect(runningSleeps()).toEqual([])
  })
})

describe('cancellation', () => {
  it('stops the agent on SIGINT and still publishes what it had', async () => {
    const repository = scratchRepository()
    world = await startWorld([{ output: [shell('echo before-cancel > work.txt')] }], { output: [shell('sleep 300')] })

    const run = await act(world, repository, { signalAfterMs: { signal: 'SIGINT', afterMs: 8000 } })

    expect(run.main.outputs.conclusion).toBe('cancelled')
    expect(JSON.parse(run.main.outputs['changed-files'])).toEqual(['work.txt'])
    expect(world.results.artifacts).toHaveLength(1)
    // Under the agent's own user: a silent fallback to the runner user would not stop a detached child.
    expect(run.main.stdout).toMatch(/unprivileged user 'codex-agent-[0-9a-z]+'/)
    expect(runningSleeps()).toEqual([])
  })
})

function runningSleeps(): string[] {
  try {
    return execFileSync('pgrep', ['-f', '-a', '^sleep 300$'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean)
  } catch {
    return []
  }
}

describe('the artifact service fails', () => {
  it('warns, still sets every output, and leaves the patch on disk', async () => {
    const repository = scratchRepository()
    world = await startWorld([{ output: [shell('echo kept > kept.txt')] }, { output: [message('done')] }])
    world.results.faults.artifactStatus = 403

    const run = await act(world, repository)

    expect(run.main.exitCode).toBe(0)
    expect(run.main.outputs.conclusion).toBe('success')
    expect(warnings(run)).toMatch(/could not be uploaded/)
    expect(run.main.outputs['artifact-id']).toBe('')
    expect(run.main.outputs['has-changes']).toBe('true')
    const patchPath = run.main.outputs['patch-path']
    expect(existsSync(patchPath)).toBe(true)
    expect(readFileSync(patchPath, 'utf8')).toContain('+kept')
    expect(existsSync(path.join(path.dirname(patchPath), 'events.jsonl'))).toBe(true)
  })
})
