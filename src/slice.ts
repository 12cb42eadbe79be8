import { trustedGit, type GitDirs } from './git-dir.js'
import { pathMatcher } from './path-glob.js'

/**
 * A matrix leg's share of the repository (input `paths`): the agent is told it in its prompt, and
 * only its changes inside it go into the leg's patch, so legs combined by `apply` cannot collide
 * outside their slices.
 */
export function slicePrompt(prompt: string, slice: string[]): string {
  if (!slice.length) return prompt
  return `${prompt}\n\nWork only on these paths of the repository (globs): ${slice.join(', ')}. Other runners work on the rest in parallel; changes outside these paths are discarded.`
}

/** The paths changed between a tree and an index that lie outside the slice (none when there is no slice). */
export async function changesOutsideSlice(dirs: Pick<GitDirs, 'home' | 'top'>, fromTree: string, index: string, slice: string[]): Promise<string[]> {
  if (!slice.length) return []
  const inside = pathMatcher(slice)
  const changed = await trustedGit(dirs.home, dirs.top, ['diff', '--cached', '--no-ext-diff', '--no-renames', '--name-only', '-z', fromTree], { GIT_INDEX_FILE: index })
  return changed.split('\0').filter((file) => file && !inside(file))
}
