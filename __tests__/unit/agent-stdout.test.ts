import { randomBytes } from 'node:crypto'
import { existsSync, fstatSync, ftruncateSync, mkdtempSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { AgentStdout } from '../../src/run/agent-stdout.js'

let folder: string | undefined
afterEach(() => {
  if (folder) rmSync(folder, { recursive: true, force: true })
  folder = undefined
})

function scratch(): string {
  folder = mkdtempSync(path.join(os.tmpdir(), 'agent-stdout-'))
  return path.join(folder, 'codex-stdout.unredacted')
}

/** Everything `follow` hands over, copied (each chunk is a view of a buffer it reads into again), and how much came before `finished`. */
async function collect(stdout: AgentStdout, finished: Promise<unknown>): Promise<{ read: Buffer; beforeFinished: number }> {
  const chunks: Buffer[] = []
  let over = false
  void finished.then(() => (over = true))
  let beforeFinished = 0
  await stdout.follow(finished, async (chunk) => {
    chunks.push(Buffer.from(chunk))
    if (!over) beforeFinished += chunk.length
    await sleep(0)
  })
  return { read: Buffer.concat(chunks), beforeFinished }
}

describe('AgentStdout', () => {
  it('hands over every byte written before the writer finished, read while it was still writing', async () => {
    const stdout = await AgentStdout.create(scratch())
    // Nameless from the start: only the two descriptors reach it, a 0600 file.
    expect(existsSync(stdout.file)).toBe(false)
    expect(fstatSync(stdout.writerFd).mode & 0o777).toBe(0o600)
    expect(fstatSync(stdout.writerFd).nlink).toBe(0)
    const pieces = Array.from({ length: 40 }, (_, i) => randomBytes(i % 3 === 0 ? 1_500_000 : 10 + i))
    let done!: () => void
    const finished = new Promise<void>((resolve) => (done = resolve))
    const writer = stdout.writerFd
    const writing = (async () => {
      for (const piece of pieces) {
        writeSync(writer, piece)
        await sleep(2)
      }
      stdout.closeWriter()
      done()
    })()
    const { read, beforeFinished } = await collect(stdout, finished)
    await writing
    expect(read.equals(Buffer.concat(pieces))).toBe(true)
    expect(beforeFinished).toBeGreaterThan(read.length / 2)
    await stdout.close()
  })

  it('never takes a file that is already there, and leaves it', async () => {
    const file = scratch()
    writeFileSync(file, 'planted')
    await expect(AgentStdout.create(file)).rejects.toThrow(/EEXIST/)
    expect(existsSync(file)).toBe(true)
  })

  it('stops reading when told to, however much is left (a sparse file of 64 GiB)', async () => {
    const stdout = await AgentStdout.create(scratch())
    ftruncateSync(stdout.writerFd, 64 * 1024 ** 3)
    const stopping = new AbortController()
    setTimeout(() => stopping.abort(), 300)
    const started = performance.now()
    let read = 0
    // The writer never finishes: only the signal ends the reading.
    await stdout.follow(new Promise(() => {}), async (chunk) => void (read += chunk.length), stopping.signal)
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(read).toBeGreaterThan(0)
    expect(read).toBeLessThan(64 * 1024 ** 3)
    await stdout.close()
  })
})
