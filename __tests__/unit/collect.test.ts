import { execFileSync, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import {
  appendFileSync,
  chmodSync,
  closeSync,
  constants,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { collectChanges, recordStart, type Changes, type StartPoint } from '../../src/collect.js'
import { locateRepository } from '../../src/git-dir.js'
import { Redactor } from '../../src/redact.js'

// The test's own git (and the simulated agent's): no system or global config, a fixed identity.
const GIT_ENV = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@e.st',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@e.st',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null'
}

function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
}

/** The agent's own git, run in its view of the repository: discovery finds the disposable `<top>/.git`. */
function agentGit(cwd: string, args: string[]): string {
  return git(cwd, args)
}

/** The agent's git with a time limit, for a command a trap is meant to make hang; returns git's exit status (124: it hung). */
function agentGitHangs(cwd: string, args: string[]): number | null {
  return spawnSync('timeout', ['2', 'git', ...args], { cwd, env: { ...process.env, ...GIT_ENV }, stdio: 'ignore' }).status
}

function gitAtLeast(major: number, minor: number): boolean {
  const [, have, haveMinor] = /(\d+)\.(\d+)/.exec(execFileSync('git', ['--version'], { encoding: 'utf8' })) ?? []
  return Number(have) > major || (Number(have) === major && Number(haveMinor) >= minor)
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
// Long enough, and mostly kept, so that git sees the move as a rename.
const RENAMED_CONTENT = Array.from({ length: 40 }, (_, i) => `line ${i} of a file that moves\n`).join('')

let root: string
let stdout: string[]
let savedWorkspace: string | undefined
beforeEach(() => {
  // The scratch repositories are outside any workspace: on a runner (CI) GITHUB_WORKSPACE is set and would refuse them.
  savedWorkspace = process.env.GITHUB_WORKSPACE
  delete process.env.GITHUB_WORKSPACE
  root = mkdtempSync(path.join(os.tmpdir(), 'codex-action-collect-'))
  stdout = []
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(chunk.toString())
    return true
  })
})
afterEach(() => {
  vi.restoreAllMocks()
  if (savedWorkspace !== undefined) process.env.GITHUB_WORKSPACE = savedWorkspace
  // rm(1), not fs.rm: a tree the agent nested too deep for one path is still removed.
  execFileSync('rm', ['-rf', root])
})

const warnings = (): string[] => stdout.join('').split('\n').filter((line) => line.startsWith('::warning::'))

/** A repository with one commit, in its own folder under the test's temp root. */
function scratchRepository(files: Record<string, string | Buffer>, name = 'repo'): string {
  const repository = path.join(root, name)
  mkdirSync(repository)
  git(repository, ['init', '-q', '-b', 'main'])
  for (const [file, content] of Object.entries(files)) write(repository, file, content)
  git(repository, ['add', '-A'])
  git(repository, ['commit', '-q', '-m', 'start'])
  return repository
}

function write(repository: string, name: string, content: string | Buffer): void {
  mkdirSync(path.dirname(path.join(repository, name)), { recursive: true })
  writeFileSync(path.join(repository, name), content)
}

/** The action's private run folder, where the real git dir waits while the agent works. */
function runRoot(name = 'run'): string {
  const folder = path.join(root, name)
  mkdirSync(folder, { mode: 0o700 })
  return folder
}

let outputs = 0
async function collect(start: StartPoint, secrets: string[] = [], privateEntries?: string[]): Promise<Changes> {
  const output = path.join(root, `output-${outputs++}`)
  mkdirSync(output)
  return collectChanges(start, output, new Redactor(secrets), privateEntries)
}

/** The tree of everything in the work tree (tracked or not, ignored excepted), through a throw-away index. */
function workTreeTree(repository: string, exclude: string[] = []): string {
  const index = path.join(root, `index-${randomBytes(4).toString('hex')}`)
  try {
    git(repository, ['add', '-A', '--', '.', ...exclude.map((name) => `:(exclude)${name}`)], { GIT_INDEX_FILE: index })
    return git(repository, ['write-tree'], { GIT_INDEX_FILE: index }).trim()
  } finally {
    rmSync(index, { force: true })
  }
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

/** Every entry of a git dir with its type, mode and content, objects/ apart (the action's own git adds blobs there). */
function gitDirState(gitDir: string): Record<string, string> {
  const state: Record<string, string> = {}
  const walk = (relative: string): void => {
    for (const name of readdirSync(path.join(gitDir, relative))) {
      const entry = path.join(relative, name)
      if (entry === 'objects') continue
      const full = path.join(gitDir, entry)
      const stats = lstatSync(full)
      if (stats.isDirectory()) {
        state[entry] = `dir ${(stats.mode & 0o7777).toString(8)}`
        walk(entry)
      } else if (stats.isSymbolicLink()) state[entry] = `link ${readlinkSync(full)}`
      else if (stats.isFile()) state[entry] = `file ${(stats.mode & 0o7777).toString(8)} ${sha256(readFileSync(full))}`
      else state[entry] = `other ${stats.mode.toString(8)}`
    }
  }
  walk('')
  return state
}

/** The object files of a git dir and their content. */
function objectFiles(gitDir: string): Record<string, string> {
  const files: Record<string, string> = {}
  const objects = path.join(gitDir, 'objects')
  for (const entry of readdirSync(objects, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files[path.relative(objects, path.join(entry.parentPath, entry.name))] = sha256(readFileSync(path.join(entry.parentPath, entry.name)))
  }
  return files
}

/** What the real git dir holds, taken before recordStart, to check it comes back as it was. */
function realGitDirSnapshot(repository: string): () => void {
  const gitDir = path.join(repository, '.git')
  const state = gitDirState(gitDir)
  const objects = objectFiles(gitDir)
  const config = readFileSync(path.join(gitDir, 'config'))
  return () => {
    expect(lstatSync(gitDir).isDirectory()).toBe(true)
    expect(readFileSync(path.join(gitDir, 'config')).equals(config)).toBe(true)
    expect(gitDirState(gitDir)).toEqual(state)
    expect(objectFiles(gitDir)).toMatchObject(objects)
  }
}

/**
 * A program the agent plants where git would run it: each call leaves a marker named after its
 * first argument, and it behaves as a filter or textconv would so that git goes on.
 */
function plantedProgram(): { program: string; markers: () => string[]; clear: () => void } {
  const markerFolder = path.join(root, 'markers')
  mkdirSync(markerFolder)
  const program = path.join(root, 'planted.sh')
  writeFileSync(program, `#!/bin/sh\ntouch '${markerFolder}'/"$1"\ncase "$1" in\n  clean|smudge) exec cat ;;\n  textconv) exec cat "$2" ;;\nesac\nexit 0\n`, { mode: 0o755 })
  return {
    program,
    markers: () => readdirSync(markerFolder).sort(),
    clear: () => {
      for (const marker of readdirSync(markerFolder)) unlinkSync(path.join(markerFolder, marker))
    }
  }
}

const HOOKS = ['post-index-change', 'pre-commit', 'commit-msg', 'post-commit', 'reference-transaction', 'post-checkout', 'pre-auto-gc', 'fsmonitor-watchman']

/** An agent's git config that makes git run `program` on status, add, diff and commit. */
function plantedConfig(program: string): string {
  return (
    `[core]\n\tfsmonitor = "${program} fsmonitor"\n\tpager = "${program} pager"\n\tsshCommand = "${program} ssh"\n` +
    `[filter "x"]\n\tclean = "${program} clean"\n\tsmudge = "${program} smudge"\n\trequired = true\n` +
    `[diff "x"]\n\ttextconv = "${program} textconv"\n[diff]\n\texternal = "${program} external"\n` +
    `[alias]\n\tdiff = "!${program} alias"\n`
  )
}

/** Resolves when the promise settles, or says it hung: then feeds every FIFO an end of file until it settles, so no git outlives the test. */
async function settles<T>(promise: Promise<T>, ms: number, fifos: string[]): Promise<{ inTime: boolean; result: PromiseSettledResult<T> }> {
  let done = false
  const settled: Promise<PromiseSettledResult<T>> = promise.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason })
  )
  void settled.then(() => (done = true))
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)))
  const first = await Promise.race([settled, late])
  clearTimeout(timer)
  if (first !== 'late') return { inTime: true, result: first }
  const deadline = Date.now() + 60_000
  while (!done && Date.now() < deadline) {
    for (const fifo of fifos) {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK))
      } catch {
        // No reader yet, or gone.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { inTime: false, result: await settled }
}

function fulfilled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason
  return result.value
}

/** The blob ids the patch gives each path, read from a clone at the start commit with the patch applied to its index only (no filters, no attributes). */
function patchedBlobs(repository: string, patchFile: string): Record<string, string> {
  const clone = path.join(root, `clone-${randomBytes(4).toString('hex')}`)
  git(root, ['clone', '-q', '--no-checkout', repository, clone])
  git(clone, ['read-tree', 'HEAD'])
  if (statSync(patchFile).size) git(clone, ['apply', '--cached', '--binary', patchFile])
  return lsFiles(clone)
}

function lsFiles(repository: string, env: NodeJS.ProcessEnv = {}): Record<string, string> {
  const blobs: Record<string, string> = {}
  for (const line of git(repository, ['ls-files', '-s', '-z'], env).split('\0').filter(Boolean)) {
    const [meta, name] = line.split('\t')
    blobs[name] = meta.split(' ')[1]
  }
  return blobs
}

/** The blob id of a work-tree file's bytes as they are, with no filter or attribute applied. */
function rawBlob(repository: string, name: string): string {
  return execFileSync('git', ['hash-object', '--no-filters', '--', name], { cwd: repository, encoding: 'utf8', env: { ...process.env, ...GIT_ENV } }).trim()
}

/** Changes the user had made before the action started, which are not the agent's. */
function userStartState(repository: string): void {
  write(repository, 'dirty-before.txt', 'the user edited this before the run\n')
  write(repository, 'staged-before.txt', 'the user staged this before the run\n')
  git(repository, ['add', 'staged-before.txt'])
  write(repository, 'untracked-before.txt', 'the user left this lying around\n')
}

describe('recordStart and collectChanges', () => {
  it('produces a binary patch of exactly what changed since the start, which re-applies to the same tree', async () => {
    const repository = scratchRepository({
      'README.md': '# scratch\n',
      'src/a.txt': 'one\ntwo\nthree\n',
      'old.txt': 'to be deleted\n',
      'rename-me.txt': RENAMED_CONTENT,
      'script.sh': '#!/bin/sh\necho hi\n',
      'dirty-before.txt': 'committed\n',
      'staged-before.txt': 'committed\n',
      '.gitignore': 'ignored/\n*.log\n'
    })
    userStartState(repository)
    const indexBefore = readFileSync(path.join(repository, '.git', 'index'))
    const actionFolderInside = path.join(repository, '.codex-action-run')
    const run = runRoot()

    const start = await recordStart(await locateRepository(repository, run), [actionFolderInside, run])
    expect(start.dirs.top).toBe(repository)
    expect(start.dirs.home).toBe(path.join(repository, '.git'))
    expect(start.excluded).toEqual(['.codex-action-run'])

    // The agent at work.
    write(repository, 'src/a.txt', 'one\nTWO\nthree\nfour\n')
    write(repository, 'new.txt', 'a new untracked file\n')
    unlinkSync(path.join(repository, 'old.txt'))
    renameSync(path.join(repository, 'rename-me.txt'), path.join(repository, 'renamed.txt'))
    appendFileSync(path.join(repository, 'renamed.txt'), 'one more line\n')
    write(repository, 'bin/all-bytes.dat', Buffer.concat([ALL_BYTES, Buffer.from(ALL_BYTES).reverse(), randomBytes(3000)]))
    chmodSync(path.join(repository, 'script.sh'), 0o755)
    symlinkSync('README.md', path.join(repository, 'link-to-readme'))
    write(repository, 'nested/deeper/still/file.txt', 'deep\n')
    write(repository, 'ignored/build-output.txt', 'ignored by .gitignore\n')
    write(repository, 'debug.log', 'also ignored\n')
    write(repository, '.codex-action-run/events.jsonl', '{"type":"thread.started"}\n')

    const changes = await collect(start)
    expect(path.dirname(changes.patchFile)).toMatch(/output-\d+$/)
    expect(path.basename(changes.patchFile)).toBe('codex.patch')
    expect(changes.hasChanges).toBe(true)
    expect(changes.redacted).toBe(false)
    expect(changes.nestedRepositories).toEqual([])
    expect([...changes.changedFiles].sort()).toEqual(
      ['bin/all-bytes.dat', 'link-to-readme', 'nested/deeper/still/file.txt', 'new.txt', 'old.txt', 'rename-me.txt', 'renamed.txt', 'script.sh', 'src/a.txt'].sort()
    )
    const patch = readFileSync(changes.patchFile, 'utf8')
    expect(patch).toContain('rename from rename-me.txt')
    expect(patch).toContain('rename to renamed.txt')
    expect(patch).toContain('deleted file mode 100644')
    expect(patch).toMatch(/diff --git a\/script.sh b\/script.sh\nold mode 100644\nnew mode 100755/)
    expect(patch).toContain('new file mode 120000')
    expect(patch).toContain('GIT binary patch')
    for (const absent of ['dirty-before.txt', 'staged-before.txt', 'untracked-before.txt', 'ignored/', 'debug.log', '.codex-action-run', 'events.jsonl']) {
      expect(patch).not.toContain(absent)
    }
    expect(changes.diffstat).toContain('src/a.txt')
    expect(changes.diffstat).toMatch(/ 8 files changed/)
    expect(changes.diffstat).toContain('rename-me.txt => renamed.txt')
    expect(statSync(changes.patchFile).mode & 0o777).toBe(0o644)

    // The user's index is exactly as it was: the pre-staged file is still staged, nothing else is.
    expect(readFileSync(path.join(repository, '.git', 'index')).equals(indexBefore)).toBe(true)
    expect(git(repository, ['diff', '--cached', '--name-only']).trim()).toBe('staged-before.txt')
    // The work tree is as the agent left it, and the private folder the git dir waited in is gone.
    expect(existsSync(path.join(repository, 'renamed.txt'))).toBe(true)
    expect(readFileSync(path.join(repository, 'dirty-before.txt'), 'utf8')).toBe('the user edited this before the run\n')
    expect(existsSync(path.join(run, 'git-aside'))).toBe(false)

    // A fresh clone with the same start state, plus the patch, is the agent's work tree.
    const clone = path.join(root, 'clone')
    git(root, ['clone', '-q', repository, clone])
    userStartState(clone)
    git(clone, ['apply', '--binary', changes.patchFile])
    expect(workTreeTree(clone)).toBe(workTreeTree(repository, ['.codex-action-run']))
    expect(readFileSync(path.join(clone, 'bin/all-bytes.dat')).equals(readFileSync(path.join(repository, 'bin/all-bytes.dat')))).toBe(true)
    expect(statSync(path.join(clone, 'script.sh')).mode & 0o111).not.toBe(0)
  })

  it('gives an empty patch and no changes when the agent changed nothing', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n' })
    write(repository, 'dirty.txt', 'untracked before the run\n')
    const start = await recordStart(await locateRepository(repository, runRoot()), [])
    const changes = await collect(start)
    expect(changes.hasChanges).toBe(false)
    expect(changes.changedFiles).toEqual([])
    expect(changes.diffstat).toBe('')
    expect(changes.redacted).toBe(false)
    expect(readFileSync(changes.patchFile).length).toBe(0)
    expect(git(repository, ['diff', '--cached', '--name-only'])).toBe('')
  })

  it('sees a same-size edit made in the same second as the index was written (racy git)', async () => {
    // Git trusts an unchanged stat unless the entry is as new as the index file; a copy of the index
    // stamped "now" hid such edits in about 1 run in 70. Many quick rounds make a regression show.
    let missed = 0
    for (let round = 0; round < 60; round++) {
      const repository = path.join(root, `racy-${round}`)
      mkdirSync(repository)
      git(repository, ['init', '-q'])
      writeFileSync(path.join(repository, 'f.txt'), 'x\n')
      git(repository, ['add', '-A'])
      git(repository, ['commit', '-q', '-m', 'start'])
      const start = await recordStart(await locateRepository(repository, runRoot(`run-${round}`)), [])
      writeFileSync(path.join(repository, 'f.txt'), 'y\n')
      const changes = await collect(start)
      if (!changes.changedFiles.includes('f.txt')) missed++
    }
    expect(missed).toBe(0)
  }, 180_000)

  it('works from a subdirectory of the repository', async () => {
    const repository = scratchRepository({ 'pkg/index.js': 'x\n', 'README.md': 'r\n' })
    const start = await recordStart(await locateRepository(path.join(repository, 'pkg'), runRoot()), [])
    expect(start.dirs.top).toBe(repository)
    write(repository, 'README.md', 'changed outside the working directory\n')
    write(repository, 'pkg/index.js', 'y\n')
    const changes = await collect(start)
    expect([...changes.changedFiles].sort()).toEqual(['README.md', 'pkg/index.js'])
  })

  it('redacts a secret the agent wrote into a file, and says so', async () => {
    const secret = `sk-proj-${randomBytes(24).toString('hex')}`
    const repository = scratchRepository({ 'README.md': '# scratch\n' })
    const start = await recordStart(await locateRepository(repository, runRoot()), [])
    write(repository, 'config.js', `export const key = '${secret}'\nexport const other = 1\n`)
    write(repository, 'encoded.txt', `${Buffer.from(`k=${secret}`).toString('base64')}\n`)
    write(repository, `named-${secret}.txt`, 'the name is the leak\n')
    const changes = await collect(start, [secret])
    expect(changes.changedFiles.sort()).toEqual(['config.js', 'encoded.txt', 'named-***.txt'])
    expect(changes.diffstat).toContain('named-***.txt')
    expect(changes.diffstat).not.toContain(secret)
    const patch = readFileSync(changes.patchFile, 'utf8')
    expect(patch).not.toContain(secret)
    expect(patch).not.toContain(secret.slice(8, 24))
    expect(patch).toContain("+export const key = '***'")
    expect(patch).toContain('+export const other = 1')
    expect(changes.redacted).toBe(true)
    expect(changes.hasChanges).toBe(true)
    expect(warnings().some((line) => line.includes('The patch contained a secret value'))).toBe(true)
  })

  it('leaves out the private entries it is given, wherever the agent moved them', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n' })
    write(repository, 'credentials.json', '{"token":"private to the runner"}\n')
    write(repository, 'private/key.pem', 'private key\n')
    const start = await recordStart(await locateRepository(repository, runRoot()), [])
    renameSync(path.join(repository, 'credentials.json'), path.join(repository, 'credentials.json.txt'))
    mkdirSync(path.join(repository, 'moved'))
    renameSync(path.join(repository, 'private'), path.join(repository, 'moved', 'private'))
    write(repository, 'README.md', '# changed\n')
    const changes = await collect(start, [], ['credentials.json', 'credentials.json.txt', 'private', 'moved/private'])
    expect(changes.changedFiles).toEqual(['README.md'])
    expect(readFileSync(changes.patchFile, 'utf8')).not.toMatch(/private to the runner|private key/)
  })
})

describe("the agent's git dir while it runs", () => {
  it('holds no credentials, keeps the remotes without their tokens, and works for status, log and diff', async () => {
    // A shallow clone, as actions/checkout makes by default.
    const upstream = scratchRepository({ 'README.md': '# scratch\n', 'src/a.txt': 'one\n' }, 'upstream')
    write(upstream, 'src/a.txt', 'two\n')
    git(upstream, ['commit', '-q', '-am', 'second'])
    const repository = path.join(root, 'repo')
    git(root, ['clone', '-q', '--depth', '1', `file://${upstream}`, repository])
    const token = `ghs_${randomBytes(18).toString('hex')}`
    const header = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`
    git(repository, ['config', 'http.https://github.com/.extraheader', header])
    git(repository, ['remote', 'set-url', 'origin', `https://x-access-token:${token}@github.com/octo/repo.git`])
    git(repository, ['remote', 'set-url', '--push', 'origin', `https://${token}@github.com/octo/repo.git`])
    git(repository, ['config', 'credential.helper', `store --file=${path.join(root, 'credentials')}`])
    git(repository, ['config', 'include.path', path.join(root, 'more-credentials.gitconfig')])
    writeFileSync(path.join(root, 'more-credentials.gitconfig'), `[http]\n\textraheader = ${header}\n`)
    const realConfig = readFileSync(path.join(repository, '.git', 'config'), 'utf8')
    expect(realConfig).toContain(header)
    const headBefore = git(repository, ['rev-parse', 'HEAD']).trim()
    const fetchSpec = git(repository, ['config', '--get', 'remote.origin.fetch']).trim()
    const unchanged = realGitDirSnapshot(repository)

    const start = await recordStart(await locateRepository(repository, runRoot()), [])
    const agentConfig = readFileSync(path.join(repository, '.git', 'config'), 'utf8')
    for (const absent of ['extraheader', 'AUTHORIZATION', header, token, 'x-access-token', 'credential', 'include', 'more-credentials']) {
      expect(agentConfig).not.toContain(absent)
    }
    expect(agentGit(repository, ['remote', 'get-url', 'origin']).trim()).toBe('https://github.com/octo/repo.git')
    expect(agentGit(repository, ['remote', 'get-url', '--push', 'origin']).trim()).toBe('https://github.com/octo/repo.git')
    expect(agentGit(repository, ['config', '--get', 'remote.origin.fetch']).trim()).toBe(fetchSpec)
    expect(agentGit(repository, ['config', '--get', 'branch.main.remote']).trim()).toBe('origin')
    // The include is not followed either: the credentials it holds stay out of the agent's reach.
    expect(agentGit(repository, ['config', '--list', '--show-origin'])).not.toContain(token)
    expect(existsSync(path.join(repository, '.git', 'hooks'))).toBe(false)

    // It is a working repository: same HEAD, history (shallow), clean status, and a diff of the agent's edit.
    expect(agentGit(repository, ['rev-parse', 'HEAD']).trim()).toBe(headBefore)
    expect(agentGit(repository, ['log', '--format=%s']).trim()).toBe('second')
    expect(agentGit(repository, ['status', '--porcelain'])).toBe('')
    write(repository, 'src/a.txt', 'three\n')
    expect(agentGit(repository, ['status', '--porcelain'])).toBe(' M src/a.txt\n')
    expect(agentGit(repository, ['diff'])).toContain('-two\n+three\n')
    expect(agentGit(repository, ['diff', 'HEAD', '--stat'])).toContain('src/a.txt')

    const changes = await collect(start)
    expect(changes.changedFiles).toEqual(['src/a.txt'])
    unchanged()
    expect(readFileSync(path.join(repository, '.git', 'config'), 'utf8')).toBe(realConfig)
  })
})

describe('the action never runs git with anything the agent wrote', () => {
  it('ignores an fsmonitor, filters, textconv, an external diff and hooks planted in the agent git dir', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n', 'src/a.txt': 'one\n', 'data.bin': Buffer.concat([ALL_BYTES, ALL_BYTES]) })
    git(repository, ['config', 'http.https://github.com/.extraheader', 'AUTHORIZATION: basic c2VjcmV0'])
    const unchanged = realGitDirSnapshot(repository)
    const { program, markers, clear } = plantedProgram()
    const start = await recordStart(await locateRepository(repository, runRoot()), [])

    const agentGitDir = path.join(repository, '.git')
    appendFileSync(path.join(agentGitDir, 'config'), plantedConfig(program))
    mkdirSync(path.join(agentGitDir, 'info'), { recursive: true })
    writeFileSync(path.join(agentGitDir, 'info', 'attributes'), '* filter=x diff=x\n')
    mkdirSync(path.join(agentGitDir, 'hooks'), { recursive: true })
    for (const hook of HOOKS) writeFileSync(path.join(agentGitDir, 'hooks', hook), `#!/bin/sh\n'${program}' ${hook}\n`, { mode: 0o755 })
    write(repository, 'src/a.txt', 'two\n')
    write(repository, 'new.txt', 'new\n')
    // The traps are armed: the agent's own git runs them.
    agentGit(repository, ['status'])
    agentGit(repository, ['add', '-A'])
    agentGit(repository, ['diff', '--no-ext-diff', '--cached'])
    agentGit(repository, ['diff', '--cached'])
    agentGit(repository, ['commit', '-q', '-m', 'agent'])
    expect(markers()).toEqual(expect.arrayContaining(['clean', 'commit-msg', 'external', 'fsmonitor', 'post-commit', 'post-index-change', 'pre-commit', 'textconv']))
    clear()

    const changes = await collect(start)
    expect(markers()).toEqual([])
    unchanged()
    expect(changes.changedFiles.sort()).toEqual(['new.txt', 'src/a.txt'])
    const patch = readFileSync(changes.patchFile, 'utf8')
    expect(patch).toContain('-one\n+two\n')
    expect(patch).toContain('+new\n')
  })

  it('ignores a commondir pointing at a folder of the agent with its own config and attributes', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n', 'src/a.txt': 'one\n' })
    const unchanged = realGitDirSnapshot(repository)
    const { program, markers, clear } = plantedProgram()
    const start = await recordStart(await locateRepository(repository, runRoot()), [])

    const common = path.join(root, 'agent-common')
    cpSync(path.join(repository, '.git'), common, { recursive: true })
    writeFileSync(path.join(common, 'config'), `[core]\n\trepositoryformatversion = 0\n\tbare = false\n${plantedConfig(program)}`)
    mkdirSync(path.join(common, 'info'), { recursive: true })
    writeFileSync(path.join(common, 'info', 'attributes'), '* filter=x\n')
    writeFileSync(path.join(repository, '.git', 'commondir'), `${common}\n`)
    write(repository, 'src/a.txt', 'two\n')
    agentGit(repository, ['status'])
    agentGit(repository, ['add', '-A'])
    expect(markers()).toEqual(expect.arrayContaining(['clean', 'fsmonitor']))
    clear()

    const changes = await collect(start)
    expect(markers()).toEqual([])
    unchanged()
    expect(changes.changedFiles).toEqual(['src/a.txt'])
    expect(readFileSync(changes.patchFile, 'utf8')).toContain('-one\n+two\n')
  })

  it.each(['symlink', 'gitdir file'] as const)('ignores a .git the agent replaced with a %s to a git dir of its own, and removes only the link', async (kind) => {
    const repository = scratchRepository({ 'README.md': '# scratch\n', 'src/a.txt': 'one\n' })
    const unchanged = realGitDirSnapshot(repository)
    const { program, markers, clear } = plantedProgram()
    const start = await recordStart(await locateRepository(repository, runRoot()), [])

    const elsewhere = path.join(root, 'agent-git-dir')
    renameSync(path.join(repository, '.git'), elsewhere)
    appendFileSync(path.join(elsewhere, 'config'), plantedConfig(program))
    mkdirSync(path.join(elsewhere, 'info'), { recursive: true })
    writeFileSync(path.join(elsewhere, 'info', 'attributes'), '* filter=x\n')
    if (kind === 'symlink') symlinkSync(elsewhere, path.join(repository, '.git'))
    else writeFileSync(path.join(repository, '.git'), `gitdir: ${elsewhere}\n`)
    write(repository, 'src/a.txt', 'two\n')
    agentGit(repository, ['status'])
    agentGit(repository, ['add', '-A'])
    expect(markers()).toEqual(expect.arrayContaining(['clean', 'fsmonitor']))
    clear()

    const changes = await collect(start)
    expect(markers()).toEqual([])
    unchanged()
    // What the link pointed at is the agent's: neither followed nor deleted.
    expect(readFileSync(path.join(elsewhere, 'config'), 'utf8')).toContain(`${program} fsmonitor`)
    expect(changes.changedFiles).toEqual(['src/a.txt'])
    expect(readFileSync(changes.patchFile, 'utf8')).toContain('-one\n+two\n')
  })

  it('does not hang on FIFOs the agent put at .git/config and .git/HEAD', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n', 'src/a.txt': 'one\n' })
    const unchanged = realGitDirSnapshot(repository)
    const start = await recordStart(await locateRepository(repository, runRoot()), [])
    const fifos = ['config', 'HEAD'].map((name) => path.join(repository, '.git', name))
    for (const fifo of fifos) {
      unlinkSync(fifo)
      execFileSync('mkfifo', [fifo])
    }
    write(repository, 'src/a.txt', 'two\n')
    // Armed: git itself blocks on them.
    expect(agentGitHangs(repository, ['status'])).toBe(124)

    const { inTime, result } = await settles(collect(start), 15_000, fifos)
    expect(inTime).toBe(true)
    const changes = fulfilled(result)
    unchanged()
    for (const name of ['config', 'HEAD']) expect(lstatSync(path.join(repository, '.git', name)).isFile()).toBe(true)
    expect(changes.changedFiles).toEqual(['src/a.txt'])
  }, 60_000)

  it('keeps edits the agent hid from its own git with info/exclude, assume-unchanged and skip-worktree', async () => {
    const repository = scratchRepository({
      'README.md': '# scratch\n',
      'assumed.txt': 'assumed\n',
      'skipped.txt': 'skipped\n',
      'excluded-tracked.txt': 'excluded\n',
      'same-size.txt': 'aaaa\n'
    })
    const unchanged = realGitDirSnapshot(repository)
    const sameSizeStats = statSync(path.join(repository, 'same-size.txt'))
    const start = await recordStart(await locateRepository(repository, runRoot()), [])

    for (const name of ['assumed.txt', 'skipped.txt', 'excluded-tracked.txt']) appendFileSync(path.join(repository, name), 'edited by the agent\n')
    write(repository, 'new-excluded.txt', 'new and excluded\n')
    agentGit(repository, ['update-index', '--assume-unchanged', 'assumed.txt'])
    agentGit(repository, ['update-index', '--skip-worktree', 'skipped.txt'])
    appendFileSync(path.join(repository, '.git', 'info', 'exclude'), '\nexcluded-tracked.txt\nnew-excluded.txt\n')
    // An edit that keeps the size and puts the modification time back.
    writeFileSync(path.join(repository, 'same-size.txt'), 'bbbb\n')
    utimesSync(path.join(repository, 'same-size.txt'), sameSizeStats.atime, sameSizeStats.mtime)
    // Armed: the agent's git does not see the hidden ones.
    const seen = agentGit(repository, ['status', '--porcelain'])
    for (const hidden of ['assumed.txt', 'skipped.txt', 'new-excluded.txt']) expect(seen).not.toContain(hidden)

    const changes = await collect(start)
    unchanged()
    expect(changes.changedFiles.sort()).toEqual(['assumed.txt', 'excluded-tracked.txt', 'new-excluded.txt', 'same-size.txt', 'skipped.txt'])
    const patch = readFileSync(changes.patchFile, 'utf8')
    expect(patch).toContain('-aaaa\n+bbbb\n')
    expect(patch.match(/\+edited by the agent\n/g)).toHaveLength(3)
  })

  it('leaves out a nested repository with a FIFO as HEAD and an fsmonitor, without hanging or running it', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n' })
    const unchanged = realGitDirSnapshot(repository)
    const { program, markers } = plantedProgram()
    const start = await recordStart(await locateRepository(repository, runRoot()), [])

    const nested = path.join(repository, 'nested')
    mkdirSync(nested)
    git(nested, ['init', '-q'])
    write(nested, 'inside.txt', 'inside the nested repository\n')
    appendFileSync(path.join(nested, '.git', 'config'), `[core]\n\tfsmonitor = "${program} nested-fsmonitor"\n`)
    const fifos = [path.join(nested, '.git', 'HEAD')]
    unlinkSync(fifos[0])
    execFileSync('mkfifo', [fifos[0]])
    // A second one, whose .git is a file pointing at a git dir with a FIFO as HEAD.
    const hidden = path.join(root, 'hidden-git-dir')
    cpSync(path.join(repository, '.git'), hidden, { recursive: true })
    unlinkSync(path.join(hidden, 'HEAD'))
    execFileSync('mkfifo', [path.join(hidden, 'HEAD')])
    fifos.push(path.join(hidden, 'HEAD'))
    write(repository, 'vendor/lib/.git', `gitdir: ${hidden}\n`)
    write(repository, 'vendor/lib/code.txt', 'vendored\n')
    write(repository, 'README.md', '# changed\n')
    write(repository, 'new.txt', 'new\n')
    // Armed: git walking the work tree blocks on the nested HEAD.
    expect(agentGitHangs(repository, ['add', '-A'])).toBe(124)

    const { inTime, result } = await settles(collect(start), 15_000, fifos)
    expect(inTime).toBe(true)
    const changes = fulfilled(result)
    expect(markers()).toEqual([])
    unchanged()
    expect([...changes.nestedRepositories].sort()).toEqual(['nested', 'vendor/lib'])
    expect(changes.changedFiles.sort()).toEqual(['README.md', 'new.txt'])
    const patch = readFileSync(changes.patchFile, 'utf8')
    expect(patch).not.toContain('nested')
    expect(patch).not.toContain('vendor')
    expect(warnings().some((line) => line.includes('nested') && line.includes('vendor/lib'))).toBe(true)
  }, 60_000)

  it('keeps the patch byte-faithful when the agent routes every file through a filter the real config does not define', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n', 'crlf.txt': 'one\r\ntwo\r\n' })
    const { program, markers, clear } = plantedProgram()
    const start = await recordStart(await locateRepository(repository, runRoot()), [])

    appendFileSync(path.join(repository, '.git', 'config'), plantedConfig(program))
    write(repository, '.gitattributes', '* filter=x diff=x\n')
    write(repository, 'crlf.txt', 'one\r\ntwo\r\nthree\r\n')
    write(repository, 'data.bin', Buffer.concat([ALL_BYTES, randomBytes(2000), Buffer.from('\r\n\0')]))
    write(repository, 'id.txt', '$Id: not-a-hash $\n')
    agentGit(repository, ['add', '-A'])
    expect(markers()).toContain('clean')
    clear()

    const changes = await collect(start)
    expect(markers()).toEqual([])
    expect(changes.changedFiles.sort()).toEqual(['.gitattributes', 'crlf.txt', 'data.bin', 'id.txt'])
    const blobs = patchedBlobs(repository, changes.patchFile)
    for (const name of ['.gitattributes', 'crlf.txt', 'data.bin', 'id.txt', 'README.md']) expect(blobs[name], name).toBe(rawBlob(repository, name))
  })

  // GIT_ATTR_SOURCE came with git 2.41; older git reads the work tree's attributes (a limit SECURITY.md states).
  it.skipIf(!gitAtLeast(2, 41))("keeps the patch byte-faithful when the agent's .gitattributes asks for end-of-line and ident conversion", async () => {
    // Attributes come from the start tree (GIT_ATTR_SOURCE, which needs a recent git): the agent cannot change how its files are recorded.
    const repository = scratchRepository({ 'README.md': '# scratch\n', 'crlf.txt': 'one\r\ntwo\r\n' })
    const start = await recordStart(await locateRepository(repository, runRoot()), [])
    write(repository, '.gitattributes', '* text eol=lf ident\n')
    write(repository, 'crlf.txt', 'one\r\ntwo\r\nthree\r\n')
    write(repository, 'id.txt', '$Id: 0123456789abcdef $\r\n')

    const changes = await collect(start)
    const blobs = patchedBlobs(repository, changes.patchFile)
    for (const name of ['.gitattributes', 'crlf.txt', 'id.txt']) expect(blobs[name], name).toBe(rawBlob(repository, name))
  })

  it('turns an agent commit (and its gc) into uncommitted changes, leaving the real HEAD and refs as they were', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n', 'src/a.txt': 'one\n', 'old.txt': 'old\n' })
    const headBefore = git(repository, ['rev-parse', 'HEAD']).trim()
    const refsBefore = git(repository, ['for-each-ref', '--format=%(refname) %(objectname)'])
    const unchanged = realGitDirSnapshot(repository)
    const start = await recordStart(await locateRepository(repository, runRoot()), [])

    write(repository, 'src/a.txt', 'two\n')
    write(repository, 'committed.txt', 'committed by the agent\n')
    unlinkSync(path.join(repository, 'old.txt'))
    agentGit(repository, ['add', '-A'])
    agentGit(repository, ['commit', '-q', '-m', 'the agent commits'])
    agentGit(repository, ['tag', 'agent-tag'])
    agentGit(repository, ['branch', 'agent-branch'])
    agentGit(repository, ['gc', '-q', '--prune=now'])
    write(repository, 'after-commit.txt', 'uncommitted\n')
    expect(agentGit(repository, ['rev-parse', 'HEAD']).trim()).not.toBe(headBefore)

    const changes = await collect(start)
    unchanged()
    expect(git(repository, ['rev-parse', 'HEAD']).trim()).toBe(headBefore)
    expect(git(repository, ['for-each-ref', '--format=%(refname) %(objectname)'])).toBe(refsBefore)
    git(repository, ['fsck', '--full', '--no-dangling'])
    expect(changes.changedFiles.sort()).toEqual(['after-commit.txt', 'committed.txt', 'old.txt', 'src/a.txt'])
    const blobs = patchedBlobs(repository, changes.patchFile)
    expect(blobs).not.toHaveProperty('old.txt')
    for (const name of ['after-commit.txt', 'committed.txt', 'src/a.txt']) expect(blobs[name], name).toBe(rawBlob(repository, name))
  })

  it('puts the real git dir back even when the agent nested folders in .git deeper than one path can name', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n' })
    const unchanged = realGitDirSnapshot(repository)
    const start = await recordStart(await locateRepository(repository, runRoot()), [])
    // 3000 levels: a path of about 6000 bytes, past PATH_MAX (made in three steps, each short enough to name).
    const steps = 'd/'.repeat(1000)
    execFileSync('sh', ['-c', `cd .git && mkdir -p ${steps} && cd -P ${steps} && mkdir -p ${steps} && cd -P ${steps} && mkdir -p ${steps}`], { cwd: repository })
    write(repository, 'README.md', '# changed\n')

    // Shortened: the error names the 6000-byte path.
    const changes = await collect(start).catch((error: Error) => {
      throw new Error(error.message.slice(0, 200))
    })
    unchanged()
    expect(changes.changedFiles).toEqual(['README.md'])
  })

  it('does not hang on a FIFO the agent left as .gitignore or .gitattributes in the work tree', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n', 'sub/file.txt': 'one\n' })
    const unchanged = realGitDirSnapshot(repository)
    const start = await recordStart(await locateRepository(repository, runRoot()), [])
    const fifos = [path.join(repository, '.gitattributes'), path.join(repository, 'sub', '.gitignore')]
    for (const fifo of fifos) execFileSync('mkfifo', [fifo])
    write(repository, 'sub/file.txt', 'two\n')
    expect(agentGitHangs(repository, ['add', '-A'])).toBe(124)

    const { inTime, result } = await settles(collect(start), 15_000, fifos)
    unchanged()
    expect(inTime).toBe(true)
    expect(fulfilled(result).changedFiles).toEqual(['sub/file.txt'])
  }, 120_000)

  it('says which file it cannot read when the agent replaced a tracked file with a FIFO, and still puts the git dir back', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n', 'pipe.txt': 'a file\n' })
    const unchanged = realGitDirSnapshot(repository)
    const start = await recordStart(await locateRepository(repository, runRoot()), [])
    const fifos = [path.join(repository, 'pipe.txt'), path.join(repository, 'untracked-pipe')]
    unlinkSync(fifos[0])
    for (const fifo of fifos) execFileSync('mkfifo', [fifo])

    const { inTime, result } = await settles(collect(start), 15_000, fifos)
    expect(inTime).toBe(true)
    unchanged()
    if (result.status === 'fulfilled') expect(result.value.changedFiles).toEqual(['pipe.txt'])
    else expect(String(result.reason)).toContain('pipe.txt')
  }, 60_000)
})
