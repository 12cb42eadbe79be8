import { constants } from 'node:fs'
import { lstat, open, readdir } from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'

/** A file the agent could write, opened as a proven regular file. */
export interface AgentFile {
  /** Its bytes, at most `maxBytes` of them; the stream closes the file when it ends. */
  stream: Readable
  size: number
  /** Longer than `maxBytes`: the stream stops there. */
  truncated: boolean
}

export interface AgentFileRules {
  /** The uid the file must belong to, when known. */
  owner?: number
  maxBytes: number
}

/** Why a file the agent could write was not read, in words for the log. */
export class AgentFileRefused extends Error {
  constructor(file: string, why: string) {
    super(`${file} ${why}`)
    this.name = 'AgentFileRefused'
  }
}

// The action reads with its own rights, which reach much more than the agent's: a link, a FIFO or a device
// the agent left would make it read (or wait on) something the agent chose.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK

/**
 * Opens a file in a place the agent could write, only when it is a regular file of its own: not a link
 * (O_NOFOLLOW), not a FIFO or device (checked on the open descriptor, which O_NONBLOCK keeps from
 * waiting), the very file that was looked at (same device and inode), with one name only (a hard link
 * could be someone else's file) and, given `owner`, owned by that uid.
 */
export async function openAgentFile(file: string, rules: AgentFileRules): Promise<AgentFile> {
  const seen = await lstat(file)
  if (!seen.isFile()) throw new AgentFileRefused(file, `is ${fileKind(seen)}, not a regular file`)
  const handle = await open(file, OPEN_FLAGS).catch((error: NodeJS.ErrnoException) => {
    throw new AgentFileRefused(file, error.code === 'ELOOP' ? 'became a symbolic link' : `could not be opened (${error.code ?? error.message})`)
  })
  try {
    const opened = await handle.stat()
    if (!opened.isFile()) throw new AgentFileRefused(file, `became ${fileKind(opened)}`)
    if (opened.dev !== seen.dev || opened.ino !== seen.ino) throw new AgentFileRefused(file, 'was replaced while it was being opened')
    if (opened.nlink !== 1) throw new AgentFileRefused(file, `has ${opened.nlink} names (a hard link)`)
    if (rules.owner !== undefined && opened.uid !== rules.owner) throw new AgentFileRefused(file, `belongs to uid ${opened.uid}, not to uid ${rules.owner}`)
    // A file that grows after the check is still read only up to the limit.
    return { stream: handle.createReadStream({ start: 0, end: rules.maxBytes - 1 }), size: opened.size, truncated: opened.size > rules.maxBytes }
  } catch (error) {
    await handle.close()
    throw error
  }
}

/**
 * Paths under `directory` whose file name matches `name`, found without following a link: a linked
 * folder is never entered, and `directory` itself must be a real folder. What is found still needs
 * `openAgentFile` to be read. At most `maxEntries` entries are looked at, so a huge tree cannot stall the step.
 */
export async function findAgentFiles(directory: string, name: RegExp, maxEntries = 100_000): Promise<string[]> {
  const found: string[] = []
  const root = await lstat(directory).catch(() => undefined)
  if (!root?.isDirectory()) return found
  const pending = [directory]
  let looked = 0
  for (let folder = pending.pop(); folder !== undefined && looked < maxEntries; folder = pending.pop()) {
    for (const entry of await readdir(folder).catch(() => [] as string[])) {
      if (++looked > maxEntries) break
      const entryPath = path.join(folder, entry)
      const stats = await lstat(entryPath).catch(() => undefined)
      if (stats?.isDirectory()) pending.push(entryPath)
      else if (stats && name.test(entry)) found.push(entryPath)
    }
  }
  return found
}

/** What an entry is, in words, for a message that refuses it. */
export function fileKind(stats: Awaited<ReturnType<typeof lstat>>): string {
  if (stats.isSymbolicLink()) return 'a symbolic link'
  if (stats.isFIFO()) return 'a named pipe (FIFO)'
  if (stats.isSocket()) return 'a socket'
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device'
  if (stats.isDirectory()) return 'a folder'
  if (stats.isFile()) return 'a file'
  return 'a special file'
}
