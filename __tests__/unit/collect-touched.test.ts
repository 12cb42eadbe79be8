// Collect with what the agent touched (mode `user`): the real stages, record-start, lend to a uid,
// the mark, the agent's changes made by a process of that uid, the root-side listing, hand-back and
// collect, against an agent that hides its changes from stat: same sizes, mtimes set back, inode
// numbers recycled, renames and swaps. Each patch must be byte for byte the one git makes when it
// reads every file. Needs root (or passwordless sudo), like lend.
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { collectChanges, recordStart, type Changes } from '../../src/collect.js'
import { locateRepository } from '../../src/git-dir.js'
import { findPrivilege, type AgentIdentity, type Privilege } from '../../src/isolation.js'
import { handBack, lendWorkspace, type AgentFolders } from '../../src/lend.js'
import { Redactor } from '../../src/redact.js'
import { listTouched, markLent, type Touched } from '../../src/touched.js'

const GIT_ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e.st', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e.st', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' }
// A uid with no user behind it, as bench/collect.ts uses: chown, find and setuid need only the number.
const AGENT = 64_124
const privilege = await findPrivilege()

function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync('git', args, { cwd, encoding: 'latin1', maxBuffer: 1 << 26, env: { ...process.env, ...GIT_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
}

let root: string
let savedWorkspace: string | undefined
beforeEach(() => {
  savedWorkspace = process.env.GITHUB_WORKSPACE
  delete process.env.GITHUB_WORKSPACE
  root = mkdtempSync(path.join(os.tmpdir(), 'codex-action-touched-'))
  // The agent's processes must reach the repository below it.
  chmodSync(root, 0o711)
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
})
afterEach(() => {
  vi.restoreAllMocks()
  if (savedWorkspace !== undefined) process.env.GITHUB_WORKSPACE = savedWorkspace
  // Hand-back unmounts; a test that failed before it leaves the mounts, which must go before the folder does.
  for (const mount of ['workspace', 'codex']) {
    try {
      execFileSync('umount', ['--lazy', path.join(root, 'agent', mount)], { stdio: 'ignore' })
    } catch {
      // Not mounted: hand-back did it.
    }
  }
  execFileSync('rm', ['-rf', '--one-file-system', root])
})

/** A committed repository of `files` (40 small ones in each of three folders, plus the test's own), checked out long enough ago that no entry is racy. */
function repository(files: Record<string, string>): string {
  const top = path.join(root, 'repo')
  for (const folder of ['a', 'b', 'c']) for (let i = 0; i < 40; i++) files[`${folder}/filler${i}.txt`] ??= `filler ${folder} ${i}\n`
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(top, name)), { recursive: true })
    writeFileSync(path.join(top, name), content)
  }
  git(top, ['init', '-q', '-b', 'main'])
  git(top, ['add', '-A'])
  git(top, ['commit', '-q', '-m', 'start'])
  // Every file an hour old, as a checkout long before the run leaves it; then an index that knows those stats.
  execFileSync('find', [top, '-path', path.join(top, '.git'), '-prune', '-o', '-exec', 'touch', '-h', '-d', '1 hour ago', '{}', '+'])
  git(top, ['update-index', '--refresh'])
  return top
}

function agentFolders(): AgentFolders {
  const base = path.join(root, 'agent')
  const folders = { root: base, home: path.join(base, 'home'), codexHome: path.join(base, 'codex-home'), workspaceMount: path.join(base, 'workspace'), codexMount: path.join(base, 'codex') }
  for (const folder of [folders.home, folders.codexHome, folders.workspaceMount, folders.codexMount, path.join(base, 'codex-source')]) mkdirSync(folder, { recursive: true })
  return folders
}

/** The run around an agent that is `script` (sh, as the agent's uid, in the repository as lent). */
async function runAsAgent(top: string, script: string, listing: 'used' | 'refused' = 'used'): Promise<{ changes: Changes; touched: Touched | undefined }> {
  const run = path.join(root, 'run')
  mkdirSync(path.join(run, 'output'), { recursive: true, mode: 0o700 })
  const identity = { privilege, uid: AGENT, gid: AGENT } as AgentIdentity
  const folders = agentFolders()
  const start = await recordStart(await locateRepository(top, run), [run])
  const withheld = await lendWorkspace(identity, folders, top, path.join(folders.root, 'codex-source'))
  const lent = await markLent(start.dirs)
  execFileSync('sh', ['-euc', script], { cwd: folders.workspaceMount, uid: AGENT, gid: AGENT, env: { PATH: process.env.PATH }, stdio: 'pipe' })
  const touched = await listTouched(privilege, top, lent)
  // The listing is what is under test: without it collect reads every file, which proves nothing here.
  if (listing === 'used') expect(touched).toBeDefined()
  else expect(touched).toBeUndefined()
  const privateNow = await handBack(identity, folders, top)
  const changes = await collectChanges(start, path.join(run, 'output'), new Redactor([]), [...withheld, ...privateNow], privilege, [], touched)
  return { changes, touched }
}

/** The patch git makes from the start commit when it reads every file (an index with no stat data at all). */
function patchReadingEverything(top: string): string {
  const index = path.join(root, 'truth-index')
  git(top, ['read-tree', 'HEAD'], { GIT_INDEX_FILE: index })
  git(top, ['add', '--all'], { GIT_INDEX_FILE: index })
  return git(top, ['diff', '--cached', '--no-ext-diff', '--no-color', '-M', '--binary', '--full-index', 'HEAD'], { GIT_INDEX_FILE: index })
}

function expectFaithful(top: string, changes: Changes, mustShow: RegExp[]): void {
  const patch = readFileSync(changes.patchFile, 'latin1')
  expect(patch).toBe(patchReadingEverything(top))
  for (const shown of mustShow) expect(patch).toMatch(shown)
}

/** sh that puts back a path's mtime as it was before the change. */
const keepMtime = (file: string, run: string): string => `m=$(stat -c %Y ${file}); ${run}; touch -h -d @$m ${file}`

describe.skipIf(!privilege)('collect with what the agent touched', () => {
  it('sees a same-length edit whose mtime was put back, in a folder where nothing else changed', async () => {
    const top = repository({ 'a/config.txt': 'mode=safe\n' })
    const { changes, touched } = await runAsAgent(top, keepMtime('a/config.txt', "printf 'mode=evil\\n' > a/config.txt"))
    expect(statSync(path.join(top, 'a/config.txt')).size).toBe('mode=safe\n'.length)
    expectFaithful(top, changes, [/^-mode=safe$/m, /^\+mode=evil$/m])
    // Only what the agent touched is listed: the other files of the folder keep their stat and are not read again.
    expect([...touched!]).toEqual(['a/config.txt'])
  })

  it('sees a file deleted and made again with the same size and mtime (its inode number may be recycled)', async () => {
    const top = repository({ 'b/key.txt': 'AAAA\n' })
    const { changes } = await runAsAgent(top, keepMtime('b/key.txt', "rm b/key.txt; printf 'BBBB\\n' > b/key.txt"))
    expectFaithful(top, changes, [/^-AAAA$/m, /^\+BBBB$/m])
  })

  it('sees two same-size files swapped by renames, their mtimes set to each other\'s', async () => {
    const top = repository({ 'c/left.txt': 'left!\n', 'c/right.txt': 'right\n' })
    const { changes } = await runAsAgent(top, 'l=$(stat -c %Y c/left.txt); r=$(stat -c %Y c/right.txt); mv c/left.txt c/tmp; mv c/right.txt c/left.txt; mv c/tmp c/right.txt; touch -d @$l c/left.txt; touch -d @$r c/right.txt')
    expectFaithful(top, changes, [/^\+right$/m, /^\+left!$/m])
  })

  it('sees a file replaced by a hard link to another of the same size', async () => {
    const top = repository({ 'a/one.txt': 'one\n', 'a/two.txt': 'two\n' })
    const { changes } = await runAsAgent(top, keepMtime('a/two.txt', 'rm a/two.txt; ln a/one.txt a/two.txt'))
    expectFaithful(top, changes, [/^-two$/m, /^\+one$/m])
  })

  it('sees a mode change alone', async () => {
    const top = repository({ 'b/run.sh': 'echo hi\n' })
    const { changes } = await runAsAgent(top, 'chmod +x b/run.sh')
    expectFaithful(top, changes, [/^old mode 100644\nnew mode 100755$/m])
  })

  it('sees two folders swapped whose files all keep their stat (only the inode numbers say which is which)', async () => {
    const top = repository({ 'd/x/same.txt': 'from x\n', 'd/y/same.txt': 'from y\n' })
    const { changes } = await runAsAgent(top, 'mv d/x d/tmp; mv d/y d/x; mv d/tmp d/y; touch -d "1 hour ago" d/x/same.txt d/y/same.txt')
    expectFaithful(top, changes, [/^\+from y$/m, /^\+from x$/m])
  })

  it('sees a file turned into a link, a new file, a deletion and an edit deep in a folder made unreadable', async () => {
    const top = repository({ 'e/f/g/deep.txt': 'deep\n', 'e/link-me.txt': 'plain\n', 'e/gone.txt': 'bye\n' })
    const { changes } = await runAsAgent(
      top,
      `${keepMtime('e/f/g/deep.txt', "printf 'DEEP\\n' > e/f/g/deep.txt")}; rm e/link-me.txt; ln -s ../a/filler1.txt e/link-me.txt; rm e/gone.txt; printf 'new\\n' > e/new.txt; chmod 000 e/f`
    )
    expectFaithful(top, changes, [/^\+DEEP$/m, /^new file mode 120000$/m, /^deleted file mode 100644$/m, /^\+new$/m])
  })

  // Attacks on the listing itself (attack-speed review): names find and git spell differently, links and type changes, a listing too long to keep.
  it('sees a hidden edit to a file whose name holds a newline, a byte that is not UTF-8 and a cut multibyte character', async () => {
    const top = path.join(root, 'repo')
    // Two names that decode to the same text (the 0xff and 0xfe bytes both become U+FFFD): only the edited one must show.
    const odd = (first: number) => Buffer.concat([Buffer.from(`${top}/odd/`), Buffer.from([first, 0x0a, 0x2e, 0xf0, 0x9f, 0x98])])
    mkdirSync(path.join(top, 'odd'), { recursive: true })
    writeFileSync(odd(0xff), 'AAAA\n')
    writeFileSync(odd(0xfe), 'CCCC\n')
    writeFileSync(path.join(top, 'odd', 'tab\there \\ "q".txt'), 'tab!\n')
    repository({})
    const { changes, touched } = await runAsAgent(
      top,
      `f=$(printf 'odd/\\377\\n.\\360\\237\\230'); m=$(stat -c %Y "$f"); printf 'BBBB\\n' > "$f"; touch -d @$m "$f"; ` +
        `g=$(printf 'odd/tab\\there \\\\ "q".txt'); m=$(stat -c %Y "$g"); printf 'TAB!\\n' > "$g"; touch -d @$m "$g"`
    )
    expect(touched!.size).toBe(2)
    expectFaithful(top, changes, [/^-AAAA$/m, /^\+BBBB$/m, /^-tab!$/m, /^\+TAB!$/m])
    expect(readFileSync(changes.patchFile, 'latin1')).not.toMatch(/CCCC/)
  })

  it('sees an edit made through a hard link outside the work tree, the link since deleted, the mtime put back', async () => {
    const top = repository({ 'a/secret.txt': 'keep\n' })
    // Through the repository's own path (its lent view is a bind mount, which refuses links to another mount), to /tmp on the same file system.
    const { changes } = await runAsAgent(top, `l=/tmp/codex-action-touched-link-$$; m=$(stat -c %Y a/secret.txt); ln ${top}/a/secret.txt $l; printf 'LEAK\\n' > $l; touch -d @$m $l; rm $l`)
    expectFaithful(top, changes, [/^-keep$/m, /^\+LEAK$/m])
  })

  it('sees type changes: a folder replaced by a file, a file by a folder, a file by a link to itself renamed', async () => {
    const top = repository({ 't/dir/inner.txt': 'inner\n', 't/file.txt': 'file\n', 't/keep.txt': 'keep\n' })
    const { changes } = await runAsAgent(top, `rm -r t/dir; printf 'now a file\\n' > t/dir; rm t/file.txt; mkdir t/file.txt; printf 'x\\n' > t/file.txt/x; mv t/keep.txt t/kept.txt; ln -s kept.txt t/keep.txt`)
    expectFaithful(top, changes, [/^deleted file mode 100644$/m, /^\+now a file$/m, /^new file mode 120000$/m])
  })

  it('reads every file again, and still sees a hidden edit, when the agent makes the listing outgrow 1 MiB', async () => {
    const top = repository({ 'b/quiet.txt': 'aaaa\n' })
    // 6,000 new empty files with 200-byte names: over 1.2 MB of listing, more than root's commands may print.
    const { changes } = await runAsAgent(
      top,
      `mkdir n; cd n; seq 1 6000 | sed "s/$/-$(printf '%0195d' 0)/" | xargs touch; cd ..; ${keepMtime('b/quiet.txt', "printf 'bbbb\\n' > b/quiet.txt")}`,
      'refused'
    )
    expectFaithful(top, changes, [/^-aaaa$/m, /^\+bbbb$/m])
    expect(changes.changedFiles.length).toBe(6001)
  })

  // A second file system mounted inside the work tree, which dates changes to the whole second (ext4 with 128-byte
  // inodes; ext2/3, FAT or an NFS server's own clock do their own way): an edit in the mark's second reads as older
  // than the mark and is not listed. Lend lends one file system (-xdev) through a bind mount that does not show the
  // other, so the agent reaches it only by its real path, and only where others may write.
  const canMountExt4 = existsSync('/dev/loop-control') && ['/usr/sbin/mkfs.ext4', '/sbin/mkfs.ext4'].some((tool) => existsSync(tool))
  async function inCoarseMount(prepare: (top: string) => void, script: (file: string) => string): Promise<void> {
    const top = path.join(root, 'repo')
    const image = path.join(root, 'coarse.img')
    execFileSync('truncate', ['-s', '16M', image])
    execFileSync('mkfs.ext4', ['-q', '-I', '128', '-F', image], { stdio: 'ignore' })
    mkdirSync(path.join(top, 'vol'), { recursive: true })
    execFileSync('mount', ['-o', 'loop', image, path.join(top, 'vol')])
    try {
      repository({ 'vol/conf.txt': 'safe\n' })
      prepare(top)
      // Run right after the mark: well within its second, before the listing refused mounts it broke (an empty patch).
      const { changes } = await runAsAgent(top, script(`${top}/vol/conf.txt`), 'refused')
      expectFaithful(top, changes, [/^-safe$/m, /^\+evil$/m])
    } finally {
      execFileSync('umount', ['--lazy', path.join(top, 'vol')])
    }
  }

  it.skipIf(!canMountExt4)('sees an edit to a file others may write in a file system mounted inside the work tree that dates to the second', async () => {
    // Not its owner, the agent cannot set the mtime back: git would see this one by its mtime alone.
    await inCoarseMount(
      (top) => chmodSync(path.join(top, 'vol', 'conf.txt'), 0o666),
      (file) => `m=$(stat -c %Y ${file}); printf 'evil\\n' > ${file}; if touch -d @$m ${file} 2>/dev/null; then exit 9; fi`
    )
  })

  it.skipIf(!canMountExt4)('sees a file made again (same inode number, mtime set back) in a folder others may write of a file system mounted inside the work tree that dates to the second', async () => {
    // Its new owner sets the mtime back, the inode number is recycled, hand-back makes the runner the owner again: only the listing could tell.
    await inCoarseMount(
      (top) => chmodSync(path.join(top, 'vol'), 0o777),
      (file) => `m=$(stat -c %Y ${file}); i=$(stat -c %i ${file}); rm -f ${file}; printf 'evil\\n' > ${file}; touch -d @$m ${file}; test $(stat -c %i ${file}) = $i`
    )
  })

  it('reads every file again when the listing cannot be trusted (no privilege, no mark)', async () => {
    expect(await listTouched(undefined, root, { ctimeNs: 0n, wallMinusMonotonicMs: 0 })).toBeUndefined()
    expect(await listTouched(privilege as Privilege, root, undefined)).toBeUndefined()
    // A wall clock set back since the mark: the agent's changes could be dated before it.
    expect(await listTouched(privilege as Privilege, root, { ctimeNs: 0n, wallMinusMonotonicMs: Date.now() - performance.now() + 60_000 })).toBeUndefined()
  })
})
