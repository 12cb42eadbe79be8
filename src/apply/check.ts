import path from 'node:path'
import { pathMatcher } from '../path-glob.js'
import type { Leg } from './download.js'
import type { PathPolicy } from './inputs.js'
import { Refusal } from './refusal.js'
import { git, type Repository, type Scratch } from './repository.js'

/** What the legs' patches make of the checked-out commit, once every check has passed. */
export interface Plan {
  /** The tree of the checked-out commit with every leg's patch applied. */
  tree: string
  /** Every path added, changed or deleted, sorted. */
  files: string[]
  /** The paths each leg changes, by leg name. */
  filesByLeg: Map<string, string[]>
  /** `git diff --stat` from the checked-out commit to `tree`. */
  diffstat: string
}

const SYMLINK_MODE = '120000'

/**
 * Checks the legs' patches with git in `scratch` (its own indexes and objects), before anything is written: each applies to
 * the checked-out commit, none was redacted, no two change the same path, the combined change stays
 * within max-files and max-bytes and off protected paths, and no link it leaves points outside the
 * repository. Throws a Refusal naming every offender.
 */
export async function checkLegs(repository: Repository, legs: Leg[], policy: PathPolicy, scratch: Scratch): Promise<Plan> {
  const redacted = legs.filter((leg) => leg.redacted)
  if (redacted.length) {
    throw new Refusal(`Refused: the patch of ${names(redacted)} was redacted by the agent job (a secret value was removed, so its content is not what the agent left), or its run.json does not say it was not. Fix the secret's source and run the agent again.`, [])
  }
  const totalBytes = legs.reduce((sum, leg) => sum + leg.patchBytes, 0)
  if (totalBytes > policy.maxBytes) throw new Refusal(`Refused: the patches are ${totalBytes} bytes together, more than max-bytes (${policy.maxBytes}).`, [])

  const filesByLeg = new Map<string, string[]>()
  for (const [n, leg] of legs.entries()) filesByLeg.set(leg.name, await changedFiles(repository, [leg], scratch.env(`leg-${n}`)))
  refuseOverlaps(filesByLeg)

  const env = scratch.env('combined')
  const files = await changedFiles(repository, legs, env)
  const tree = (await git(repository, ['write-tree'], env)).trim()
  if (files.length > policy.maxFiles) throw new Refusal(`Refused: the patches change ${files.length} files, more than max-files (${policy.maxFiles}).`, [])
  const isProtected = pathMatcher(policy.protectedPaths)
  const isAllowed = pathMatcher(policy.allowedPaths)
  const refused = files.filter((file) => isProtected(file) && !isAllowed(file))
  if (refused.length) {
    throw new Refusal(`Refused: the patches change protected paths: ${refused.join(', ')}. Land them by hand, or name them in allowed-paths if this workflow may change them.`, refused)
  }
  const escaping = await escapingLinks(repository, tree, files, env)
  if (escaping.length) {
    throw new Refusal(`Refused: the patches leave symbolic links that point outside the repository: ${escaping.map((link) => `${link.path} -> ${link.target}`).join(', ')}.`, escaping.map((link) => link.path))
  }
  const diffstat = files.length ? (await git(repository, ['-c', 'core.quotePath=false', 'diff', '--no-ext-diff', '--no-textconv', '--no-color', '--stat=120', repository.head, tree], env)).trimEnd() : ''
  return { tree, files, filesByLeg, diffstat }
}

/** Applies the legs' patches in order to a scratch index holding the checked-out commit, and lists what they change. */
async function changedFiles(repository: Repository, legs: Leg[], env: Record<string, string>): Promise<string[]> {
  await git(repository, ['read-tree', repository.head], env)
  for (const leg of legs) {
    if (!leg.patchBytes) continue
    await git(repository, ['apply', '--cached', '--binary', '--whitespace=nowarn', leg.patchFile], env).catch((error: Error) => {
      throw new Refusal(`Refused: the patch of '${leg.name}' does not apply to the checked-out commit ${repository.head}: ${error.message.replace(/^git apply failed in [^:]+: /, '')}`, [])
    })
  }
  const changed = await git(repository, ['diff', '--cached', '--no-renames', '--name-only', '-z', repository.head], env)
  return changed.split('\0').filter(Boolean).sort()
}

function refuseOverlaps(filesByLeg: Map<string, string[]>): void {
  const legsByFile = new Map<string, string[]>()
  for (const [leg, files] of filesByLeg) for (const file of files) legsByFile.set(file, [...(legsByFile.get(file) ?? []), leg])
  const overlaps = [...legsByFile].filter(([, legs]) => legs.length > 1)
  if (overlaps.length) {
    const list = overlaps.map(([file, legs]) => `${file} (${legs.join(', ')})`).join('; ')
    throw new Refusal(`Refused: legs change the same paths, so their patches cannot be combined: ${list}. Give each matrix leg its own paths.`, overlaps.map(([file]) => file))
  }
}

/** Links among `files` in `tree` whose target leaves the repository (absolute, climbing above the top, or into .git). */
async function escapingLinks(repository: Repository, tree: string, files: string[], env: Record<string, string>): Promise<{ path: string; target: string }[]> {
  if (!files.length) return []
  const changed = new Set(files)
  const listing = await git(repository, ['ls-tree', '-r', '-z', '--full-tree', tree], env)
  const escaping: { path: string; target: string }[] = []
  for (const entry of listing.split('\0').filter(Boolean)) {
    const [meta, file] = [entry.slice(0, entry.indexOf('\t')), entry.slice(entry.indexOf('\t') + 1)]
    const [mode, , object] = meta.split(' ')
    if (mode !== SYMLINK_MODE || !changed.has(file)) continue
    const target = await git(repository, ['cat-file', 'blob', object], env)
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), target))
    if (target.startsWith('/') || resolved === '..' || resolved.startsWith('../') || resolved.split('/')[0] === '.git') escaping.push({ path: file, target })
  }
  return escaping
}

function names(legs: Leg[]): string {
  return legs.map((leg) => `'${leg.name}'`).join(', ')
}
