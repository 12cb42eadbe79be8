import { pathMatcher } from '../path-glob.js'
import type { Leg } from './download.js'
import type { PathPolicy } from './inputs.js'
import { followLink } from './links.js'
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
const GITLINK_MODE = '160000'

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
  // Protected in any case: a case-insensitive checkout (macOS, Windows) reads .GitHub as .github.
  const isProtected = pathMatcher(policy.protectedPaths, { caseInsensitive: true })
  const isAllowed = pathMatcher(policy.allowedPaths)
  const refused = files.filter((file) => isProtected(file) && !isAllowed(file))
  if (refused.length) {
    throw new Refusal(`Refused: the patches change protected paths: ${refused.join(', ')}. Land them by hand, or name them in allowed-paths if this workflow may change them.`, refused)
  }
  const entries = await treeEntries(repository, tree, env)
  // A gitlink pins a commit of another repository (one a fork can add to GitHub's network), fetched by `submodules: true` checkouts.
  const gitlinks = files.filter((file) => entries.get(file)?.mode === GITLINK_MODE && !isAllowed(file))
  if (gitlinks.length) {
    throw new Refusal(`Refused: the patches change submodule commits: ${gitlinks.join(', ')}. Land them by hand, or name them in allowed-paths if this workflow may change them.`, gitlinks)
  }
  const escaping = await escapingLinks(repository, entries, await treeEntries(repository, repository.head, env), files, env)
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

/** A tree's files, links and gitlinks, by path. */
type TreeEntries = Map<string, { mode: string; object: string }>

async function treeEntries(repository: Repository, tree: string, env: Record<string, string>): Promise<TreeEntries> {
  const listing = await git(repository, ['ls-tree', '-r', '-z', '--full-tree', tree], env)
  const entries: TreeEntries = new Map()
  for (const entry of listing.split('\0').filter(Boolean)) {
    const [meta, file] = [entry.slice(0, entry.indexOf('\t')), entry.slice(entry.indexOf('\t') + 1)]
    const [mode, , object] = meta.split(' ')
    entries.set(file, { mode, object })
  }
  return entries
}

/**
 * Links in the tree that leave the repository (absolute, above the top, into .git, or no end),
 * followed through the tree's other links, where the patch changed the link or a path on its way:
 * `q -> .` and `p -> q/src/../..` reads as "." but climbs above the top.
 */
async function escapingLinks(repository: Repository, entries: TreeEntries, before: TreeEntries, files: string[], env: Record<string, string>): Promise<{ path: string; target: string }[]> {
  // Where a link leads depends only on the tree's links: a patch that adds, changes or removes none leaves every way as it was.
  if (!files.some((file) => entries.get(file)?.mode === SYMLINK_MODE || before.get(file)?.mode === SYMLINK_MODE)) return []
  const touched = new Set(files.flatMap((file) => file.split('/').map((_, n, parts) => parts.slice(0, n + 1).join('/'))))
  const links = new Map<string, string>()
  for (const [file, { mode, object }] of entries) if (mode === SYMLINK_MODE) links.set(file, await git(repository, ['cat-file', 'blob', object], env))
  const escaping: { path: string; target: string }[] = []
  for (const [file, target] of links) {
    const way = followLink(file, links)
    if (way.leaves && way.through.some((passed) => touched.has(passed))) escaping.push({ path: file, target })
  }
  return escaping
}

function names(legs: Leg[]): string {
  return legs.map((leg) => `'${leg.name}'`).join(', ')
}
