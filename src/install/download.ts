import * as core from '@actions/core'
import { HttpClient } from '@actions/http-client'
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import { sriOf } from './integrity.js'

export interface DownloadOptions {
  headers?: Record<string, string>
  attempts?: number
  firstBackoffMs?: number
  /** No byte for this long counts as a failed attempt. */
  idleTimeoutMs?: number
}

export class DownloadError extends Error {
  constructor(
    message: string,
    readonly status?: number
  ) {
    super(message)
    this.name = 'DownloadError'
  }
}

const USER_AGENT = 'codex-action'

/** Streams `url` to `file`, hashing as it writes; retries 5xx, 429, resets, truncation and stalls. Returns the SRI sha512. */
export async function downloadToFile(url: string, file: string, options: DownloadOptions = {}): Promise<string> {
  const attempts = options.attempts ?? 4
  let backoff = options.firstBackoffMs ?? 1000
  for (let attempt = 1; ; attempt++) {
    try {
      return await downloadOnce(url, file, options)
    } catch (error) {
      await rm(file, { force: true })
      const retryable = !(error instanceof DownloadError) || error.status === undefined || error.status === 429 || error.status >= 500
      if (!retryable || attempt >= attempts) throw error
      core.info(`Download of ${url} failed (${(error as Error).message}); attempt ${attempt + 1} of ${attempts} in ${backoff} ms.`)
      await new Promise((resolve) => setTimeout(resolve, backoff))
      backoff *= 2
    }
  }
}

async function downloadOnce(url: string, file: string, options: DownloadOptions): Promise<string> {
  const client = new HttpClient(USER_AGENT, [], { socketTimeout: options.idleTimeoutMs ?? 30_000, allowRetries: false })
  try {
    const response = await client.get(url, options.headers)
    const message: IncomingMessage = response.message
    const status = message.statusCode ?? 0
    if (status !== 200) {
      message.resume()
      throw new DownloadError(`${url} answered HTTP ${status}`, status)
    }
    const expectedLength = Number(message.headers['content-length'] ?? NaN)
    const hash = createHash('sha512')
    let received = 0
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk)
        received += chunk.length
        callback(null, chunk)
      }
    })
    // Large writes: the default 16 KiB buffer about doubled the time to disk of a 167 MB tarball.
    await pipeline(message, hashing, createWriteStream(file, { highWaterMark: 1024 * 1024 }))
    if (!message.complete || (Number.isFinite(expectedLength) && received !== expectedLength)) {
      throw new Error(`the transfer ended after ${received} of ${Number.isFinite(expectedLength) ? expectedLength : 'unknown'} bytes`)
    }
    return sriOf(hash)
  } finally {
    client.dispose()
  }
}
