import * as core from '@actions/core'
import { execFile, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { lstat, mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import { copyIndex, forgetStat, GIT_TIME_LIMIT_MS, restoreGitDir, setGitDirAside, stageWorkTree, trustedGit, trustedGitCommand, writeTree, type GitDirs } from './git-dir.js'
import type { Privilege } from './isolation.js'
import { relativeInside } from './path-inside.js'
import type { Redactor } from './redact.js'
import { changesOutsideSlice } from './slice.js'
import type { Touched } from './touched.js'

const execFileAsync = promisify(execFile)
// GitHub refuses files over 100 MiB in a push: a patch with one could never land.
const LARGEST_FILE_MIB = 100

/** The repository as it was before the agent ran: where it is, and a tree object of every file. */
export interface StartPoint {
  dirs: GitDirs
  tree: string
  /** The index that tree was written from, with every file's stat data then: in the git dir's private folder, out of the agent's reach. */
  index: string
  /** Paths (from the top) that are never part of the patch: the action's own files, if they lie inside. */
  excluded: string[]
}

export interface Changes {
  patchFile: string
  hasChanges: boolean
  changedFiles: string[]
  diffstat: string
  /** True when the patch held a secret and was redacted, so its content is no longer the agent's. */
  redacted: boolean
  /** Git repositories inside the work tree, left out of the patch (a patch can only name their commit). */
  nestedRepositories: string[]
  /** Files over the size GitHub takes in a push, left out of the patch. */
  oversizedFiles: string[]
  /** Paths the agent changed outside its slice (input `paths`), left out of the patch. */
  outsideSlice: string[]
}

/**
 * Records the start tree, then sets the real git dir aside: from here until `collectChanges` the
 * agent has only a disposable copy, and the action never runs git with anything the agent wrote.
 */
export async function recordStart(dirs: GitDirs, actionFolders: string[]): Promise<StartPoint> {
  const excluded = actionFolders.map((folder) => relativeInside(dirs.top, folder)).filter((relative): relative is string => Boolean(relative))
  await mkdir(path.dirname(dirs.aside), { recursive: true, mode: 0o700 })
  const index = path.join(path.dirname(dirs.aside), 'start-index')
  try {
    // Starting from a copy of the real index lets git skip re-hashing files whose stat is unchanged.
    await copyIndex(path.join(dirs.home, 'index'), index).catch(() => undefined)
    await stageWorkTree(dirs, dirs.home, index, excluded)
    const tree = await writeTree(dirs, dirs.home, index)
    await setGitDirAside(dirs)
    return { dirs, tree, index, excluded }
  } catch (error) {
    await rm(index, { force: true })
    throw error
  }
}

/**
 * Puts the real git dir back and computes the binary patch from the start tree to the work tree
 * now: modified, added (untracked and not ignored), deleted, renamed, binary and mode changes. The
 * agent must be stopped and the work tree handed back first. A scratch index is used, so the
 * user's index stays as it was before the run. `privateEntries` (the runner's files the agent was
 * not lent, where they were before the run and where they are now) are left out of the patch.
 * `touched` (mode `user`: what the agent touched while lent, listed as root once it was stopped)
 * lets git read only those files again; without it every file whose ctime moved is read.
 */
export async function collectChanges(start: StartPoint, outputDirectory: string, redactor: Redactor, privateEntries: string[] = [], privilege?: Privilege, slice: string[] = [], touched?: Touched): Promise<Changes> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'codex-action-index-'))
  try {
    return await collectInto(path.join(scratch, 'index'), start, outputDirectory, redactor, privateEntries, privilege, slice, touched)
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

async function collectInto(index: string, start: StartPoint, outputDirectory: string, redactor: Redactor, privateEntries: string[], privilege: Privilege | undefined, slice: string[], touched: Touched | undefined): Promise<Changes> {
  const { dirs } = start
  // The start index lies in the folder that restoreGitDir deletes: copied first.
  // Lent without a listing to trust (a file system mounted inside, a failed listing): every file is read again, from
  // no stat data at all, since a file system that dates to the second can give a changed file its old stat back.
  const readAll = touched === undefined && privilege !== undefined
  const fromStart = (touched !== undefined || readAll) && (await copyIndex(start.index, index).then(() => true, () => false))
  await restoreGitDir(dirs, privilege)
  if (!fromStart) await copyIndex(path.join(dirs.home, 'index'), index).catch(() => undefined)
  const { nestedRepositories, specialGitFiles, oversized } = await findGitTraps(dirs.top)
  if (nestedRepositories.length) core.warning(`Left out of the patch: git repositories inside the work tree (${nestedRepositories.slice(0, 20).join(', ')}).`)
  if (oversized.length) core.warning(`Left out of the patch: files over ${LARGEST_FILE_MIB} MiB, more than GitHub takes in a push (${oversized.slice(0, 20).join(', ')}).`)
  if (specialGitFiles.length) {
    // git opens these in every folder it walks: a FIFO there would hang it, and no patch can carry one.
    core.warning(`Removed from the work tree before reading it: ${specialGitFiles.slice(0, 20).join(', ')}, which are not regular files.`)
    for (const file of specialGitFiles) await rm(path.join(dirs.top, file), { force: true })
  }
  // What the agent could not read never goes out in its patch, wherever it was moved to.
  const excluded = [...start.excluded, ...nestedRepositories, ...oversized, ...privateEntries]
  // The agent stopped, nothing it touched keeps its stat data: every file it may have changed is read, and only those.
  if (fromStart) await forgetStat(dirs, dirs.home, index, touched ? (relative) => touched.has(relative) : () => true)
  await stageWorkTree(dirs, dirs.home, index, excluded, { attributeSource: start.tree, statProvesSame: fromStart })
  const patchFile = path.join(outputDirectory, 'codex.patch')
  // The start tree against the work tree staged in the scratch index: no tree needs writing for the end.
  const env = { GIT_INDEX_FILE: index, GIT_ATTR_SOURCE: start.tree }
  const diff = ['diff', '--cached', '--no-ext-diff', '--no-textconv', '--no-color', '-M', start.tree]
  const outsideSlice = await changesOutsideSlice(dirs, start.tree, index, slice)
  if (outsideSlice.length) core.warning(redactor.redact(`Left out of the patch: ${outsideSlice.length} changed paths outside this leg's paths (${outsideSlice.slice(0, 20).join(', ')}); run.json lists them.`))
  const limit = ['--', ':/', ...[...excluded, ...outsideSlice].map((relative) => `:(exclude,top,literal)${relative}`)]

  const command = trustedGitCommand(dirs.home, dirs.top, [...diff, '--binary', '--full-index', ...limit], env)
  const child = spawn('git', command.args, { cwd: dirs.top, env: command.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: GIT_TIME_LIMIT_MS, killSignal: 'SIGKILL' })
  // Redacted by exact secret values only: a shape match would silently change the agent's content.
  const redacting = redactor.stream({ shapes: false })
  const patchWritten = pipeline(child.stdout, redacting, createWriteStream(patchFile, { mode: 0o644, flags: 'wx' }))
  // The names and the diffstat come from one more diff while the patch streams (each waits on its own pipe):
  // --numstat -z (the names as they are) followed by --stat (for people: paths not octal-escaped).
  const [exitCode, , summary] = await Promise.all([
    new Promise<number | null>((resolve) => child.once('close', resolve)),
    patchWritten,
    trustedGit(dirs.home, dirs.top, ['-c', 'core.quotePath=false', ...diff, '--numstat', '-z', '--stat=120', ...limit], env)
  ])
  const { names, stat } = parseSummary(summary)
  if (exitCode !== 0) throw new Error(`git diff failed in ${dirs.top} (${exitCode === null ? `stopped after ${GIT_TIME_LIMIT_MS / 60_000} minutes` : `exit ${exitCode}`})`)

  // The agent chose the file names: they are published, so they are redacted like everything else.
  const changedFiles = names.map((file) => redactor.redact(file))
  const diffstat = changedFiles.length ? redactor.redact(stat.trimEnd()) : ''
  const redacted = redacting.changed
  if (redacted) core.warning('The patch contained a secret value, which was redacted: the uploaded patch is marked as redacted (patch-redacted) and its content is not the agent\'s where the secret was.')
  return { patchFile, hasChanges: changedFiles.length > 0, changedFiles, diffstat, redacted, nestedRepositories, oversizedFiles: oversized, outsideSlice: outsideSlice.map((file) => redactor.redact(file)) }
}

/**
 * What in the work tree git must not read as it is: folders holding a `.git` of their own (git
 * would open them as repositories, so they are left out), `.gitignore`, `.gitattributes` or
 * `.gitmodules` that are not regular files or links (a FIFO would hang git), and files too large
 * for a patch (hashing a huge sparse file would keep the step running long past its time limit).
 * One walk for all three.
 */
async function findGitTraps(top: string): Promise<{ nestedRepositories: string[]; specialGitFiles: string[]; oversized: string[] }> {
  const { stdout } = await execFileAsync(
    'find',
    [top, '-xdev', '-path', path.join(top, '.git'), '-prune', '-o', '-name', '.git', '-prune', '-print0', '-o', '(', '-name', '.gitignore', '-o', '-name', '.gitattributes', '-o', '-name', '.gitmodules', ')', '!', '-type', 'f', '!', '-type', 'l', '!', '-type', 'd', '-print0', '-o', '-type', 'f', '-size', `+${LARGEST_FILE_MIB}M`, '-print0'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }))
  const traps = { nestedRepositories: [] as string[], specialGitFiles: [] as string[], oversized: [] as string[] }
  for (const entry of stdout.split('\0').filter(Boolean)) {
    if (path.basename(entry) === '.git') traps.nestedRepositories.push(path.relative(top, path.dirname(entry)))
    else if ((await lstat(entry).catch(() => undefined))?.isFile()) traps.oversized.push(path.relative(top, entry))
    else traps.specialGitFiles.push(path.relative(top, entry))
  }
  return traps
}

/** Splits `--numstat -z --stat` output: NUL-ended numstat records ("<added>\t<deleted>\t<path>", or an empty path then the old and the new path of a rename), then the diffstat, which holds no NUL. */
function parseSummary(output: string): { names: string[]; stat: string } {
  const end = output.lastIndexOf('\0')
  const fields = output.slice(0, end + 1).split('\0')
  const names = new Set<string>()
  for (let i = 0; i < fields.length; ) {
    const record = fields[i++]
    if (!record) continue
    const name = record.slice(record.indexOf('\t', record.indexOf('\t') + 1) + 1)
    if (name) names.add(name)
    else for (const renamed of [fields[i++], fields[i++]]) names.add(renamed)
  }
  return { names: [...names], stat: output.slice(end + 1) }
}
