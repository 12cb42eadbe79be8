// Every way apply refuses, and its other landing modes, against artifacts shaped like the agent job's
// (uploaded with the real artifact client to the fake results service): a clear message, a failed
// step, and the checkout and the remote exactly as they were.
import { execFileSync } from 'node:child_process'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { serveGitHttp } from '../../test-support/git-http.js'
import { ISSUE_EVENT, START, applyJob, checkout, expectRefusal, patchOf, remoteWith, stateOf, uploadLeg } from './apply-support.js'
import { GITHUB_TOKEN, git, startWorld, type World } from './harness.js'

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

// Several apply runs per test (the bad inputs: thirteen); the full suite runs files side by side.
describe('apply refuses, changing nothing', { timeout: 180_000 }, () => {
  it('a patch that does not apply to the checked-out commit', async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    await uploadLeg(world, 'codex-x', patchOf(origin, (top) => writeFileSync(path.join(top, 'src/a.txt'), 'changed\n')))
    // The branch moved on since the agent's checkout.
    const mover = checkout(origin)
    writeFileSync(path.join(mover, 'src/a.txt'), 'someone else\n')
    git(mover, 'commit', '-qam', 'moved')
    git(mover, 'push', '-q', 'origin', 'main')
    await expectRefusal(world!, origin, { 'artifact-name': 'codex-x' }, /Refused: the patch of 'codex-x' does not apply to the checked-out commit [0-9a-f]{40}: .*src\/a\.txt/)
  })

  it('more files than max-files, and more bytes than max-bytes', async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    await uploadLeg(world, 'codex-x', patchOf(origin, (top) => ['1', '2', '3'].forEach((n) => writeFileSync(path.join(top, `new${n}.txt`), n))))
    await expectRefusal(world!, origin, { 'artifact-name': 'codex-x', 'max-files': '2' }, 'Refused: the patches change 3 files, more than max-files (2).')
    await expectRefusal(world!, origin, { 'artifact-name': 'codex-x', 'max-bytes': '100' }, /The patch of 'codex-x' is \d+ bytes, more than max-bytes \(100\)\./)
  })

  it('protected paths by default, every one listed; allowed-paths lifts one, protected-paths adds one', async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    await uploadLeg(world, 'codex-x', patchOf(origin, (top) => {
      mkdirSync(path.join(top, '.github/workflows'), { recursive: true })
      writeFileSync(path.join(top, '.github/workflows/ci.yml'), 'on: push\n')
      writeFileSync(path.join(top, 'action.yml'), 'runs: {}\n')
      mkdirSync(path.join(top, 'tools'))
      writeFileSync(path.join(top, 'tools/.npmrc'), '//registry.npmjs.org/:_authToken=x\n')
      writeFileSync(path.join(top, '.gitattributes'), '* filter=evil\n')
      writeFileSync(path.join(top, 'CODEOWNERS'), '* @someone\n')
      writeFileSync(path.join(top, 'src/a.txt'), 'fine\n')
    }))
    const all = ['.gitattributes', '.github/workflows/ci.yml', 'CODEOWNERS', 'action.yml', 'tools/.npmrc']
    await expectRefusal(world!, origin, { 'artifact-name': 'codex-x' }, `Refused: the patches change protected paths: ${all.join(', ')}.`, all)
    world.github.comments.splice(0)
    const withoutCi = all.filter((file) => file !== '.github/workflows/ci.yml')
    await expectRefusal(world!, origin, { 'artifact-name': 'codex-x', 'allowed-paths': '.github/workflows/ci.yml', 'protected-paths': 'src/**' }, 'protected paths', [...withoutCi.slice(0, 4), 'src/a.txt', ...withoutCi.slice(4)].sort())
  })

  it('a symbolic link that points outside the repository, or into .git', async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    await uploadLeg(world, 'codex-x', patchOf(origin, (top) => {
      symlinkSync('../../../etc/passwd', path.join(top, 'src/up'))
      symlinkSync('/etc/shadow', path.join(top, 'abs'))
      symlinkSync('../.git/config', path.join(top, 'src/git'))
      symlinkSync('a.txt', path.join(top, 'src/fine'))
    }))
    await expectRefusal(world!, origin, { 'artifact-name': 'codex-x' }, 'Refused: the patches leave symbolic links that point outside the repository: abs -> /etc/shadow, src/git -> ../.git/config, src/up -> ../../../etc/passwd.', ['abs', 'src/git', 'src/up'])
  })

  it('a patch the agent job marked as redacted, or whose run.json does not say', async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    const patch = patchOf(origin, (top) => writeFileSync(path.join(top, 'src/a.txt'), 'secret was here: ***\n'))
    await uploadLeg(world, 'codex-redacted', patch, { patchRedacted: true })
    await uploadLeg(world, 'codex-unsaid', patch, { patchRedacted: undefined })
    await expectRefusal(world!, origin, { 'artifact-name': 'codex-redacted' }, "Refused: the patch of 'codex-redacted' was redacted by the agent job")
    await expectRefusal(world!, origin, { 'artifact-name': 'codex-unsaid' }, "Refused: the patch of 'codex-unsaid' was redacted by the agent job")
  })

  it('a missing artifact, naming the ones the run has', async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    await uploadLeg(world, 'codex-other', '')
    await expectRefusal(world!, origin, { 'artifact-name': 'codex-x' }, "No artifact named 'codex-x' in this workflow run (its artifacts: codex-other).")
    await expectRefusal(world!, origin, { 'artifact-pattern': 'codex-leg-*' }, "No artifact matching 'codex-leg-*' in this workflow run (its artifacts: codex-other).")
  })

  it('push mode on a pull request from a fork: a comment with the summary, never a push', async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    world.github.pulls.push({ number: 5, title: 'from a fork', body: '', head: 'main', base: 'main', state: 'open', labels: [], reviewers: [], headRepository: 'someone/octo-repo' })
    await uploadLeg(world, 'codex-fix', patchOf(origin, (top) => writeFileSync(path.join(top, 'src/a.txt'), 'fixed\n')))
    const workspace = checkout(origin)
    const before = stateOf(workspace, origin)
    const run = await applyJob(world, workspace, { 'artifact-name': 'codex-fix', mode: 'push' }, { event: { issue: { number: 5, pull_request: {} }, comment: { body: '/codex fix' } } })
    expect(run.main.exitCode).toBe(1)
    expect(run.main.stdout).toContain("::error::Not pushed: the pull request's branch lives in a fork, where apply never pushes. 1 files would change")
    expect(stateOf(workspace, origin)).toBe(before)
    expect(world.github.comments).toHaveLength(1)
    expect(world.github.comments[0]).toMatchObject({ issue: 5 })
    expect(world.github.comments[0].body).toContain('src/a.txt')

    // A workflow_run from a fork: GitHub lists no pull request there, the head repository says it all.
    const fromRun = checkout(origin)
    const beforeRun = stateOf(fromRun, origin)
    const failedCi = { workflow_run: { head_branch: 'main', head_repository: { full_name: 'someone/octo-repo' }, pull_requests: [] } }
    const viaRun = await applyJob(world, fromRun, { 'artifact-name': 'codex-fix', mode: 'push' }, { event: failedCi })
    expect(viaRun.main.exitCode).toBe(1)
    expect(viaRun.main.stdout).toContain("::error::Not pushed: the pull request's branch lives in a fork")
    expect(stateOf(fromRun, origin)).toBe(beforeRun)
  })

  it('bad inputs: a clear error naming the input and the accepted form, and nothing downloaded', async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    const cases: [Record<string, string>, string][] = [
      [{}, "Input 'artifact-name' and 'artifact-pattern' are both empty. Expected exactly one"],
      [{ 'artifact-name': 'a', 'artifact-pattern': 'b*' }, "Input 'artifact-name' and 'artifact-pattern' are both given."],
      [{ 'artifact-name': 'a', mode: 'merge' }, "Input 'mode' is 'merge'. Expected one of 'pull-request', 'push', 'commit'"],
      [{ 'artifact-name': 'a', 'max-files': '0' }, "Input 'max-files' is '0'. Expected a whole number of at least 1"],
      [{ 'artifact-name': 'a', 'max-bytes': '1e6' }, "Input 'max-bytes' is '1e6'. Expected a whole number of at least 1"],
      [{ 'artifact-name': 'a', 'protected-paths': '../x' }, "Input 'protected-paths' names '../x', which has a '.' or '..' segment"],
      [{ 'artifact-name': 'a', 'allowed-paths': '/etc/**' }, "Input 'allowed-paths' names '/etc/**', which is absolute"],
      [{ 'artifact-name': 'a', branch: 'codex/..bad' }, "Input 'branch' is 'codex/..bad'"],
      [{ 'artifact-name': 'a', base: 'a b' }, "Input 'base' is 'a b'. Expected a branch name"],
      [{ 'artifact-name': 'a', author: 'nobody' }, "Input 'author' is 'nobody'. Expected 'Name <email>'"],
      [{ 'artifact-name': 'a', comment: 'yes' }, "Input 'comment'"],
      [{ 'artifact-name': 'a', 'github-token': '' }, "Input 'github-token' is empty"],
      [{ 'artifact-name': 'a', 'working-directory': '../elsewhere' }, "Input 'working-directory' is"]
    ]
    for (const [inputs, message] of cases) {
      const workspace = checkout(origin)
      const before = stateOf(workspace, origin)
      const run = await applyJob(world, workspace, inputs)
      expect(run.main.exitCode, JSON.stringify(inputs)).toBe(1)
      expect(run.main.stdout, JSON.stringify(inputs)).toContain(`::error::${message}`)
      expect(stateOf(workspace, origin)).toBe(before)
    }
    expect(world.results.calls.filter((call) => call.method === 'ListArtifacts')).toHaveLength(0)
    expect(world.github.requests).toHaveLength(0)
  })
})

describe('apply lands in the other modes', { timeout: 180_000 }, () => {
  it('push: commits onto the pull request branch and pushes it, never forced', async () => {
    const origin = remoteWith(START)
    const feature = checkout(origin)
    git(feature, 'switch', '-qc', 'feature')
    git(feature, 'push', '-q', 'origin', 'feature')
    world = await startWorld([])
    world.github.pulls.push({ number: 9, title: 'feature', body: '', head: 'feature', base: 'main', state: 'open', labels: [], reviewers: [] })
    await uploadLeg(world, 'codex-fix', patchOf(origin, (top) => writeFileSync(path.join(top, 'src/a.txt'), 'fixed\n')))
    const workspace = checkout(origin, 'feature')
    const run = await applyJob(world, workspace, { 'artifact-name': 'codex-fix', mode: 'push' }, { event: { pull_request: { number: 9, head: { ref: 'feature', repo: { full_name: 'octo-org/octo-repo' } } } } })
    expect(run.main.exitCode, run.main.stdout).toBe(0)
    expect(run.main.outputs).toMatchObject({ landed: 'true', branch: 'feature', 'pull-request-number': '' })
    expect(git(origin, 'show', 'feature:src/a.txt')).toBe('fixed\n')
    expect(git(origin, 'rev-parse', 'feature').trim()).toBe(run.main.outputs['commit-sha'])
    // The checkout is on the new commit, clean.
    expect(git(workspace, 'rev-parse', 'HEAD').trim()).toBe(run.main.outputs['commit-sha'])
    expect(git(workspace, 'status', '--porcelain')).toBe('')
    expect(world.github.comments[0].body).toContain('Codex apply: landed')
    expect(world.github.comments[0].body).toContain('on feature')
  })

  it('commit (on Node 24, as action.yml declares): commits on the checkout only; an empty patch lands nothing and says so', async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    await uploadLeg(world, 'codex-x', patchOf(origin, (top) => writeFileSync(path.join(top, 'docs/guide.md'), 'better guide\n')))
    await uploadLeg(world, 'codex-empty', '')
    const workspace = checkout(origin)
    const remoteBefore = git(origin, 'for-each-ref')
    const node24 = inject('node24Binary')
    expect(execFileSync(node24, ['--version'], { encoding: 'utf8' })).toMatch(/^v24\./)
    const run = await applyJob(world, workspace, { 'artifact-name': 'codex-x', mode: 'commit' }, { nodeBinary: node24 })
    expect(run.main.exitCode, run.main.stdout).toBe(0)
    expect(git(workspace, 'rev-parse', 'HEAD').trim()).toBe(run.main.outputs['commit-sha'])
    expect(git(workspace, 'show', 'HEAD:docs/guide.md')).toBe('better guide\n')
    expect(git(workspace, 'status', '--porcelain')).toBe('')
    expect(git(origin, 'for-each-ref')).toBe(remoteBefore)

    const quiet = checkout(origin)
    const before = stateOf(quiet, origin)
    const empty = await applyJob(world, quiet, { 'artifact-name': 'codex-empty' }, { event: ISSUE_EVENT })
    expect(empty.main.exitCode, empty.main.stdout).toBe(0)
    expect(empty.main.outputs.landed).toBe('false')
    expect(empty.main.outputs['commit-sha']).toBeUndefined()
    expect(stateOf(quiet, origin)).toBe(before)
    expect(world.github.pulls).toHaveLength(0)
    expect(world.github.comments[0].body).toContain('Codex apply: no-changes')
    expect(world.github.comments[0].body).toContain('Nothing to land')
  })

  it('never force-pushes over the base, checked-out or default branch', async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    await uploadLeg(world, 'codex-x', patchOf(origin, (top) => writeFileSync(path.join(top, 'docs/guide.md'), 'better guide\n')))
    for (const inputs of [{ branch: 'main' }, { branch: 'main', base: 'develop' }] as Record<string, string>[]) {
      const workspace = checkout(origin)
      const before = stateOf(workspace, origin)
      const run = await applyJob(world, workspace, { 'artifact-name': 'codex-x', ...inputs })
      expect(run.main.exitCode).toBe(1)
      expect(run.main.stdout).toContain("::error::The input 'branch' (main) is the base, the checked-out or the default branch")
      expect(stateOf(workspace, origin)).toBe(before)
    }
    // mode push without a pull request to push to (a scheduled run) is refused the same way.
    const workspace = checkout(origin)
    const before = stateOf(workspace, origin)
    const run = await applyJob(world, workspace, { 'artifact-name': 'codex-x', mode: 'push' })
    expect(run.main.exitCode).toBe(1)
    expect(run.main.stdout).toContain('::error::mode push needs a pull request to push to')
    expect(stateOf(workspace, origin)).toBe(before)
  })

  it('over https, pushes with github-token, replacing the credential the checkout persisted', async () => {
    const origin = remoteWith(START)
    const accepted = `Basic ${Buffer.from(`x-access-token:${GITHUB_TOKEN}`).toString('base64')}`
    const remote = await serveGitHttp(origin, accepted)
    try {
      world = await startWorld([])
      await uploadLeg(world, 'codex-x', patchOf(origin, (top) => writeFileSync(path.join(top, 'docs/guide.md'), 'better guide\n')))
      const workspace = checkout(origin)
      git(workspace, 'remote', 'set-url', 'origin', remote.url)
      // As actions/checkout persists credentials: an extra header for the server, here with a stale token.
      git(workspace, 'config', `http.${new URL(remote.url).origin}/.extraheader`, `AUTHORIZATION: basic ${Buffer.from('x-access-token:stale').toString('base64')}`)
      const run = await applyJob(world, workspace, { 'artifact-name': 'codex-x' })
      expect(run.main.exitCode, run.main.stdout + run.main.stderr).toBe(0)
      expect(git(origin, 'rev-parse', run.main.outputs.branch).trim()).toBe(run.main.outputs['commit-sha'])
      expect(remote.authorizations.length).toBeGreaterThan(0)
      expect(remote.authorizations.every((header) => header === accepted)).toBe(true)
      // The header's token part is masked before git runs.
      expect(run.main.masks).toContain(accepted.slice('Basic '.length))
    } finally {
      await remote.close()
    }
  })

  it('a token without pull-requests: write (403): the step fails saying which permission', async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    world.github.forbidden.push(/^POST \/repos\/[^/]+\/[^/]+\/pulls$/)
    await uploadLeg(world, 'codex-x', patchOf(origin, (top) => writeFileSync(path.join(top, 'docs/guide.md'), 'better guide\n')))
    const run = await applyJob(world, checkout(origin), { 'artifact-name': 'codex-x' })
    expect(run.main.exitCode).toBe(1)
    expect(run.main.stdout).toContain('::error::The github-token may not open a pull request (HTTP 403): give the job pull-requests: write')
    expect(world.github.pulls).toHaveLength(0)

    world.github.forbidden.push(/^GET \/repos\/[^/]+\/[^/]+\/pulls\/\d+$/)
    const workspace = checkout(origin)
    const before = stateOf(workspace, origin)
    const onComment = await applyJob(world, workspace, { 'artifact-name': 'codex-x', mode: 'push' }, { event: { issue: { number: 5, pull_request: {} } } })
    expect(onComment.main.exitCode).toBe(1)
    expect(onComment.main.stdout).toContain('::error::The github-token may not read pull request #5 (HTTP 403): give the job pull-requests: read.')
    expect(stateOf(workspace, origin)).toBe(before)
  })
})
