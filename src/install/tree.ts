import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { lstat, open, readdir } from 'node:fs/promises'
import path from 'node:path'
import { fileKind } from '../agent-files.js'

/**
 * Every file of an installed Codex tree, by path relative to the tree: `'<mode> <sha256 hex>'`,
 * mode 755 or 644. Written by `npm run bump-codex` from the verified tarball (src/install/pinned.ts).
 */
export type TreeManifest = Readonly<Record<string, string>>

// Windows has no owner, mode or executable bits to compare: there a file is checked by its digest alone.
const POSIX = process.platform !== 'win32'

/** A tree that is not exactly the one the manifest describes; nothing in it may run. */
export class RefusedTree extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RefusedTree'
  }
}

/** The manifest as one text, a line per file in path order: the Actions cache key carries its digest, so a new table never restores an old entry. */
export function manifestText(manifest: TreeManifest): string {
  return Object.keys(manifest)
    .sort()
    .map((file) => `${file} ${manifest[file]}\n`)
    .join('')
}

/**
 * Checks that `root` holds exactly the manifest's files and nothing else: only folders and regular
 * files, each file with one link, owned by this process's user, not writable by others, without
 * set-id or sticky bits, executable exactly where the manifest says, with the manifest's sha256.
 * Throws RefusedTree naming the first problem found. Nothing under `root` is run or followed.
 */
export async function verifyTree(root: string, manifest: TreeManifest): Promise<void> {
  const emptyFolders: string[] = []
  const found = await describeTree(root, emptyFolders)
  const problems: string[] = []
  for (const [file, expected] of Object.entries(manifest)) {
    const actual = found[file]
    if (actual === undefined) problems.push(`${file} is missing`)
    else if (POSIX ? actual !== expected : actual.split(' ')[1] !== expected.split(' ')[1]) problems.push(`${file} is '${actual}', not '${expected}'`)
  }
  for (const file of Object.keys(found)) if (!(file in manifest)) problems.push(`${file} is not part of Codex`)
  for (const folder of emptyFolders) problems.push(`${folder} is an empty folder, not part of Codex`)
  if (problems.length) throw new RefusedTree(problems.join('; '))
}

/**
 * The manifest of the tree at `root` as it is on disk; refuses (RefusedTree) anything that is not a
 * folder or a plain regular file of this user's, so a description is only ever made of a clean tree.
 * Empty folders, which a manifest cannot name, are added to `emptyFolders`.
 */
export async function describeTree(root: string, emptyFolders: string[] = []): Promise<Record<string, string>> {
  const files: Record<string, string> = {}
  const uid = process.geteuid?.()
  const hashing: Array<Promise<void>> = []
  const walk = async (relative: string): Promise<void> => {
    const where = relative ? path.join(root, relative) : root
    const info = await lstat(where)
    const name = relative || '.'
    if (!info.isDirectory() && (!relative || !info.isFile())) throw new RefusedTree(`${name} is ${fileKind(info)}, not a regular file`)
    if (uid !== undefined && info.uid !== uid) throw new RefusedTree(`${name} belongs to uid ${info.uid}, not to this user (${uid})`)
    if (POSIX && info.mode & 0o7022) throw new RefusedTree(`${name} has mode ${(info.mode & 0o7777).toString(8)} (writable by others, or set-id or sticky)`)
    if (info.isDirectory()) {
      const entries = await readdir(where)
      if (relative && entries.length === 0) emptyFolders.push(name)
      for (const entry of entries.sort()) await walk(relative ? `${relative}/${entry}` : entry)
      return
    }
    if (info.nlink !== 1) throw new RefusedTree(`${name} has ${info.nlink} links; a file shared with another place is not Codex's`)
    const mode = info.mode & 0o100 ? '755' : '644'
    hashing.push(sha256(where, info.ino).then((digest) => void (files[relative] = `${mode} ${digest}`)))
  }
  try {
    await walk('')
  } finally {
    await Promise.allSettled(hashing)
  }
  await Promise.all(hashing)
  return files
}

async function sha256(file: string, inode: number): Promise<string> {
  // O_NOFOLLOW and the inode check: the file hashed is the one just inspected, not something put in its place.
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  try {
    if ((await handle.stat()).ino !== inode) throw new RefusedTree(`${file} changed while it was checked`)
    const hash = createHash('sha256')
    for await (const chunk of handle.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false })) hash.update(chunk as Buffer)
    return hash.digest('hex')
  } finally {
    await handle.close()
  }
}

