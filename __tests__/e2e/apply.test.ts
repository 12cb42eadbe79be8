// The two-job chain, end to end: the agent job (real Codex, scripted model) uploads its patch to the
// fake results service; apply, in a fresh checkout, downloads it, checks it with git and lands it on a
// local bare remote and the fake GitHub API. Fan-out: three legs with their own slices into one pull
// request, and legs that overlap refused.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { message, shell, startResponsesServer, type ResponsesServer } from '../../test-support/responses-server.js'
import { runAction, type ActionRun } from '../../test-support/runner.js'
import { ACTION_DIR, API_KEY, GITHUB_TOKEN, act, git, scratchFolder, scratchRepository, startWorld, type World } from './harness.js'

let world: World | undefined
const models: ResponsesServer[] = []
afterEach(async () => {
  await world?.close()
  world = undefined
  await Promise.all(models.splice(0).map((model) => model.close()))
})

/** A bare repository as `origin`, holding one commit with `files` on main. */
function remoteWith(files: Record<string, string>): string {
  const seed = scratchRepository(files)
  const origin = path.join(path.dirname(seed), 'origin.git')
  git(path.dirname(seed), 'clone', '-q', '--bare', seed, origin)
  return origin
}

/** A job's checkout of origin's main, as actions/checkout leaves it. */
function checkout(origin: string, ref = 'main'): string {
  const workspace = path.join(scratchFolder('codex-action-apply-job-'), 'repo')
  git(path.dirname(workspace), 'clone', '-q', '--branch', ref, origin, workspace)
  return workspace
}

function treeOf(repository: string): string {
  const index = path.join(scratchFolder('idx-'), 'index')
  const env = { ...process.env, GIT_INDEX_FILE: index }
  execFileSync('git', ['add', '-A'], { cwd: repository, env })
  return execFileSync('git', ['write-tree'], { cwd: repository, env, encoding: 'utf8' }).trim()
}

/** Everything a refusal must leave alone: both repositories' refs and objects, the checkout's HEAD, index and work tree. */
function stateOf(workspace: string, origin: string): string {
  // count-objects: not even an unreferenced object is left in either repository.
  return [git(origin, 'for-each-ref'), git(origin, 'count-objects', '-v'), git(workspace, 'count-objects', '-v'), git(workspace, 'for-each-ref'), git(workspace, 'rev-parse', 'HEAD'), git(workspace, 'status', '--porcelain', '--untracked-files=all'), treeOf(workspace)].join('\n')
}

function applyJob(w: World, workspace: string, inputs: Record<string, string>, options: { event?: Record<string, unknown>; env?: Record<string, string> } = {}): Promise<ActionRun> {
  return runAction({
    actionDir: path.join(ACTION_DIR, 'apply'),
    workspace,
    runnerTemp: scratchFolder('codex-action-apply-temp-'),
    inputs,
    event: options.event,
    env: { ...w.results.env, GITHUB_TOKEN, GITHUB_API_URL: w.github.url, GITHUB_WORKFLOW: 'Scheduled refactor', ...options.env }
  })
}

/** One agent leg with its own scripted model, in its own checkout of origin. */
async function agentLeg(w: World, origin: string, command: string, inputs: Record<string, string>): Promise<{ workspace: string; run: ActionRun }> {
  const model = await startResponsesServer({ script: [{ output: [shell(command)] }, { output: [message(`Leg ${inputs['artifact-name']} done.`)] }], apiKey: API_KEY })
  models.push(model)
  const workspace = checkout(origin)
  const run = await act(w, workspace, { inputs: { 'base-url': model.url, ...inputs } })
  expect(run.main.exitCode, run.main.stdout + run.main.stderr).toBe(0)
  return { workspace, run }
}

// Each test runs the real Codex once per leg, one after the other; the full suite runs files side by side.
describe('agent job, then apply', { timeout: 300_000 }, () => {
  it('opens a pull request from a branch on the remote whose tree is the agent tree, and comments on the triggering issue', async () => {
    const origin = remoteWith({ 'README.md': '# scratch\n', 'src/old.ts': 'export const legacyFetch = 1\n', 'src/gone.txt': 'bye\n' })
    world = await startWorld([
      { output: [shell(`sed -i 's/legacyFetch/fetchJson/' src/old.ts && rm src/gone.txt && mkdir -p src/new && printf 'x\\0y' > src/new/data.bin && ln -s ../old.ts src/new/link.ts`)] },
      { output: [message('Replaced legacyFetch with fetchJson.\n\n@octocat <img src=x onerror=alert(1)> [click](https://evil.example)')] }
    ])
    const agent = checkout(origin)
    const agentRun = await act(world, agent, { inputs: { 'artifact-name': 'codex-refactor' } })
    expect(agentRun.main.exitCode, agentRun.main.stdout + agentRun.main.stderr).toBe(0)
    const agentTree = treeOf(agent)

    const landing = checkout(origin)
    const issueEvent = { issue: { number: 7 }, repository: { full_name: 'octo-org/octo-repo', default_branch: 'main' } }
    const run = await applyJob(world, landing, { 'artifact-name': 'codex-refactor', labels: 'codex, refactor', reviewers: 'octocat' }, { event: issueEvent, env: { GITHUB_EVENT_NAME: 'issues' } })

    expect(run.main.exitCode, run.main.stdout + run.main.stderr).toBe(0)
    const outputs = run.main.outputs
    expect(outputs.landed).toBe('true')
    expect(outputs.branch).toBe('codex/scheduled-refactor-1658821493')
    expect(git(origin, 'rev-parse', `${outputs.branch}^{tree}`).trim()).toBe(agentTree)
    expect(git(origin, 'rev-parse', `${outputs.branch}^`).trim()).toBe(git(origin, 'rev-parse', 'main').trim())
    expect(git(origin, 'rev-parse', outputs.branch).trim()).toBe(outputs['commit-sha'])
    expect(git(origin, 'log', '-1', '--format=%s%n%an <%ae>', outputs.branch)).toBe('Codex: Replaced legacyFetch with fetchJson.\ngithub-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>\n')

    expect(world.github.pulls).toHaveLength(1)
    const pull = world.github.pulls[0]
    expect(outputs['pull-request-number']).toBe(String(pull.number))
    expect(outputs['pull-request-url']).toBe(`https://github.com/octo-org/octo-repo/pull/${pull.number}`)
    expect(pull).toMatchObject({ head: outputs.branch, base: 'main', title: 'Codex: Replaced legacyFetch with fetchJson.', labels: ['codex', 'refactor'], reviewers: ['octocat'] })
    // The agent's text is inside a fence longer than any backtick run: GitHub renders none of it.
    expect(pull.body).toMatch(/```markdown\nReplaced legacyFetch with fetchJson\.\n\n@octocat <img src=x onerror=alert\(1\)> \[click\]\(https:\/\/evil\.example\)\n```/)
    expect(pull.body).toContain('src/old.ts')
    expect(pull.body).toMatch(/model requests/)
    expect(world.github.authorizations.every((header) => header.endsWith(GITHUB_TOKEN))).toBe(true)

    // One sticky comment on the triggering issue; a second run of apply in the same workflow run updates it.
    expect(world.github.comments).toHaveLength(1)
    expect(world.github.comments[0]).toMatchObject({ issue: 7 })
    expect(world.github.comments[0].body).toContain(`pull request #${pull.number}`)
    expect(world.github.comments[0].body).toContain('/artifacts/')

    // The same branch again: the pull request is updated (GitHub's 422 for a second one), not duplicated.
    const again = await applyJob(world, checkout(origin), { 'artifact-name': 'codex-refactor', title: 'Weekly refactor' }, { event: issueEvent })
    expect(again.main.exitCode, again.main.stdout + again.main.stderr).toBe(0)
    expect(world.github.pulls).toHaveLength(1)
    expect(world.github.pulls[0].title).toBe('Weekly refactor')
    expect(again.main.outputs['pull-request-number']).toBe(String(pull.number))
    expect(world.github.comments).toHaveLength(1)
    expect(world.github.requests).toContain(`PATCH /repos/octo-org/octo-repo/issues/comments/${world.github.comments[0].id}`)
  })

  it('fans out: three legs with their own paths land as one commit and one pull request listing every leg; changes outside a slice stay out', async () => {
    const origin = remoteWith({ 'packages/a/index.js': 'a\n', 'packages/b/index.js': 'b\n', 'packages/c/index.js': 'c\n', 'README.md': 'top\n' })
    world = await startWorld([])
    const legs = []
    for (const name of ['a', 'b', 'c']) {
      // Leg a also touches the README, outside its slice.
      const extra = name === 'a' ? ' && echo changed > README.md' : ''
      legs.push(await agentLeg(world, origin, `echo ${name}2 > packages/${name}/index.js && echo new > packages/${name}/added.txt${extra}`, { 'artifact-name': `codex-fanout-${name}`, paths: `packages/${name}` }))
    }
    const legA = legs[0].run
    expect(legA.main.stdout).toMatch(/Left out of the patch: 1 changed paths outside this leg's paths \(README\.md\)/)
    const recordA = JSON.parse(String(world.results.artifacts.find((artifact) => artifact.name === 'codex-fanout-a')!.files.get('run.json')))
    expect(recordA).toMatchObject({ slice: ['packages/a'], outsideSlice: ['README.md'] })
    expect(String(world.results.artifacts[0].files.get('codex.patch'))).not.toContain('README.md')

    const landing = checkout(origin)
    const run = await applyJob(world, landing, { 'artifact-pattern': 'codex-fanout-*', branch: 'codex/fanout' })
    expect(run.main.exitCode, run.main.stdout + run.main.stderr).toBe(0)
    const files = git(origin, 'diff', '--name-only', 'main', 'codex/fanout').trim().split('\n')
    expect(files).toEqual(['packages/a/added.txt', 'packages/a/index.js', 'packages/b/added.txt', 'packages/b/index.js', 'packages/c/added.txt', 'packages/c/index.js'])
    expect(git(origin, 'show', 'codex/fanout:packages/b/index.js')).toBe('b2\n')
    expect(git(origin, 'show', 'codex/fanout:README.md')).toBe('top\n')
    expect(git(origin, 'rev-list', '--count', 'main..codex/fanout').trim()).toBe('1')
    expect(world.github.pulls).toHaveLength(1)
    for (const name of ['a', 'b', 'c']) expect(world.github.pulls[0].body).toContain(`Leg \`codex-fanout-${name}\``)
    expect(git(origin, 'log', '-1', '--format=%B', 'codex/fanout')).toContain('- codex-fanout-c (packages/c)')
    expect(JSON.parse(run.main.outputs.legs).map((leg: { name: string; files: string[] }) => [leg.name, leg.files])).toEqual([
      ['codex-fanout-a', ['packages/a/added.txt', 'packages/a/index.js']],
      ['codex-fanout-b', ['packages/b/added.txt', 'packages/b/index.js']],
      ['codex-fanout-c', ['packages/c/added.txt', 'packages/c/index.js']]
    ])
  })

  it('refuses legs that change the same file, naming the legs and the file; nothing is pushed', async () => {
    const origin = remoteWith({ 'README.md': 'top\n', 'a.txt': 'a\n', 'b.txt': 'b\n' })
    world = await startWorld([])
    await agentLeg(world, origin, 'echo one > README.md && echo a2 > a.txt', { 'artifact-name': 'codex-leg-1' })
    await agentLeg(world, origin, 'echo two > README.md && echo b2 > b.txt', { 'artifact-name': 'codex-leg-2' })
    const landing = checkout(origin)
    const before = stateOf(landing, origin)

    const run = await applyJob(world, landing, { 'artifact-pattern': 'codex-leg-*' })

    expect(run.main.exitCode).not.toBe(0)
    expect(run.main.stdout).toContain('::error::Refused: legs change the same paths, so their patches cannot be combined: README.md (codex-leg-1, codex-leg-2)')
    expect(JSON.parse(run.main.outputs['refused-paths'])).toEqual(['README.md'])
    expect(run.main.outputs.landed).toBe('false')
    expect(stateOf(landing, origin)).toBe(before)
    expect(world.github.pulls).toHaveLength(0)
  })
})
