import picomatch from 'picomatch'

/**
 * Repository paths matched by globs (picomatch: `*`, `**`, `?`, `[…]`, `{a,b}`), dot files included.
 * A glob also matches everything below what it names, so `packages/api` means the whole folder.
 */
export function pathMatcher(globs: string[], { caseInsensitive = false } = {}): (relativePath: string) => boolean {
  if (!globs.length) return () => false
  const matches = picomatch(
    globs.flatMap((glob) => [glob, `${glob.replace(/\/+$/, '')}/**`]),
    { dot: true, nocase: caseInsensitive }
  )
  return (relativePath) => matches(relativePath)
}

/** Why a glob cannot name repository paths, or undefined when it can. */
export function globProblem(glob: string): string | undefined {
  if (glob.startsWith('/')) return 'is absolute'
  if (glob.includes('\\')) return 'holds a backslash'
  if (glob.split('/').some((segment) => segment === '..' || segment === '.')) return "has a '.' or '..' segment"
  try {
    picomatch.makeRe(glob)
  } catch (error) {
    return `is not a glob (${(error as Error).message})`
  }
  return undefined
}
