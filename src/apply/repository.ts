import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { plainGit, trustedGit } from '../git-dir.js'

/** The checked-out repository apply lands on: trusted (the agent never ran in this job), still read without hooks or programs. */
export interface Repository {
  top: string
  gitDir: string
  /** The commit checked out, which every patch must apply to. */
  head: string
  /** The branch checked out, when HEAD is on one. */
  branch?: string
}

export async function openRepository(workingDirectory: string): Promise<Repository> {
  const [top, gitDir] = (await plainGit(workingDirectory, ['rev-parse', '--show-toplevel', '--absolute-git-dir'])).trim().split('\n')
  const repository = { top, gitDir, head: '' }
  const head = (await git(repository, ['rev-parse', '--verify', 'HEAD^{commit}'])).trim()
  const branch = (await git(repository, ['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '')).trim() || undefined
  return { top, gitDir, head, branch }
}

/** git on the repository, as the action runs it everywhere: no hooks, fsmonitor, system or global configuration. */
export function git(repository: Pick<Repository, 'top' | 'gitDir'>, args: string[], env: Record<string, string> = {}): Promise<string> {
  return trustedGit(repository.gitDir, repository.top, args, env)
}

/** Runs `work` with a fresh index file outside the repository (GIT_INDEX_FILE), so the real index never changes. */
export async function withScratchIndex<T>(work: (env: Record<string, string>) => Promise<T>): Promise<T> {
  const folder = await mkdtemp(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'codex-apply-index-'))
  try {
    return await work({ GIT_INDEX_FILE: path.join(folder, 'index') })
  } finally {
    await rm(folder, { recursive: true, force: true })
  }
}
