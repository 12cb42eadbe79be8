import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync, chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { collectChanges, recordStart } from '../../src/collect.js'
import { Redactor } from '../../src/redact.js'

const GIT_ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e.st', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e.st' }

function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV, ...env } })
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
// Long enough, and mostly kept, so that git sees the move as a rename.
const RENAMED_CONTENT = Array.from({ length: 40 }, (_, i) => `line ${i} of a file that moves\n`).join('')

let root: string
let stdout: string[]
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'codex-action-collect-'))
  stdout = []
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(chunk.toString())
    return true
  })
})
afterEach(() => {
  vi.restoreAllMocks()
  rmSync(root, { recursive: true, force: true })
})

const warnings = (): string[] => stdout.join('').split('\n').filter((line) => line.startsWith('::warning::'))

/** A repository with one commit, in its own folder under the test's temp root. */
function scratchRepository(files: Record<string, string | Buffer>): string {
  const repository = path.join(root, 'repo')
  mkdirSync(repository)
  git(repository, ['init', '-q', '-b', 'main'])
  for (const [name, content] of Object.entries(files)) write(repository, name, content)
  git(repository, ['add', '-A'])
  git(repository, ['commit', '-q', '-m', 'start'])
  return repository
}

function write(repository: string, name: string, content: string | Buffer): void {
  mkdirSync(path.dirname(path.join(repository, name)), { recursive: true })
  writeFileSync(path.join(repository, name), content)
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
    const excludedDirectory = path.join(repository, '.codex-action-run')
    const outside = path.join(root, 'run-root-outside-the-repository')
    const excluded = [excludedDirectory, outside]
    const output = path.join(root, 'output')
    mkdirSync(output)

    const start = await recordStart(repository, excluded, path.join(root, 'git-config.backup'))
    expect(start.repository).toBe(repository)

    // The agent at work.
    write(repository, 'src/a.txt', 'one\nTWO\nthree\nfour\n')
    write(repository, 'new.txt', 'a new untracked file\n')
    unlinkSync(path.join(repository, 'old.txt'))
    renameSync(path.join(repository, 'rename-me.txt'), path.join(repository, 'renamed.txt'))
    appendFileSync(path.join(repository, 'renamed.txt'), 'one more line\n')
    write(repository, 'bin/all-bytes.dat', Buffer.concat([ALL_BYTES, ALL_BYTES.reverse(), randomBytes(3000)]))
    chmodSync(path.join(repository, 'script.sh'), 0o755)
    symlinkSync('README.md', path.join(repository, 'link-to-readme'))
    write(repository, 'nested/deeper/still/file.txt', 'deep\n')
    write(repository, 'ignored/build-output.txt', 'ignored by .gitignore\n')
    write(repository, 'debug.log', 'also ignored\n')
    write(repository, '.codex-action-run/events.jsonl', '{"type":"thread.started"}\n')

    const changes = await collectChanges(start, excluded, output, new Redactor([]))
    expect(changes.patchFile).toBe(path.join(output, 'codex.patch'))
    expect(changes.hasChanges).toBe(true)
    expect(changes.redacted).toBe(false)
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
    // The work tree is as the agent left it.
    expect(existsSync(path.join(repository, 'renamed.txt'))).toBe(true)
    expect(readFileSync(path.join(repository, 'dirty-before.txt'), 'utf8')).toBe('the user edited this before the run\n')

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
    const output = path.join(root, 'output')
    mkdirSync(output)
    const start = await recordStart(repository, [], path.join(root, 'backup'))
    const changes = await collectChanges(start, [], output, new Redactor([]))
    expect(changes.hasChanges).toBe(false)
    expect(changes.changedFiles).toEqual([])
    expect(changes.diffstat).toBe('')
    expect(changes.redacted).toBe(false)
    expect(readFileSync(changes.patchFile).length).toBe(0)
    expect(git(repository, ['diff', '--cached', '--name-only'])).toBe('')
  })

  it('sees a same-size edit made in the same second as the index was written (racy git)', async () => {
    // Git trusts an unchanged stat unless the entry is as new as the index file; a copy of the index
    // stamped "now" hid such edits in about 1 run in 70 here. Many quick rounds make a regression show.
    let missed = 0
    for (let round = 0; round < 60; round++) {
      const repository = path.join(root, `racy-${round}`)
      mkdirSync(repository)
      git(repository, ['init', '-q'])
      writeFileSync(path.join(repository, 'f.txt'), 'x\n')
      git(repository, ['add', '-A'])
      git(repository, ['commit', '-q', '-m', 'start'])
      const start = await recordStart(repository, [], path.join(root, `backup-${round}`))
      writeFileSync(path.join(repository, 'f.txt'), 'y\n')
      const output = path.join(root, `output-${round}`)
      mkdirSync(output)
      const changes = await collectChanges(start, [], output, new Redactor([]))
      if (!changes.changedFiles.includes('f.txt')) missed++
    }
    expect(missed).toBe(0)
  }, 60_000)

  it('works from a subdirectory of the repository', async () => {
    const repository = scratchRepository({ 'pkg/index.js': 'x\n', 'README.md': 'r\n' })
    const output = path.join(root, 'output')
    mkdirSync(output)
    const start = await recordStart(path.join(repository, 'pkg'), [], path.join(root, 'backup'))
    expect(start.repository).toBe(repository)
    write(repository, 'README.md', 'changed outside the working directory\n')
    write(repository, 'pkg/index.js', 'y\n')
    const changes = await collectChanges(start, [], output, new Redactor([]))
    expect([...changes.changedFiles].sort()).toEqual(['README.md', 'pkg/index.js'])
  })

  it('redacts a secret the agent wrote into a file, and says so', async () => {
    const secret = `sk-proj-${randomBytes(24).toString('hex')}`
    const repository = scratchRepository({ 'README.md': '# scratch\n' })
    const output = path.join(root, 'output')
    mkdirSync(output)
    const start = await recordStart(repository, [], path.join(root, 'backup'))
    write(repository, 'config.js', `export const key = '${secret}'\nexport const other = 1\n`)
    write(repository, 'encoded.txt', `${Buffer.from(`k=${secret}`).toString('base64')}\n`)
    write(repository, `named-${secret}.txt`, 'the name is the leak\n')
    const changes = await collectChanges(start, [], output, new Redactor([secret]))
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

  it('takes credentials out of the repository config during the run and puts them back afterwards', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n' })
    const header = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:ghs_${randomBytes(18).toString('hex')}`).toString('base64')}`
    git(repository, ['config', 'http.https://github.com/.extraheader', header])
    git(repository, ['config', 'include.path', path.join(root, 'credentials.gitconfig')])
    git(repository, ['config', 'user.name', 'kept while the agent runs'])
    const configFile = path.join(repository, '.git', 'config')
    const original = readFileSync(configFile, 'utf8')
    expect(original).toContain(header)
    const backup = path.join(root, 'git-config.backup')
    const output = path.join(root, 'output')
    mkdirSync(output)

    const start = await recordStart(repository, [], backup)
    const during = readFileSync(configFile, 'utf8')
    expect(during).not.toContain('extraheader')
    expect(during).not.toContain('AUTHORIZATION')
    expect(during).not.toContain('credentials.gitconfig')
    expect(during).toContain('kept while the agent runs')
    expect(readFileSync(backup, 'utf8')).toBe(original)
    expect(statSync(backup).mode & 0o777).toBe(0o600)
    expect(start.hiddenCredentials.sort()).toEqual(['http.https://github.com/.extraheader', 'include.path'])

    write(repository, 'README.md', 'changed\n')
    const changes = await collectChanges(start, [], output, new Redactor([]))
    expect(changes.changedFiles).toEqual(['README.md'])
    expect(readFileSync(configFile, 'utf8')).toBe(original)
    expect(existsSync(backup)).toBe(false)
    // The config did not change under the agent, so there is nothing to warn about.
    expect(warnings().filter((line) => line.includes('The agent changed'))).toEqual([])
  })

  it('restores a config the agent planted an fsmonitor command in, warns, and never runs the command', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n' })
    git(repository, ['config', 'http.https://github.com/.extraheader', 'AUTHORIZATION: basic c2VjcmV0'])
    const configFile = path.join(repository, '.git', 'config')
    const original = readFileSync(configFile, 'utf8')
    const marker = path.join(os.tmpdir(), `pwned-${randomBytes(8).toString('hex')}`)
    const hookMarker = `${marker}-hook`
    const output = path.join(root, 'output')
    mkdirSync(output)
    try {
      const start = await recordStart(repository, [], path.join(root, 'backup'))
      // The agent's edits: a command git would run on status/add, and a hooks directory.
      appendFileSync(configFile, `[core]\n\tfsmonitor = "touch ${marker}"\n\thooksPath = ${path.join(root, 'hooks')}\n`)
      mkdirSync(path.join(root, 'hooks'))
      writeFileSync(path.join(root, 'hooks', 'post-index-change'), `#!/bin/sh\ntouch ${hookMarker}\n`, { mode: 0o755 })
      write(repository, 'new.txt', 'work\n')

      const changes = await collectChanges(start, [], output, new Redactor([]))
      expect(existsSync(marker)).toBe(false)
      expect(existsSync(hookMarker)).toBe(false)
      expect(readFileSync(configFile, 'utf8')).toBe(original)
      expect(changes.changedFiles).toEqual(['new.txt'])
      const warned = warnings().filter((line) => line.includes('The agent changed'))
      expect(warned).toHaveLength(1)
      expect(warned[0]).toContain(configFile)
    } finally {
      rmSync(marker, { force: true })
      rmSync(hookMarker, { force: true })
    }
  })

  it('puts the config back as a file of its own when the agent left a symlink in its place', async () => {
    const repository = scratchRepository({ 'README.md': '# scratch\n' })
    const header = 'AUTHORIZATION: basic c2VjcmV0LXRva2VuLXZhbHVl'
    git(repository, ['config', 'http.https://github.com/.extraheader', header])
    const configFile = path.join(repository, '.git', 'config')
    const original = readFileSync(configFile, 'utf8')
    const output = path.join(root, 'output')
    mkdirSync(output)
    const start = await recordStart(repository, [], path.join(root, 'backup'))
    // The agent swaps the config for a symlink to a file it can read later (here: one in the work tree).
    const bait = path.join(repository, 'bait.txt')
    writeFileSync(bait, start.agentGitConfig)
    unlinkSync(configFile)
    symlinkSync(bait, configFile)

    const changes = await collectChanges(start, [], output, new Redactor([]))
    expect(readFileSync(bait, 'utf8')).toBe(start.agentGitConfig)
    expect(readFileSync(bait, 'utf8')).not.toContain(header)
    expect(lstatSync(configFile).isSymbolicLink()).toBe(false)
    expect(readFileSync(configFile, 'utf8')).toBe(original)
    expect(readFileSync(changes.patchFile, 'utf8')).not.toContain(header)
    expect(warnings().some((line) => line.includes('The agent changed'))).toBe(true)
  })
})
