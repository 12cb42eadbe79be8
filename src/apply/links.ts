// As Linux allows (MAXSYMLINKS): a longer chain resolves nowhere, and is refused as leaving.
const MAX_LINK_HOPS = 40

/**
 * Follows the link `link` of a tree as the file system will once the tree is checked out: each
 * part of its target in turn, through the tree's other links (`links`: path → target), `..` after
 * a link going up from where that link leads, not from its name. Says whether it leaves the
 * repository (an absolute target, above the top, into a `.git`, or no end) and every path it went
 * through, so a link that left before the patch can be told from one the patch sends out.
 */
export function followLink(link: string, links: ReadonlyMap<string, string>): { leaves: boolean; through: string[] } {
  const through = [link]
  const target = links.get(link) ?? ''
  if (target.startsWith('/')) return { leaves: true, through }
  const at = link.split('/').slice(0, -1)
  const pending = target.split('/')
  let hops = 0
  while (pending.length) {
    const part = pending.shift()!
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (!at.length) return { leaves: true, through }
      at.pop()
      continue
    }
    // git refuses `.git` in any case at any depth in a tree; a case-insensitive file system finds it as `.GIT`.
    if (part.toLowerCase() === '.git') return { leaves: true, through }
    at.push(part)
    const here = at.join('/')
    through.push(here)
    const next = links.get(here)
    if (next === undefined) continue
    if (++hops > MAX_LINK_HOPS || next.startsWith('/')) return { leaves: true, through }
    at.pop()
    pending.unshift(...next.split('/'))
  }
  return { leaves: false, through }
}
