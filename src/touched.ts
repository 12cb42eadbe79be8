import * as core from '@actions/core'
import { readFile, realpath, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import type { GitDirs } from './git-dir.js'
import type { Privilege } from './isolation.js'

// Lend's own chowns just before the mark count as touched: harmless (read again), and it absorbs
// any rounding of the reference time by find.
const SLACK_NS = 10_000_000n
// A wall clock set back while the agent ran could date its changes before the mark: by up to this
// much the slack absorbs it, by more the listing is not used.
const CLOCK_STEP_MS = 5

/** The moment the agent was lent the repository, as the repository's file system dates changes. */
export interface LentMark {
  /** The change time (ctime) of a file made after lend's last chown, in the action's private folder on the repository's file system. */
  ctimeNs: bigint
  /** The wall clock minus the monotonic clock then, to see whether the wall clock was set back since. */
  wallMinusMonotonicMs: number
}

/**
 * What the agent touched while it held the repository: every path (from the top) whose file,
 * link or other entry changed after the mark, folders apart. A path not listed holds an inode that
 * existed before the mark and was not written, chmodded, linked or (on ext4, XFS, Btrfs, tmpfs)
 * renamed since: if it is the inode git recorded there (git compares inode numbers, owner, size
 * and mtime), its content and mode are as they were. Whatever else the agent did to a path (a new
 * file, a delete and create that recycles the inode number, a rename over it, a swap of folders)
 * leaves there a new inode, which is listed, or another old one, whose inode number git sees.
 */
export type Touched = Set<string>

/**
 * Marks the moment lend is done. Every change to an inode (a write, a chmod, a rename, a new link,
 * a new file, `touch -d` itself) sets its change time to the kernel's clock, which no unprivileged
 * process can set: whatever the agent does afterwards is dated at or after this mark.
 */
export async function markLent(dirs: Pick<GitDirs, 'aside'>): Promise<LentMark> {
  // The git dir's private folder: on the repository's file system (same time granularity), and the agent cannot enter it.
  const marker = path.join(path.dirname(dirs.aside), 'lent-at')
  await writeFile(marker, '', { mode: 0o600 })
  const { ctimeNs } = await stat(marker, { bigint: true })
  // Wall clock first: a pause between the two readings can only make this smaller.
  const wall = Date.now()
  return { ctimeNs, wallMinusMonotonicMs: wall - performance.now() }
}

/**
 * Lists, as root and once the agent is stopped (before hand-back moves every change time), every
 * entry of the work tree but folders whose change time is at or after the mark: the only files the
 * agent can have changed. Undefined when that cannot be known (mode `none`, a wall clock set back,
 * a listing that failed or outgrew the output root's commands may print, 1 MiB): collect then reads
 * every file again.
 */
export async function listTouched(privilege: Privilege | undefined, top: string, mark: LentMark | undefined): Promise<Touched | undefined> {
  if (!privilege || !mark) return undefined
  // Monotonic clock first: a pause between the two readings can only make this larger, never look like a step back.
  const monotonic = performance.now()
  if (Date.now() - monotonic < mark.wallMinusMonotonicMs - CLOCK_STEP_MS) {
    core.info('The wall clock was set back while the agent ran: every file is read again to find its changes.')
    return undefined
  }
  // The mark dates changes as the repository's file system does. Another one mounted inside may date them to the whole
  // second (ext2/3, small-inode ext4), by its server's clock (NFS) or not at all (FAT): a change there can read as older.
  const mounted = await mountsBelow(top)
  if (mounted !== 0) {
    core.info(`${mounted === undefined ? 'The mount table could not be read' : 'A file system is mounted inside the work tree'}: every file is read again to find its changes.`)
    return undefined
  }
  // find's -newer is strict: one nanosecond before the cutoff counts ties as touched.
  const reference = mark.ctimeNs - SLACK_NS - 1n
  const since = `@${reference / 1_000_000_000n}.${String(reference % 1_000_000_000n).padStart(9, '0')}`
  // No -xdev: git reads across mount points, so the listing does too; any error (a folder it cannot read) means no listing.
  const listing = await privilege.asRoot('find', [top, '-path', path.join(top, '.git'), '-prune', '-o', '!', '-type', 'd', '-newerct', since, '-printf', '%P\\0']).catch((error: Error) => {
    core.info(`Could not list what the agent touched (${error.message.split('\n')[0]}): every file is read again to find its changes.`)
    return undefined
  })
  if (listing === undefined) return undefined
  return new Set(listing.split('\0').filter(Boolean))
}

/** How many file systems are mounted strictly below `top` (the kernel's table), or undefined if that cannot be read. */
async function mountsBelow(top: string): Promise<number | undefined> {
  const table = await readFile('/proc/self/mountinfo', 'latin1').catch(() => undefined)
  if (table === undefined) return undefined
  // The table names mount points by their real paths: a top reached through a link is looked up by both.
  const real = await realpath(top).catch(() => top)
  // Bytes on both sides (latin1 keeps each); the table writes space, tab, newline and backslash as octal escapes.
  const below = [top, real].map((folder) => `${Buffer.from(folder).toString('latin1')}/`)
  const points = table.split('\n').map((line) => (line.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
  return points.filter((point) => below.some((prefix) => point.startsWith(prefix))).length
}
