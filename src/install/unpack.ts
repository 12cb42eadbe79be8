import { createHash } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'
import { chmod, mkdir } from 'node:fs/promises'
import { once } from 'node:events'
import path from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { Parser, type ReadEntry } from 'tar'
import { sriOf } from './integrity.js'
import type { CodexPlatform } from './platform.js'

/** What streaming one tarball gave: the sha512 of every byte read and, if the bytes would not unpack, why. */
export interface Unpacked {
  integrity: string
  bytes: number
  /** Set when the bytes were read to the end but could not be unpacked: the caller decides after the sha512. */
  failure?: Error
}

/** The part of a platform tarball the action runs: the vendor folder without the voice runtime (not needed unattended). */
export function neededPath(entryPath: string, platform: CodexPlatform): string | undefined {
  const prefix = `package/vendor/${platform.triple}/`
  if (!entryPath.startsWith(prefix)) return undefined
  const relative = entryPath.slice(prefix.length).replace(/\/+$/, '')
  if (relative === '' || relative === 'codex-resources/voice' || relative.startsWith('codex-resources/voice/')) return undefined
  return relative
}

// The bytes are written before the sha512 can say whether they are Codex's: a forged tarball (a hostile
// registry or mirror, a poisoned cache entry) must not fill the disk or its inodes first. Codex 0.169.0
// unpacks to 5 files and 370 MB; these bounds leave room for it to grow tenfold.
const MOST_FILES = 1_000
const MOST_BYTES = 4 * 1024 ** 3

const PLAIN_SEGMENT = /^(?!\.\.?$)[^/\\\0]+$/

/**
 * Reads `tarball` once, in one pass: sha512 of every byte, Node's gunzip (it runs off the main
 * thread, beside the download and the hash), and the needed files written into `staging`, which
 * the caller made private and moves into place only once the sha512 verifies. Only regular files
 * are written, each once, at a plain relative path; a link, a device, a path with `..` or a
 * second copy of a file makes the bytes unusable (`failure`). The rest of the stream is still
 * hashed, so a tampered tarball is reported as tampered, not as unreadable. A read error (the
 * download broke) is thrown; the caller empties `staging` before it tries again.
 * `copy`, when given, receives every byte too (the tarball kept for the Actions cache).
 */
export async function unpackTarball(tarball: Readable, platform: CodexPlatform, staging: string, copy?: Writable): Promise<Unpacked> {
  const hash = createHash('sha512')
  let bytes = 0
  let failure: Error | undefined
  const openFiles = new Set<WriteStream>()
  const written: Array<Promise<void>> = []
  const wanted = new Set<string>()
  let unpackedBytes = 0
  let signalFailure: () => void = () => {}
  const failed = new Promise<void>((resolve) => (signalFailure = resolve))
  const fail = (error: Error) => {
    failure ??= error
    for (const file of openFiles) file.destroy()
    signalFailure()
  }

  const gunzip = createGunzip({ chunkSize: 1024 * 1024 })
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      try {
        place(entry)
      } catch (error) {
        fail(error as Error)
        entry.resume()
      }
    }
  })
  parser.on('error', (error: Error) => fail(error))
  const parserClosed = once(parser, 'close').catch(() => undefined)

  function place(entry: ReadEntry): void {
    const relative = neededPath(entry.path, platform)
    if (relative === undefined || entry.type === 'Directory') {
      entry.resume()
      return
    }
    if (!relative.split('/').every((segment) => PLAIN_SEGMENT.test(segment))) throw new Error(`the entry '${entry.path}' is not a plain path inside the package`)
    if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
      throw new Error(`the entry '${entry.path}' is a ${entry.type}, not a regular file`)
    }
    if (wanted.has(relative)) throw new Error(`the entry '${entry.path}' appears twice`)
    unpackedBytes += entry.size ?? 0
    if (wanted.size >= MOST_FILES || unpackedBytes > MOST_BYTES) throw new Error(`it holds more than ${MOST_FILES} files or ${MOST_BYTES / 1024 ** 3} GiB to write, far more than Codex`)
    wanted.add(relative)
    const target = path.join(staging, relative)
    const mode = (entry.mode ?? 0) & 0o111 ? 0o755 : 0o644
    entry.pause()
    written.push(
      (async () => {
        await mkdir(path.dirname(target), { recursive: true })
        // 'wx': nothing is ever written through an existing name.
        const file = createWriteStream(target, { flags: 'wx', mode, highWaterMark: 1024 * 1024 })
        openFiles.add(file)
        if (failure) file.destroy()
        entry.pipe(file)
        await finished(file)
        openFiles.delete(file)
        // The umask may have taken bits away; later readers (the agent's user) need exactly these.
        await chmod(target, mode)
      })().catch((error: Error) => fail(error))
    )
  }

  const parsed = (async () => {
    for await (const chunk of gunzip) {
      if (failure) continue
      if (!parser.write(chunk as Buffer)) await Promise.race([once(parser, 'drain'), parserClosed, failed])
    }
    if (!failure) {
      parser.end()
      await parserClosed
    }
  })().catch((error: Error) => fail(error))

  try {
    for await (const chunk of tarball) {
      const piece = chunk as Buffer
      hash.update(piece)
      bytes += piece.length
      if (copy && !copy.write(piece)) await once(copy, 'drain')
      if (!failure && !gunzip.write(piece)) await Promise.race([once(gunzip, 'drain'), parsed])
    }
  } catch (error) {
    gunzip.destroy()
    copy?.destroy()
    fail(error as Error)
    await Promise.allSettled([parsed, ...written])
    throw error
  }
  if (!gunzip.destroyed) gunzip.end()
  await parsed
  await Promise.all(written)
  if (copy) {
    copy.end()
    await finished(copy)
  }
  if (!failure && !wanted.has(`bin/${platform.binaryName}`)) failure = new Error(`it has no package/vendor/${platform.triple}/bin/${platform.binaryName}`)
  return { integrity: sriOf(hash), bytes, failure }
}
