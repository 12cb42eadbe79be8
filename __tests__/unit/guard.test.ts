// The guard, called directly: runner kind, event (forks) and actor (permission through the GitHub
// API, answered by nock). Every refusal must fail closed with a message that says what to change.
import nock from 'nock'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { checkGuard, GuardRefusal } from '../../src/guard.js'

const API = 'https://api.github.com'
const TOKEN = 'ghs_unitGuardToken0123456789'
const permissionPath = (login: string) => `/repos/o/r/collaborators/${encodeURIComponent(login)}/permission`

type GuardSettings = Parameters<typeof checkGuard>[0]

function settings(overrides: Partial<GuardSettings> = {}): GuardSettings {
  return { sandbox: 'bypass', allowSelfHosted: false, allowUsers: [], allowBots: [], allowForks: false, githubToken: TOKEN, ...overrides }
}

let temp: string
beforeAll(() => {
  temp = mkdtempSync(path.join(os.tmpdir(), 'guard-unit-'))
  nock.disableNetConnect()
})
afterAll(() => {
  nock.enableNetConnect()
  rmSync(temp, { recursive: true, force: true })
})
afterEach(() => {
  // Every interceptor a test set up must have been used: a check that skipped the API call it was meant to make fails here.
  const pending = nock.pendingMocks()
  nock.cleanAll()
  expect(pending).toEqual([])
})

let eventCount = 0
function eventFile(payload: unknown): string {
  const file = path.join(temp, `event-${++eventCount}.json`)
  writeFileSync(file, JSON.stringify(payload))
  return file
}

const USER_EVENT = { repository: { full_name: 'o/r', fork: false }, sender: { login: 'alice', type: 'User' } }

/** The environment of a first run on a GitHub-hosted runner, triggered by alice. */
function env(overrides: Record<string, string | undefined> = {}, event: unknown = USER_EVENT): NodeJS.ProcessEnv {
  return {
    RUNNER_ENVIRONMENT: 'github-hosted',
    GITHUB_REPOSITORY: 'o/r',
    GITHUB_API_URL: API,
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_EVENT_PATH: eventFile(event),
    GITHUB_ACTOR: 'alice',
    GITHUB_TRIGGERING_ACTOR: 'alice',
    ...overrides
  }
}

function answer(login: string, role: 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none') {
  const legacy = { admin: 'admin', maintain: 'write', write: 'write', triage: 'read', read: 'read', none: 'none' }[role]
  return nock(API).get(permissionPath(login)).reply(200, { permission: legacy, role_name: role, user: { login } })
}

async function refusal(promise: Promise<void>): Promise<GuardRefusal> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  )
  expect(error, 'the guard let the run through').toBeInstanceOf(GuardRefusal)
  return error as GuardRefusal
}

describe('actor permission', () => {
  it.each(['write', 'maintain', 'admin'] as const)('allows an actor whose role is %s', async (role) => {
    answer('alice', role)
    await expect(checkGuard(settings(), env())).resolves.toBeUndefined()
  })

  it.each(['triage', 'read', 'none'] as const)('refuses an actor whose role is %s, naming allow-users', async (role) => {
    answer('alice', role)
    const error = await refusal(checkGuard(settings(), env()))
    expect(error.message).toContain("'alice'")
    expect(error.message).toContain('allow-users')
    expect(error.message).toMatch(/write, maintain or admin/)
  })

  it('sends the github-token as a Bearer token, with the API version', async () => {
    let headers: Record<string, unknown> = {}
    nock(API)
      .get(permissionPath('alice'))
      .reply(function () {
        headers = this.req.headers
        return [200, { permission: 'write', role_name: 'write' }]
      })
    await checkGuard(settings(), env())
    expect(headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(headers['x-github-api-version']).toBe('2022-11-28')
  })

  it('uses GITHUB_API_URL (GitHub Enterprise Server)', async () => {
    const scope = nock('https://ghes.example.com').get(`/api/v3${permissionPath('alice')}`).reply(200, { permission: 'write', role_name: 'write' })
    await checkGuard(settings(), env({ GITHUB_API_URL: 'https://ghes.example.com/api/v3/' }))
    expect(scope.isDone()).toBe(true)
  })

  it.each([
    [404, /HTTP 404.*github-token.*Failing closed/],
    [403, /HTTP 403.*github-token.*Failing closed/],
    [500, /HTTP 500.*Failing closed/]
  ])('fails closed when the API answers %i', async (status, message) => {
    nock(API).get(permissionPath('alice')).reply(status, { message: 'nope' })
    const error = await refusal(checkGuard(settings(), env()))
    expect(error.message).toMatch(message)
    expect(error.message).toContain("'alice'")
  })

  it('fails closed when the API keeps answering 503 (after its retries)', async () => {
    nock(API).get(permissionPath('alice')).times(3).reply(503, { message: 'unavailable' })
    const error = await refusal(checkGuard(settings(), env()))
    expect(error.message).toMatch(/HTTP 503.*Failing closed/)
  })

  it('fails closed when the API cannot be reached', async () => {
    // An Error instance: nock 14 never emits the error when replyWithError is given a plain object, and the request hangs.
    nock(API).get(permissionPath('alice')).replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
    const error = await refusal(checkGuard(settings(), env()))
    expect(error.message).toMatch(/could not reach https:\/\/api\.github\.com \(.*socket hang up.*\)\. Failing closed/)
  })

  it('fails closed when the API answers 200 with something that is not JSON', async () => {
    nock(API).get(permissionPath('alice')).reply(200, '<html>captive portal</html>')
    const error = await refusal(checkGuard(settings(), env()))
    expect(error.message).toMatch(/Failing closed/)
  })

  it('fails closed without a github-token, and makes no request', async () => {
    const error = await refusal(checkGuard(settings({ githubToken: undefined }), env()))
    expect(error.message).toContain("'github-token' is empty")
    expect(error.message).toContain('Failing closed')
  })

  it('fails closed without GITHUB_REPOSITORY', async () => {
    const error = await refusal(checkGuard(settings(), env({ GITHUB_REPOSITORY: undefined })))
    expect(error.message).toContain('GITHUB_REPOSITORY is not set')
  })

  it('fails closed when no actor is known', async () => {
    const error = await refusal(checkGuard(settings(), env({ GITHUB_ACTOR: undefined, GITHUB_TRIGGERING_ACTOR: undefined })))
    expect(error.message).toMatch(/actor is unknown/)
    expect(error.message).toContain("allow-users")
  })

  it("runs for an unknown actor only when allow-users is '*', without calling GitHub", async () => {
    await expect(checkGuard(settings({ allowUsers: ['*'] }), env({ GITHUB_ACTOR: undefined, GITHUB_TRIGGERING_ACTOR: undefined }))).resolves.toBeUndefined()
  })

  it('on a re-run checks the original actor too: a writer re-running a reader\'s run is refused', async () => {
    // GitHub: a re-run keeps the privileges of github.actor, whoever re-ran it.
    nock(API).get(permissionPath('alice')).optionally().reply(200, { permission: 'write', role_name: 'write' })
    answer('mallory', 'read')
    const error = await refusal(checkGuard(settings(), env({ GITHUB_ACTOR: 'mallory', GITHUB_TRIGGERING_ACTOR: 'alice' })))
    expect(error.message).toContain("'mallory'")
    expect(error.message).toContain('allow-users')
  })

  it('on a re-run checks the re-running actor too', async () => {
    nock(API).get(permissionPath('alice')).optionally().reply(200, { permission: 'write', role_name: 'write' })
    answer('mallory', 'read')
    const error = await refusal(checkGuard(settings(), env({ GITHUB_ACTOR: 'alice', GITHUB_TRIGGERING_ACTOR: 'mallory' })))
    expect(error.message).toContain("'mallory'")
  })

  it('allows a re-run when both actors have write', async () => {
    answer('alice', 'write')
    answer('bob', 'maintain')
    await expect(checkGuard(settings(), env({ GITHUB_ACTOR: 'alice', GITHUB_TRIGGERING_ACTOR: 'bob' }))).resolves.toBeUndefined()
  })
})

describe('allow-users', () => {
  it('lets a listed user through without asking the API (case-insensitive)', async () => {
    await expect(checkGuard(settings({ allowUsers: ['someone', 'MALLORY'] }), env({ GITHUB_ACTOR: 'mallory', GITHUB_TRIGGERING_ACTOR: 'mallory' }))).resolves.toBeUndefined()
  })

  it('does not let an unlisted user through on the strength of the list', async () => {
    answer('mallory', 'read')
    const error = await refusal(checkGuard(settings({ allowUsers: ['someone'] }), env({ GITHUB_ACTOR: 'mallory', GITHUB_TRIGGERING_ACTOR: 'mallory' })))
    expect(error.message).toContain('allow-users')
  })

  it("'*' lets anyone through without asking the API", async () => {
    await expect(checkGuard(settings({ allowUsers: ['*'] }), env({ GITHUB_ACTOR: 'stranger', GITHUB_TRIGGERING_ACTOR: 'stranger' }))).resolves.toBeUndefined()
  })

  it("'*' in allow-users does not admit bots", async () => {
    const error = await refusal(checkGuard(settings({ allowUsers: ['*'] }), env({ GITHUB_ACTOR: 'renovate[bot]', GITHUB_TRIGGERING_ACTOR: 'renovate[bot]' })))
    expect(error.message).toContain('allow-bots')
  })
})

describe('bots', () => {
  const botEnv = (login: string) => env({ GITHUB_ACTOR: login, GITHUB_TRIGGERING_ACTOR: login }, { ...USER_EVENT, sender: { login, type: 'Bot' } })

  it('refuses a bot that is not listed, naming allow-bots, without asking the API', async () => {
    const error = await refusal(checkGuard(settings(), botEnv('dependabot[bot]')))
    expect(error.message).toContain("'dependabot[bot]'")
    expect(error.message).toContain('allow-bots')
  })

  it('refuses a bot even when it has write permission', async () => {
    // No interceptor: had the guard asked the API, nock would have refused the connection with another message.
    const error = await refusal(checkGuard(settings({ allowBots: ['renovate[bot]'] }), botEnv('dependabot[bot]')))
    expect(error.message).toContain('allow-bots')
  })

  it('lets a listed bot through (case-insensitive), without asking the API', async () => {
    await expect(checkGuard(settings({ allowBots: ['Dependabot[bot]'] }), botEnv('dependabot[bot]'))).resolves.toBeUndefined()
  })

  it("'*' in allow-bots lets any bot through", async () => {
    await expect(checkGuard(settings({ allowBots: ['*'] }), botEnv('github-actions[bot]'))).resolves.toBeUndefined()
  })

  it('treats a sender of type Bot as a bot even without the [bot] suffix', async () => {
    const error = await refusal(checkGuard(settings(), botEnv('some-app')))
    expect(error.message).toContain('allow-bots')
  })

  it('holds a bot that sent the event to allow-bots even when the run is attributed to a writer', async () => {
    nock(API).get(permissionPath('alice')).optionally().reply(200, { permission: 'write', role_name: 'write' })
    const error = await refusal(checkGuard(settings(), env({}, { ...USER_EVENT, sender: { login: 'some-app[bot]', type: 'Bot' } })))
    expect(error.message).toContain("'some-app[bot]'")
    expect(error.message).toContain('allow-bots')
  })

  it('a bot listed in allow-users only is still refused', async () => {
    const error = await refusal(checkGuard(settings({ allowUsers: ['dependabot[bot]'] }), botEnv('dependabot[bot]')))
    expect(error.message).toContain('allow-bots')
  })
})

describe('forks', () => {
  const prTarget = (head: unknown, repository: unknown = { full_name: 'o/r', fork: false }) => ({
    action: 'opened',
    repository,
    pull_request: { number: 1, head: { ref: 'feature', repo: head }, base: { ref: 'main', repo: repository } },
    sender: { login: 'alice', type: 'User' }
  })

  it('refuses pull_request_target from a fork, naming the fork and allow-forks, before any API call', async () => {
    const error = await refusal(checkGuard(settings(), env({ GITHUB_EVENT_NAME: 'pull_request_target' }, prTarget({ full_name: 'evil/r', fork: true }))))
    expect(error.message).toContain('evil/r')
    expect(error.message).toContain("'allow-forks: true'")
  })

  it('allows pull_request_target from a fork with allow-forks (the actor is still checked)', async () => {
    answer('alice', 'write')
    await expect(checkGuard(settings({ allowForks: true }), env({ GITHUB_EVENT_NAME: 'pull_request_target' }, prTarget({ full_name: 'evil/r', fork: true })))).resolves.toBeUndefined()
  })

  it('allow-forks does not skip the actor check', async () => {
    answer('alice', 'read')
    const error = await refusal(checkGuard(settings({ allowForks: true }), env({ GITHUB_EVENT_NAME: 'pull_request_target' }, prTarget({ full_name: 'evil/r', fork: true }))))
    expect(error.message).toContain('allow-users')
  })

  it('allows a same-repository pull_request_target', async () => {
    answer('alice', 'write')
    await expect(checkGuard(settings(), env({ GITHUB_EVENT_NAME: 'pull_request_target' }, prTarget({ full_name: 'o/r', fork: false })))).resolves.toBeUndefined()
  })

  it('allows a same-repository pull_request_target in a repository that is itself a fork', async () => {
    // Every repository in such a network reports fork: true; the head is still the base repository.
    answer('alice', 'write')
    const base = { full_name: 'o/r', fork: true }
    await expect(checkGuard(settings(), env({ GITHUB_EVENT_NAME: 'pull_request_target' }, prTarget(base, base)))).resolves.toBeUndefined()
  })

  it('refuses pull_request_target whose head repository is gone (deleted fork)', async () => {
    const error = await refusal(checkGuard(settings(), env({ GITHUB_EVENT_NAME: 'pull_request_target' }, prTarget(null))))
    expect(error.message).toContain('allow-forks')
  })

  it('refuses pull_request_target when the event payload cannot be read', async () => {
    const error = await refusal(checkGuard(settings(), env({ GITHUB_EVENT_NAME: 'pull_request_target', GITHUB_EVENT_PATH: path.join(temp, 'missing.json') })))
    expect(error.message).toContain('allow-forks')
  })

  const workflowRun = (head: unknown) => ({
    action: 'completed',
    repository: { full_name: 'o/r', fork: false },
    workflow_run: { id: 9, event: 'pull_request', head_branch: 'feature', head_repository: head },
    sender: { login: 'alice', type: 'User' }
  })

  it('refuses workflow_run whose head repository differs', async () => {
    const error = await refusal(checkGuard(settings(), env({ GITHUB_EVENT_NAME: 'workflow_run' }, workflowRun({ full_name: 'evil/r', fork: true }))))
    expect(error.message).toContain('workflow_run')
    expect(error.message).toContain('evil/r')
    expect(error.message).toContain('allow-forks')
  })

  it('refuses workflow_run whose head repository is unknown', async () => {
    const error = await refusal(checkGuard(settings(), env({ GITHUB_EVENT_NAME: 'workflow_run' }, workflowRun(null))))
    expect(error.message).toContain('allow-forks')
  })

  it('allows workflow_run from the same repository', async () => {
    answer('alice', 'write')
    await expect(checkGuard(settings(), env({ GITHUB_EVENT_NAME: 'workflow_run' }, workflowRun({ full_name: 'o/r', fork: false })))).resolves.toBeUndefined()
  })

  it('allows workflow_run from a fork with allow-forks', async () => {
    answer('alice', 'write')
    await expect(checkGuard(settings({ allowForks: true }), env({ GITHUB_EVENT_NAME: 'workflow_run' }, workflowRun({ full_name: 'evil/r', fork: true })))).resolves.toBeUndefined()
  })

  it('leaves pull_request (no base secrets) to the actor check', async () => {
    answer('alice', 'write')
    await expect(checkGuard(settings(), env({ GITHUB_EVENT_NAME: 'pull_request' }, prTarget({ full_name: 'evil/r', fork: true })))).resolves.toBeUndefined()
  })
})

describe('self-hosted runners', () => {
  it('refuses bypass on a self-hosted runner, naming allow-self-hosted, before any API call', async () => {
    const error = await refusal(checkGuard(settings(), env({ RUNNER_ENVIRONMENT: 'self-hosted' })))
    expect(error.message).toContain("'self-hosted'")
    expect(error.message).toContain("'allow-self-hosted: true'")
    expect(error.message).toContain('workspace-write')
  })

  it('refuses bypass when the runner kind is unknown', async () => {
    const error = await refusal(checkGuard(settings(), env({ RUNNER_ENVIRONMENT: undefined })))
    expect(error.message).toContain('of unknown kind')
    expect(error.message).toContain('allow-self-hosted')
  })

  it('allows bypass on a self-hosted runner with allow-self-hosted (the actor is still checked)', async () => {
    answer('alice', 'write')
    await expect(checkGuard(settings({ allowSelfHosted: true }), env({ RUNNER_ENVIRONMENT: 'self-hosted' }))).resolves.toBeUndefined()
  })

  it('allow-self-hosted does not skip the actor check', async () => {
    answer('alice', 'read')
    const error = await refusal(checkGuard(settings({ allowSelfHosted: true }), env({ RUNNER_ENVIRONMENT: 'self-hosted' })))
    expect(error.message).toContain('allow-users')
  })

  it.each(['workspace-write', 'read-only'] as const)("allows sandbox '%s' on a self-hosted runner", async (sandbox) => {
    answer('alice', 'write')
    await expect(checkGuard(settings({ sandbox }), env({ RUNNER_ENVIRONMENT: 'self-hosted' }))).resolves.toBeUndefined()
  })
})
