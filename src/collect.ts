import * as core from '@actions/core'
import { execFile, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { copyFile, lstat, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import type { Redactor } from './redact.js'

const execFileAsync = promisify(execFile)

/** The repository as it was before the agent ran: its top folder, a tree object of every file, and its config. */
export interface StartPoint {
  repository: string
  /** The user's own index, which the action only ever copies. */
  indexFile: string
  tree: string
  gitConfigFile: string
  /** The config as the user had it, credentials included: put back after the run. */
  gitConfig: string
  /** The config the agent was given, credentials taken out. */
  agentGitConfig: string
  hiddenCredentials: string[]
  configBackup: string
}

// actions/checkout leaves the job token in the repository config (an extraheader, or an included file).
const CREDENTIAL_KEYS = /^(http\..*\.extraheader|include\.path|includeif\..*\.path|credential\..*|url\..*\.insteadof)$/i

export interface Changes {
  patchFile: string
  hasChanges: boolean
  changedFiles: string[]
  diffstat: string
  /** True when the patch held a secret and was redacted, so it may no longer apply. */
  redacted: boolean
}

// The agent could have planted config that makes git run a program (fsmonitor, hooks); the action's own git calls refuse it.
const SAFE_GIT = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', '-c', 'core.untrackedCache=false']

/** Records the start tree and takes credentials out of the repository config until `collectChanges` puts them back. */
export async function recordStart(workingDirectory: string, excluded: string[], configBackup: string): Promise<StartPoint> {
  // One call for the three paths; --git-path answers relative to where git ran.
  const [repository, configPath, indexPath] = (await git(workingDirectory, ['rev-parse', '--show-toplevel', '--git-path', 'config', '--git-path', 'index'])).trim().split('\n')
  const gitConfigFile = path.resolve(workingDirectory, configPath)
  const indexFile = path.resolve(workingDirectory, indexPath)
  const gitConfig = await readFile(gitConfigFile, 'utf8').catch(() => '')
  // If the job dies before collect, the post step puts the user's config back from this copy.
  await writeFile(configBackup, gitConfig, { mode: 0o600 })
  const tree = await snapshotTree(repository, indexFile, excluded)
  const hiddenCredentials = await hideCredentials(repository, gitConfigFile)
  const agentGitConfig = await readFile(gitConfigFile, 'utf8').catch(() => '')
  return { repository, indexFile, tree, gitConfigFile, gitConfig, agentGitConfig, hiddenCredentials, configBackup }
}

async function hideCredentials(repository: string, gitConfigFile: string): Promise<string[]> {
  const names = (await git(repository, ['config', '--file', gitConfigFile, '--name-only', '--list']).catch(() => ''))
    .split('\n')
    .filter((name) => CREDENTIAL_KEYS.test(name))
  const unique = [...new Set(names)]
  for (const name of unique) await git(repository, ['config', '--file', gitConfigFile, '--unset-all', name])
  if (unique.length) core.info(`Took ${unique.join(', ')} out of ${gitConfigFile} while the agent runs; it is put back afterwards.`)
  return unique
}

/**
 * The binary patch from the start tree to the work tree now: modified, added (untracked and not
 * ignored), deleted, renamed, binary and mode changes. A temporary index is used, so the user's
 * index and work tree stay exactly as the agent left them.
 */
export async function collectChanges(start: StartPoint, excluded: string[], outputDirectory: string, redactor: Redactor): Promise<Changes> {
  await restoreGitConfig(start)
  const tree = await snapshotTree(start.repository, start.indexFile, excluded)
  const patchFile = path.join(outputDirectory, 'codex.patch')
  const diff = ['diff', '--no-ext-diff', '--no-textconv', '--no-color', '-M', start.tree, tree]

  const child = spawn('git', [...SAFE_GIT, ...diff.slice(0, 1), '--binary', '--full-index', ...diff.slice(1)], { cwd: start.repository, stdio: ['ignore', 'pipe', 'pipe'] })
  const redacting = redactor.stream()
  const patchWritten = pipeline(child.stdout, redacting, createWriteStream(patchFile, { mode: 0o644 }))
  const [exitCode] = await Promise.all([new Promise<number | null>((resolve) => child.once('close', resolve)), patchWritten])
  if (exitCode !== 0) throw new Error(`git diff failed in ${start.repository} (exit ${exitCode})`)

  const nameStatus = await git(start.repository, [...diff, '--name-status', '-z'])
  // The agent chose the file names: they are published, so they are redacted like everything else.
  const changedFiles = parseNameStatus(nameStatus).map((file) => redactor.redact(file))
  // People read the diffstat: paths as they are, not octal-escaped.
  const diffstat = changedFiles.length ? redactor.redact((await git(start.repository, ['-c', 'core.quotePath=false', ...diff, '--stat=120'])).trimEnd()) : ''
  const redacted = redacting.changed
  if (redacted) core.warning('The patch contained a secret value, which was redacted: the uploaded patch will not apply where the secret was.')
  return { patchFile, hasChanges: changedFiles.length > 0, changedFiles, diffstat, redacted }
}

async function snapshotTree(repository: string, realIndex: string, excluded: string[]): Promise<string> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'codex-action-index-'))
  const index = path.join(scratch, 'index')
  try {
    // Starting from a copy of the real index lets git skip re-hashing files whose stat is unchanged.
    // The copy keeps the original's mtime: git re-hashes entries as new as the index ("racy" ones),
    // and a copy stamped now would hide a same-size edit made in the second the index was written.
    await copyFile(realIndex, index)
      .then(async () => {
        const { atime, mtime } = await stat(realIndex)
        await utimes(index, atime, mtime)
      })
      .catch(() => undefined)
    const env = { ...process.env, GIT_INDEX_FILE: index }
    const exclusions = excluded
      .map((file) => path.relative(repository, file))
      .filter((relative) => relative && !relative.startsWith('..') && !path.isAbsolute(relative))
      .map((relative) => `:(exclude,top)${relative}`)
    await git(repository, ['add', '--all', '--', ':/', ...exclusions], env)
    return (await git(repository, ['write-tree'], env)).trim()
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

/** Puts the user's config back: the agent's edits to it are not part of its patch, and could make later git calls run its code. */
async function restoreGitConfig(start: StartPoint): Promise<void> {
  const now = await readFile(start.gitConfigFile, 'utf8').catch(() => '')
  // A symlink in its place would make the write below put the credentials wherever the agent pointed it.
  const plainFile = await lstat(start.gitConfigFile).then((stats) => stats.isFile(), () => false)
  if (now !== start.agentGitConfig || !plainFile) core.warning(`The agent changed ${start.gitConfigFile}; the original was restored before the patch was computed.`)
  if (now !== start.gitConfig || !plainFile) await writeRepositoryConfig(start.gitConfigFile, start.gitConfig)
  await rm(start.configBackup, { force: true })
}

/** Replaces the repository config with `content`, never writing through a link the agent left in its place. */
export async function writeRepositoryConfig(file: string, content: string | Buffer): Promise<void> {
  await rm(file, { force: true, recursive: true })
  await writeFile(file, content, { flag: 'wx' })
}

function parseNameStatus(output: string): string[] {
  const fields = output.split('\0').filter(Boolean)
  const files = new Set<string>()
  for (let i = 0; i < fields.length; ) {
    const status = fields[i++]
    const paths = /^[RC]/.test(status) ? 2 : 1
    for (let p = 0; p < paths; p++) files.add(fields[i++])
  }
  return [...files]
}

async function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', [...SAFE_GIT, ...args], { cwd, env, maxBuffer: 1024 * 1024 * 1024, encoding: 'utf8' })
    return stdout
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim()
    throw new Error(`git ${args[0]} failed in ${cwd}: ${stderr || (error as Error).message}`)
  }
}
