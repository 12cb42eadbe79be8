import * as core from '@actions/core'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFile, link, lstat, mkdir, readdir, realpath, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import type { Privilege } from './isolation.js'
import { relativeInside } from './path-inside.js'
import path from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

// Switches off everything in a configuration that could make git run a program.
// (External diff programs are refused per call with --no-ext-diff.)
const SAFE_GIT = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', '-c', 'core.untrackedCache=false', '-c', 'core.sshCommand=false']
// Long enough for a very large repository; a git call that hangs past it fails the step instead of the job's time limit.
export const GIT_TIME_LIMIT_MS = 15 * 60_000
// What of the user's repository config the agent's git dir keeps: layout and remotes, never credentials or programs.
const KEPT_CONFIG = /^(core\.(repositoryformatversion|filemode|ignorecase|precomposeunicode|symlinks|autocrlf|eol|sparsecheckout|sparsecheckoutcone)|extensions\.[^.]+|remote\.[^\n]+\.(url|pushurl|fetch)|branch\.[^\n]+\.(remote|merge))$/i

/**
 * How to run git against a git dir and work tree named explicitly: no discovery, no system or
 * global configuration, no hooks, fsmonitor or external programs, and nothing from the
 * environment that says otherwise.
 */
export function trustedGitCommand(gitDir: string, workTree: string, args: string[], extraEnv: Record<string, string> = {}): { args: string[]; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = { GIT_DIR: gitDir, GIT_WORK_TREE: workTree, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent', GIT_TERMINAL_PROMPT: '0', ...extraEnv }
  for (const name of ['PATH', 'LANG', 'LC_ALL', 'TMPDIR']) if (process.env[name] !== undefined) env[name] = process.env[name]
  return { args: [...SAFE_GIT, ...args], env }
}

/** Runs git as `trustedGitCommand` says, with a time limit, and returns what it printed. */
export async function trustedGit(gitDir: string, workTree: string, args: string[], extraEnv: Record<string, string> = {}, options: { input?: Buffer; encoding?: 'utf8' | 'latin1' } = {}): Promise<string> {
  const command = trustedGitCommand(gitDir, workTree, args, extraEnv)
  try {
    const running = execFileAsync('git', command.args, { cwd: workTree, env: command.env, maxBuffer: 1024 * 1024 * 1024, encoding: options.encoding ?? 'utf8', timeout: GIT_TIME_LIMIT_MS, killSignal: 'SIGKILL' })
    // Only what the caller gives is fed to git: a call that waited for more input would wait for the time limit.
    running.child.stdin?.on('error', () => undefined).end(options.input)
    const { stdout } = await running
    return stdout
  } catch (error) {
    const failure = error as { stderr?: string; killed?: boolean; message: string }
    const why = failure.killed ? `did not finish within ${GIT_TIME_LIMIT_MS / 60_000} minutes` : failure.stderr?.trim() || failure.message
    throw new Error(`git ${args[0]} failed in ${workTree}: ${why}`)
  }
}

/** Where the repository is, and where its real git dir waits while the agent works. */
export interface GitDirs {
  /** The repository's top folder (the work tree). */
  top: string
  /** Where the real git dir belongs: `<top>/.git`. */
  home: string
  /** Where it waits, in a folder only the runner user can enter, on the same file system as the repository. */
  aside: string
}

/** Finds the repository of `workingDirectory` and refuses layouts whose git dir lies outside the work tree. */
export async function locateRepository(workingDirectory: string, privateFolder: string): Promise<GitDirs> {
  const [top, gitDir, commonDir] = (await plainGit(workingDirectory, ['rev-parse', '--show-toplevel', '--absolute-git-dir', '--git-common-dir'])).trim().split('\n')
  const home = path.join(top, '.git')
  const workspace = process.env.GITHUB_WORKSPACE
  // git names the top by its real path: compare it with the workspace's.
  if (workspace && relativeInside(await realpath(workspace).catch(() => workspace), top) === undefined) {
    throw new Error(`The repository of working-directory is at ${top}, outside GITHUB_WORKSPACE (${workspace}); the agent may only be lent the workspace.`)
  }
  const homeStats = await lstat(home).catch(() => undefined)
  if (!homeStats?.isDirectory() || gitDir !== home || path.resolve(await realpath(workingDirectory), commonDir) !== home) {
    throw new Error(
      `The repository at ${top} keeps its git dir elsewhere (${gitDir}): linked worktrees and separate git dirs are not supported. ` +
        'Check the repository out normally (actions/checkout does) and point working-directory inside it.'
    )
  }
  const modules = await readdir(path.join(home, 'modules')).catch(() => [])
  if (modules.length) {
    throw new Error(`The repository at ${top} has checked-out submodules (${modules.join(', ')}), which are not supported: check it out without submodules.`)
  }
  // A rename moves the git dir aside in no time, but only within one file system.
  const sameFileSystem = (await stat(privateFolder)).dev === homeStats.dev
  const asideFolder = sameFileSystem ? path.join(privateFolder, 'git-aside') : path.join(path.dirname(top), `.${path.basename(privateFolder)}-git-aside`)
  return { top, home, aside: path.join(asideFolder, 'git') }
}

/** Copies an index, keeping its mtime: git re-hashes entries as new as the index ("racy" ones), and a copy stamped now would hide a same-size edit made in the second the index was written. */
export async function copyIndex(from: string, to: string): Promise<void> {
  await copyFile(from, to)
  const { atime, mtime } = await stat(from)
  await utimes(to, atime, mtime)
}

/**
 * Stages every file in the work tree now (tracked, and untracked but not ignored) into `index`,
 * starting from what it holds: entries whose stat data still match are not read again.
 * `statProvesSame` says the caller has already dropped the stat data of every entry that may have
 * changed (`forgetStat`), so a changed ctime alone (hand-back's chown) is no reason to read a file.
 */
export async function stageWorkTree(dirs: Pick<GitDirs, 'top'>, gitDir: string, index: string, excluded: string[], options: { attributeSource?: string; statProvesSame?: boolean } = {}): Promise<void> {
  // Attributes from the start tree (git 2.41 and later): the agent's .gitattributes cannot change how files are read.
  const env: Record<string, string> = { GIT_INDEX_FILE: index, ...(options.attributeSource ? { GIT_ATTR_SOURCE: options.attributeSource } : {}) }
  // Inode numbers, owners, sizes and mtimes are still compared (checkStat=default): only ctime is left out.
  // As environment settings (git 2.31 and later), an older git ignores them and reads every file, which is only slower.
  if (options.statProvesSame) Object.assign(env, { GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_0: 'core.trustctime', GIT_CONFIG_VALUE_0: 'false', GIT_CONFIG_KEY_1: 'core.checkStat', GIT_CONFIG_VALUE_1: 'default' })
  await trustedGit(gitDir, dirs.top, ['add', '--all', '--', ':/', ...excluded.map((relative) => `:(exclude,top,literal)${relative}`)], env)
}

/** The tree object of what `index` holds. */
export async function writeTree(dirs: Pick<GitDirs, 'top'>, gitDir: string, index: string): Promise<string> {
  return (await trustedGit(gitDir, dirs.top, ['write-tree'], { GIT_INDEX_FILE: index })).trim()
}

/**
 * Zeroes the stat data of the entries of `index` that `mayHaveChanged` names (from the top), so
 * that git reads those files again whatever their stat says; the others keep theirs. Entries
 * marked skip-worktree (sparse checkout) are not in the work tree and are left as they are.
 */
export async function forgetStat(dirs: Pick<GitDirs, 'top'>, gitDir: string, index: string, mayHaveChanged: (relative: string) => boolean): Promise<void> {
  const env = { GIT_INDEX_FILE: index }
  // Names as bytes (latin1 keeps every byte): they go back to git exactly as they came.
  const listed = await trustedGit(gitDir, dirs.top, ['ls-files', '--stage', '-t', '-z'], env, { encoding: 'latin1' })
  const forgotten: string[] = []
  for (const record of listed.split('\0')) {
    // "<tag> <mode> <object> <stage>\t<path>", and --index-info reads "<mode> <object> <stage>\t<path>" with no stat data.
    if (!record || record[0] === 'S') continue
    const entry = record.slice(2)
    const relative = Buffer.from(entry.slice(entry.indexOf('\t') + 1), 'latin1').toString('utf8')
    if (mayHaveChanged(relative)) forgotten.push(entry)
  }
  if (forgotten.length) await trustedGit(gitDir, dirs.top, ['update-index', '-z', '--index-info'], env, { input: Buffer.from(forgotten.join('\0') + '\0', 'latin1') })
}

/**
 * Moves the real git dir out of the work tree into the action's private folder, and leaves the
 * agent a disposable one in its place: the same HEAD, refs, index and objects (hard links, which
 * stay read-only to the agent), and a config with no credentials, drivers or programs.
 */
export async function setGitDirAside(dirs: GitDirs): Promise<void> {
  await mkdir(path.dirname(dirs.aside), { recursive: true, mode: 0o700 })
  await rename(dirs.home, dirs.aside)
  try {
    await buildAgentGitDir(dirs.aside, dirs.home)
  } catch (error) {
    await rm(dirs.home, { recursive: true, force: true })
    await rename(dirs.aside, dirs.home)
    throw new Error(`Could not prepare the agent's git dir: ${(error as Error).message}`, { cause: error })
  }
}

/**
 * Moves whatever the agent left at `.git` out of the way, puts the real git dir back, then deletes
 * the agent's. With `privilege` (mode user) as root: the agent may have left its `.git`, or the top
 * folder, so that the runner user cannot move or delete them. Idempotent.
 */
export async function restoreGitDir(dirs: GitDirs, privilege?: Privilege): Promise<boolean> {
  if (!(await lstat(dirs.aside).catch(() => undefined))) return false
  const container = path.dirname(dirs.aside)
  // One rename, whatever it is (a folder nested past PATH_MAX, a link, a file), and no link is followed.
  const discarded = path.join(container, `agent-git-${randomBytes(4).toString('hex')}`)
  if (await lstat(dirs.home).catch(() => undefined)) await (privilege ? privilege.asRoot('mv', ['--no-target-directory', dirs.home, discarded]) : rename(dirs.home, discarded))
  await (privilege ? privilege.asRoot('mv', ['--no-target-directory', dirs.aside, dirs.home]) : rename(dirs.aside, dirs.home))
  const removal = privilege ? privilege.asRoot('rm', ['-rf', '--one-file-system', container]) : execFileAsync('rm', ['-rf', container])
  await removal.catch((error: Error) => core.warning(`Could not delete the agent's git dir in ${container}: ${error.message}`))
  return true
}

async function buildAgentGitDir(realGitDir: string, agentGitDir: string): Promise<void> {
  await mkdir(agentGitDir, { mode: 0o755 })
  for (const file of ['HEAD', 'packed-refs', 'shallow', 'index', 'info/exclude', 'info/sparse-checkout']) {
    await mkdir(path.dirname(path.join(agentGitDir, file)), { recursive: true })
    await copyFile(path.join(realGitDir, file), path.join(agentGitDir, file)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error
    })
  }
  await copyTree(path.join(realGitDir, 'refs'), path.join(agentGitDir, 'refs'), 'copy')
  await copyTree(path.join(realGitDir, 'reftable'), path.join(agentGitDir, 'reftable'), 'copy')
  await copyTree(path.join(realGitDir, 'objects'), path.join(agentGitDir, 'objects'), 'link')
  await writeFile(path.join(agentGitDir, 'config'), await agentConfig(realGitDir), { mode: 0o644 })
}

/** Copies (or hard-links) a tree of plain files and folders; links and anything else in it are skipped. */
async function copyTree(from: string, to: string, how: 'copy' | 'link'): Promise<void> {
  const entries = await readdir(from, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw error
  })
  if (!entries) return
  await mkdir(to, { recursive: true })
  for (const entry of entries) {
    const source = path.join(from, entry.name)
    const target = path.join(to, entry.name)
    if (entry.isDirectory()) await copyTree(source, target, how)
    else if (entry.isFile()) await (how === 'link' ? link(source, target) : copyFile(source, target))
  }
}

async function agentConfig(realGitDir: string): Promise<string> {
  const listed = await plainGit(realGitDir, ['config', '--file', path.join(realGitDir, 'config'), '--list', '-z']).catch(() => '')
  const sections = new Map<string, string[]>([['core', ['\tbare = false', '\tlogallrefupdates = true']]])
  for (const entry of listed.split('\0').filter(Boolean)) {
    const newline = entry.indexOf('\n')
    const name = newline < 0 ? entry : entry.slice(0, newline)
    let value = newline < 0 ? 'true' : entry.slice(newline + 1)
    if (!KEPT_CONFIG.test(name) || /^core\.bare$/i.test(name)) continue
    // A remote URL may carry a token as its user part.
    if (/\.(push)?url$/i.test(name)) value = value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1')
    const section = name.slice(0, name.indexOf('.'))
    const key = name.slice(name.lastIndexOf('.') + 1)
    const subsection = name.slice(section.length + 1, name.length - key.length - 1)
    const header = subsection ? `${section} "${subsection.replace(/["\\]/g, (c) => `\\${c}`)}"` : section
    const lines = sections.get(header) ?? []
    lines.push(`\t${key} = "${value.replace(/["\\]/g, (c) => `\\${c}`).replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`)
    sections.set(header, lines)
  }
  return [...sections].map(([header, lines]) => `[${header}]\n${lines.join('\n')}\n`).join('')
}

/** git before the agent ran, on the user's own checkout: trusted, but still without hooks or fsmonitor. */
export async function plainGit(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', [...SAFE_GIT, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim()
    throw new Error(`git ${args[0]} failed in ${cwd}: ${stderr || (error as Error).message}`)
  }
}
