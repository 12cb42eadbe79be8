import { closeSync, constants, openSync, type promises as fs } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'

// Large reads: the events pipeline costs little per byte and something per chunk.
const READ_BYTES = 1024 * 1024
// How long the follower sleeps at most when it has caught up with a running Codex.
const LONGEST_WAIT_MS = 50

/**
 * Codex's stdout as a file of the action's: Codex writes its events straight into it, at the speed of a
 * bare `codex exec --json > events.jsonl`, and never waits on the action, which reads them behind it
 * (`follow`). Through a pipe, the agent had to wait whenever the action was busy: a Node reader of a pipe
 * that did nothing but copy made the agent 5-8 times slower on 250 MB of events. The file is created here, readable and
 * writable by the action's user only (mode 0600): Codex gets a write-only descriptor, opened for appending,
 * and the agent user cannot open the file again, not even through /proc/<pid>/fd. It holds the unredacted output, so its
 * name is removed as soon as both ends are open: Codex writes and the action reads through their descriptors, and the
 * bytes are gone once both are closed, even when the action is killed; what is kept is the redacted events.jsonl.
 */
export class AgentStdout {
  private constructor(
    readonly file: string,
    /** Codex's end: give it as stdout, then close it here (`closeWriter`). */
    private writer: number | undefined,
    private readonly reader: fs.FileHandle
  ) {}

  static async create(file: string): Promise<AgentStdout> {
    const writer = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND | constants.O_NOFOLLOW, 0o600)
    let reader: fs.FileHandle | undefined
    try {
      reader = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW)
      await rm(file)
      return new AgentStdout(file, writer, reader)
    } catch (error) {
      closeSync(writer)
      await reader?.close()
      await rm(file, { force: true })
      throw error
    }
  }

  get writerFd(): number {
    if (this.writer === undefined) throw new Error('the writing end of the agent stdout file was already closed')
    return this.writer
  }

  /** After the spawn: Codex holds its own copy of the descriptor. */
  closeWriter(): void {
    if (this.writer !== undefined) closeSync(this.writer)
    this.writer = undefined
  }

  /**
   * Hands the file's bytes to `take` as Codex writes them, from the start, until `finished` (Codex exited: no one
   * writes any more) and everything it wrote was read, or until `signal` aborts (the run's time is over). Each
   * chunk is a view of one buffer that is read into again once `take` has settled: allocating a fresh megabyte
   * for every read made the kernel hand out and zero new pages, and cost more than all the rest.
   */
  async follow(finished: Promise<unknown>, take: (chunk: Buffer) => Promise<void>, signal?: AbortSignal): Promise<void> {
    let done = false
    const settled = finished.then(
      () => void (done = true),
      () => void (done = true)
    )
    const buffer = Buffer.allocUnsafe(READ_BYTES)
    let position = 0
    for (let wait = 1; !signal?.aborted; ) {
      // Looked at before the read: what Codex wrote before it exited is all in the file by then.
      const wasDone = done
      const { bytesRead } = await this.reader.read(buffer, 0, buffer.length, position)
      if (bytesRead > 0) {
        position += bytesRead
        wait = 1
        await take(buffer.subarray(0, bytesRead))
        continue
      }
      if (wasDone) return
      await Promise.race([settled, sleep(wait, undefined, { signal }).catch(() => {})])
      wait = Math.min(LONGEST_WAIT_MS, wait * 2)
    }
  }

  /** Closes both ends: once Codex has exited too, the bytes are gone. */
  async close(): Promise<void> {
    this.closeWriter()
    await this.reader.close().catch(() => {})
  }
}
