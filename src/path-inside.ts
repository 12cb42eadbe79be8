import path from 'node:path'

/** `target` relative to `root` when it lies inside it (or is it: ''), else undefined. A name such as `..cache` is inside. */
export function relativeInside(root: string, target: string): string | undefined {
  const relative = path.relative(root, target)
  return relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative) ? undefined : relative
}
