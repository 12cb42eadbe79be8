import { execFileSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { appendFileSync, chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { locateRepository, restoreGitDir, setGitDirAside, trustedGit } from '../../src/git-dir.js'

// The one stand-in here: a shorter time limit for git-dir's git, so that its kill of a hung git can be
// seen in seconds instead of 15 minutes. Everything else is the real execFile and the real git.
const clock = vi.hoisted(() => ({ limitMs: 0, seen: [] as { timeout?: number; killSignal?: unknown }[], children: [] as ChildProcess[] }))
vi.mock('node:child_process', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:child_process')>()
  const { promisify } = await import('node:util')
  const execFile = ((...args: Parameters<typeof original.execFile>) => original.execFile(...args)) as typeof original.execFile
  Object.assign(execFile, {
    [promisify.custom]: (file: string, args: string[], options: { timeout?: number; killSignal?: unknown }) => {
      clock.seen.push({ timeout: options?.timeout, killSignal: options?.killSignal })
      const shortened = clock.limitMs && options?.timeout ? { ...options, timeout: clock.limitMs } : options
      const running = promisify(original.execFile)(file, args, shortened as object)
      clock.children.push(running.child)
      return running
    }
  })
  return { ...original, execFile, default: { ...original, execFile } }
})

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

let root: string
let savedWorkspace: string | undefined
beforeEach(() => {
  // realpath: git names the top by its real path, and os.tmpdir() may be a link (macOS).
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'codex-action-git-dir-')))
  savedWorkspace = process.env.GITHUB_WORKSPACE
  delete process.env.GITHUB_WORKSPACE
  clock.limitMs = 0
  clock.seen = []
  clock.children = []
})
afterEach(() => {
  // A git the limit did not stop (when the kill is broken) must not outlive the test.
  for (const child of clock.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  vi.unstubAllEnvs()
  if (savedWorkspace === undefined) delete process.env.GITHUB_WORKSPACE
  else process.env.GITHUB_WORKSPACE = savedWorkspace
  execFileSync('rm', ['-rf', root])
})

function scratchRepository(name = 'repo', files: Record<string, string> = { 'README.md': '# scratch\n' }): string {
  const repository = path.join(root, name)
  mkdirSync(repository, { recursive: true })
  git(repository, ['init', '-q', '-b', 'main'])
  commitFiles(repository, files)
  return repository
}

function commitFiles(repository: string, files: Record<string, string>, message = 'commit'): void {
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(repository, file)), { recursive: true })
    writeFileSync(path.join(repository, file), content)
  }
  git(repository, ['add', '-A'])
  git(repository, ['commit', '-q', '-m', message])
}

function privateFolder(name = 'run'): string {
  const folder = path.join(root, name)
  mkdirSync(folder, { mode: 0o700 })
  return folder
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

/** Every entry under a folder with its type, inode, mode and content. */
function treeState(folder: string): Record<string, string> {
  const state: Record<string, string> = {}
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name)
    const stats = lstatSync(full)
    const what = stats.isFile() ? sha256(readFileSync(full)) : stats.isSymbolicLink() ? readlinkSync(full) : ''
    state[path.relative(folder, full)] = `${stats.mode.toString(8)} ${stats.ino} ${what}`
  }
  return state
}

describe('locateRepository', () => {
  it('finds the top of the repository from a subdirectory, and sets the git dir aside in the private folder', async () => {
    const repository = scratchRepository('repo', { 'pkg/index.js': 'x\n' })
    const run = privateFolder()
    const dirs = await locateRepository(path.join(repository, 'pkg'), run)
    expect(dirs).toEqual({ top: repository, home: path.join(repository, '.git'), aside: path.join(run, 'git-aside', 'git') })
  })

  it('refuses a linked worktree, saying how to check out instead', async () => {
    const repository = scratchRepository()
    const worktree = path.join(root, 'linked')
    git(repository, ['worktree', 'add', '-q', worktree])
    await expect(locateRepository(worktree, privateFolder())).rejects.toThrow(/linked worktrees and separate git dirs are not supported\. Check the repository out normally/)
    expect(lstatSync(path.join(worktree, '.git')).isFile()).toBe(true)
  })

  it('refuses a repository made with --separate-git-dir, saying how to check out instead', async () => {
    const repository = path.join(root, 'repo')
    git(root, ['init', '-q', '--separate-git-dir', path.join(root, 'elsewhere.git'), repository])
    commitFiles(repository, { 'README.md': 'x\n' })
    await expect(locateRepository(repository, privateFolder())).rejects.toThrow(/keeps its git dir elsewhere .*elsewhere\.git.*Check the repository out normally/)
  })

  it('refuses a repository with checked-out submodules, saying to check it out without them', async () => {
    const library = scratchRepository('library', { 'lib.txt': 'lib\n' })
    const repository = scratchRepository()
    git(repository, ['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', library, 'vendor/library'])
    git(repository, ['commit', '-q', '-m', 'submodule'])
    expect(existsSync(path.join(repository, '.git', 'modules'))).toBe(true)
    await expect(locateRepository(repository, privateFolder())).rejects.toThrow(/checked-out submodules \(vendor\).*check it out without submodules/)
  })

  it('refuses a repository whose top is outside GITHUB_WORKSPACE, and takes one inside it', async () => {
    const repository = scratchRepository()
    const run = privateFolder()
    for (const outside of [path.join(root, 'workspace'), path.join(root, 'rep'), `${repository}-other`, path.join(repository, 'sub')]) {
      process.env.GITHUB_WORKSPACE = outside
      await expect(locateRepository(repository, run), outside).rejects.toThrow(/outside GITHUB_WORKSPACE/)
    }
    for (const inside of [root, repository, `${repository}/`]) {
      process.env.GITHUB_WORKSPACE = inside
      await expect(locateRepository(repository, run), inside).resolves.toMatchObject({ top: repository })
    }
  })

  it('takes a repository inside GITHUB_WORKSPACE whose folder name starts with two dots', async () => {
    const workspace = path.join(root, 'workspace')
    mkdirSync(workspace)
    const repository = scratchRepository(path.join('workspace', '..checkout'))
    process.env.GITHUB_WORKSPACE = workspace
    await expect(locateRepository(repository, privateFolder())).resolves.toMatchObject({ top: repository })
  })

  it('takes a repository inside GITHUB_WORKSPACE when the workspace is named through a symbolic link', async () => {
    const repository = scratchRepository(path.join('real-workspace', 'repo'))
    const link = path.join(root, 'workspace-link')
    symlinkSync(path.join(root, 'real-workspace'), link)
    process.env.GITHUB_WORKSPACE = link
    await expect(locateRepository(path.join(link, 'repo'), privateFolder())).resolves.toMatchObject({ top: repository })
  })
})

describe('setGitDirAside and restoreGitDir', () => {
  it('is idempotent: a second restore returns false and changes nothing, and a restore with nothing aside leaves .git alone', async () => {
    const repository = scratchRepository()
    const run = privateFolder()
    const dirs = await locateRepository(repository, run)
    const before = treeState(dirs.home)
    expect(await restoreGitDir(dirs)).toBe(false)
    expect(treeState(dirs.home)).toEqual(before)

    await setGitDirAside(dirs)
    expect(lstatSync(dirs.aside).isDirectory()).toBe(true)
    expect(statSync(path.dirname(dirs.aside)).mode & 0o777).toBe(0o700)
    appendFileSync(path.join(dirs.home, 'config'), '[core]\n\tfsmonitor = "touch /tmp/never"\n')
    writeFileSync(path.join(dirs.home, 'planted'), 'agent\n')

    expect(await restoreGitDir(dirs)).toBe(true)
    const restored = treeState(dirs.home)
    // Same inodes, same bytes: the real git dir itself came back, not a copy.
    expect(restored).toEqual(before)
    expect(existsSync(path.join(run, 'git-aside'))).toBe(false)

    expect(await restoreGitDir(dirs)).toBe(false)
    expect(treeState(dirs.home)).toEqual(restored)
    expect(readdirSync(run)).toEqual([])
  })

  it("lends the object files as hard links that a process other than their owner can read but not change", async () => {
    const repository = scratchRepository('repo', { 'a.txt': 'first\n' })
    commitFiles(repository, { 'b.txt': 'second\n' })
    git(repository, ['gc', '-q'])
    commitFiles(repository, { 'c.txt': 'loose\n' })
    const run = privateFolder()
    const dirs = await locateRepository(repository, run)
    await setGitDirAside(dirs)

    const agentObjects = path.join(dirs.home, 'objects')
    const files = readdirSync(agentObjects, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(agentObjects, path.join(entry.parentPath, entry.name)))
    const loose = files.filter((file) => /^[0-9a-f]{2}\/[0-9a-f]{38}$/.test(file))
    const packs = files.filter((file) => /^pack\/pack-[0-9a-f]+\.(pack|idx)$/.test(file))
    expect(loose.length).toBeGreaterThanOrEqual(3)
    expect(packs.length).toBeGreaterThanOrEqual(2)
    const contents = new Map<string, string>()
    for (const file of files) {
      const lent = statSync(path.join(agentObjects, file))
      const real = statSync(path.join(dirs.aside, 'objects', file))
      expect(lent.ino, file).toBe(real.ino)
      expect(lent.nlink, file).toBeGreaterThanOrEqual(2)
      expect(lent.mode & 0o022, `${file} is writable by group or others`).toBe(0)
      contents.set(file, sha256(readFileSync(path.join(agentObjects, file))))
    }
    for (const file of [...loose, ...packs]) expect(statSync(path.join(agentObjects, file)).mode & 0o777, file).toBe(0o444)

    if (process.getuid?.() === 0) {
      // Another user, as the agent is in mode `user`: it can reach and read the links (so the refusals below are about writing).
      chmodSync(root, 0o755)
      const asOther = (script: string, file: string): number | null => {
        try {
          execFileSync('sh', ['-c', script, 'sh', path.join(agentObjects, file)], { uid: 65534, gid: 65534, stdio: 'ignore' })
          return 0
        } catch (error) {
          return (error as { status: number | null }).status
        }
      }
      for (const file of files) {
        expect(asOther('cat "$1" > /dev/null', file), `${file}: readable`).toBe(0)
        expect(asOther('printf corrupt >> "$1"', file), `${file}: appendable`).not.toBe(0)
        expect(asOther('printf corrupt 1<> "$1"', file), `${file}: writable in place`).not.toBe(0)
        expect(asOther('chmod 0666 "$1"', file), `${file}: chmod`).not.toBe(0)
        expect(asOther('touch -d 2001-01-01 "$1"', file), `${file}: utimes`).not.toBe(0)
      }
    }
    for (const file of files) expect(sha256(readFileSync(path.join(dirs.aside, 'objects', file))), file).toBe(contents.get(file))
    expect(await restoreGitDir(dirs)).toBe(true)
    git(repository, ['fsck', '--full', '--no-dangling'])
  })

  it.runIf(process.getuid?.() === 0)("keeps the real objects when the agent's own user commits, repacks and prunes in its git dir", async () => {
    const repository = scratchRepository('repo', { 'a.txt': 'first\n' })
    git(repository, ['gc', '-q'])
    commitFiles(repository, { 'b.txt': 'loose\n' })
    const head = git(repository, ['rev-parse', 'HEAD']).trim()
    const run = privateFolder()
    const dirs = await locateRepository(repository, run)
    await setGitDirAside(dirs)
    const realObjects = treeState(path.join(dirs.aside, 'objects'))

    // What lendWorkspace does for mode `user`: folders and single-link files become the agent's, shared links stay the runner's.
    chmodSync(root, 0o755)
    execFileSync('find', [repository, '-xdev', '(', '-type', 'd', '-o', '-links', '1', ')', '-exec', 'chown', '-h', '65534:65534', '{}', '+'])
    const home = path.join(root, 'agent-home')
    mkdirSync(home)
    execFileSync('chown', ['65534:65534', home])
    const asAgent = (args: string[]): string =>
      execFileSync('git', args, { cwd: repository, uid: 65534, gid: 65534, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home, ...GIT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] })
    writeFileSync(path.join(repository, 'a.txt'), 'changed by the agent\n')
    execFileSync('chown', ['65534:65534', path.join(repository, 'a.txt')])
    asAgent(['commit', '-q', '-am', 'agent'])
    asAgent(['gc', '-q', '--aggressive', '--prune=now'])
    asAgent(['repack', '-q', '-a', '-d', '-f'])
    expect(asAgent(['rev-parse', 'HEAD']).trim()).not.toBe(head)

    expect(treeState(path.join(dirs.aside, 'objects'))).toEqual(realObjects)
    execFileSync('chown', ['-R', `${process.getuid?.()}:${process.getgid?.()}`, repository])
    expect(await restoreGitDir(dirs)).toBe(true)
    expect(git(repository, ['rev-parse', 'HEAD']).trim()).toBe(head)
    git(repository, ['fsck', '--full', '--no-dangling'])
  })
})

describe('trustedGit', () => {
  it('ignores GIT_DIR, GIT_CONFIG_PARAMETERS and the other git variables an attacker set in the environment', async () => {
    const repository = scratchRepository('repo', { 'README.md': '# real\n' })
    writeFileSync(path.join(repository, 'README.md'), '# real, edited\n')
    const markers = path.join(root, 'markers')
    mkdirSync(markers)
    const program = path.join(root, 'planted.sh')
    writeFileSync(program, `#!/bin/sh\ntouch '${markers}'/"$1"\nexit 0\n`, { mode: 0o755 })
    const planted = (name: string): string => `${program} ${name}`
    const evil = scratchRepository('evil', { 'README.md': '# evil\n', 'evil-only.txt': 'evil\n' })
    writeFileSync(path.join(evil, 'evil-only.txt'), 'evil, edited\n')
    appendFileSync(path.join(evil, '.git', 'config'), `[core]\n\tfsmonitor = "${planted('gitdir-fsmonitor')}"\n`)
    const evilConfig = path.join(root, 'evil.gitconfig')
    writeFileSync(evilConfig, `[core]\n\tfsmonitor = "${planted('global-fsmonitor')}"\n[diff]\n\texternal = "${planted('global-external')}"\n[evil]\n\tmarker = present\n`)
    const evilHome = path.join(root, 'evil-home')
    mkdirSync(path.join(evilHome, 'git'), { recursive: true })
    writeFileSync(path.join(evilHome, '.gitconfig'), readFileSync(evilConfig))
    writeFileSync(path.join(evilHome, 'git', 'config'), readFileSync(evilConfig))
    const attacker: Record<string, string> = {
      GIT_DIR: path.join(evil, '.git'),
      GIT_WORK_TREE: evil,
      GIT_INDEX_FILE: path.join(evil, '.git', 'index'),
      GIT_OBJECT_DIRECTORY: path.join(evil, '.git', 'objects'),
      GIT_COMMON_DIR: path.join(evil, '.git'),
      GIT_CONFIG_PARAMETERS: `'core.fsmonitor'='${planted('parameters-fsmonitor')}' 'evil.marker'='present'`,
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'core.fsmonitor',
      GIT_CONFIG_VALUE_0: planted('count-fsmonitor'),
      GIT_CONFIG_KEY_1: 'evil.marker',
      GIT_CONFIG_VALUE_1: 'present',
      GIT_CONFIG_GLOBAL: evilConfig,
      GIT_CONFIG_SYSTEM: evilConfig,
      GIT_CONFIG_NOSYSTEM: '',
      GIT_EXTERNAL_DIFF: planted('env-external'),
      HOME: evilHome,
      XDG_CONFIG_HOME: evilHome
    }
    // Armed: a git that takes its environment from the process runs the attacker's programs and reads the other repository.
    const armed = execFileSync('git', ['status', '--porcelain'], { cwd: repository, encoding: 'utf8', env: { ...process.env, ...attacker } })
    execFileSync('git', ['diff'], { cwd: repository, env: { ...process.env, ...attacker } })
    expect(armed).toContain('evil-only.txt')
    expect(readdirSync(markers).length).toBeGreaterThan(0)
    for (const marker of readdirSync(markers)) execFileSync('rm', [path.join(markers, marker)])

    for (const [name, value] of Object.entries(attacker)) vi.stubEnv(name, value)
    const gitDir = path.join(repository, '.git')
    expect(await trustedGit(gitDir, repository, ['status', '--porcelain'])).toBe(' M README.md\n')
    expect(await trustedGit(gitDir, repository, ['diff', '--no-ext-diff'])).toContain('+# real, edited')
    expect(await trustedGit(gitDir, repository, ['rev-parse', '--absolute-git-dir', '--show-toplevel'])).toBe(`${gitDir}\n${repository}\n`)
    const listed = await trustedGit(gitDir, repository, ['config', '--list', '--show-origin'])
    expect(listed).not.toContain('evil')
    expect(listed).not.toContain(program)
    expect(readdirSync(markers)).toEqual([])
  })

  it('runs a plain git diff without any external diff program, the one in GIT_EXTERNAL_DIFF included', async () => {
    const repository = scratchRepository('repo', { 'README.md': '# real\n' })
    writeFileSync(path.join(repository, 'README.md'), '# real, edited\n')
    const marker = path.join(root, 'external-diff-ran')
    const program = path.join(root, 'external.sh')
    writeFileSync(program, `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 })
    // Armed: git runs it when asked for a diff.
    execFileSync('git', ['diff'], { cwd: repository, env: { ...process.env, GIT_EXTERNAL_DIFF: program } })
    expect(existsSync(marker)).toBe(true)
    execFileSync('rm', [marker])

    vi.stubEnv('GIT_EXTERNAL_DIFF', program)
    const diff = await trustedGit(path.join(repository, '.git'), repository, ['diff'])
    expect(diff).toContain('-# real\n+# real, edited\n')
    expect(existsSync(marker)).toBe(false)
  })

  it('kills a git that hangs when its time limit is up, and says so', async () => {
    const repository = scratchRepository()
    const fifo = path.join(repository, 'pipe')
    execFileSync('mkfifo', [fifo])
    clock.limitMs = 1500
    const started = Date.now()
    // hash-object opens the FIFO, which blocks until a writer comes: none will.
    await expect(trustedGit(path.join(repository, '.git'), repository, ['hash-object', '--', 'pipe'])).rejects.toThrow(`git hash-object failed in ${repository}: did not finish within`)
    expect(Date.now() - started).toBeLessThan(10_000)
    const [options] = clock.seen
    expect(options.killSignal).toBe('SIGKILL')
    expect(options.timeout).toBeGreaterThanOrEqual(60_000)
    const [child] = clock.children
    expect(child.signalCode).toBe('SIGKILL')
    expect(() => process.kill(child.pid as number, 0)).toThrow()
  })

  it('gives git no input, so a git that reads its standard input ends at once', async () => {
    const repository = scratchRepository()
    clock.limitMs = 5000
    // The id of the empty blob: what git prints when its input is empty.
    await expect(trustedGit(path.join(repository, '.git'), repository, ['hash-object', '--stdin'])).resolves.toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\n')
  }, 20_000)
})
