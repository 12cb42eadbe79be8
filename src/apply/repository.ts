import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises'
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

/**
 * Where apply's checks write: their own object directory (the repository's objects readable as an
 * alternate) and index files, outside the repository, so a refused patch leaves not even an object
 * behind. `keep` copies the objects into the repository once the patch is to land.
 */
export interface Scratch {
  /** The environment for git, with a fresh index of this name. */
  env(indexName: string): Record<string, string>
  keep(): Promise<void>
  remove(): Promise<void>
}

export async function createScratch(repository: Repository): Promise<Scratch> {
  const folder = await mkdtemp(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'codex-apply-'))
  const objects = path.join(folder, 'objects')
  await mkdir(objects)
  const realObjects = path.join(repository.gitDir, 'objects')
  return {
    env: (indexName) => ({ GIT_INDEX_FILE: path.join(folder, `${indexName}.index`), GIT_OBJECT_DIRECTORY: objects, GIT_ALTERNATE_OBJECT_DIRECTORIES: realObjects }),
    // Objects are named by their content: copying never changes one the repository already has.
    keep: () => cp(objects, realObjects, { recursive: true, force: false, errorOnExist: false }),
    remove: () => rm(folder, { recursive: true, force: true })
  }
}
