import * as core from '@actions/core'
import { HttpClient } from '@actions/http-client'
import type { IncomingMessage } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { Transform, type Readable } from 'node:stream'

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

/**
 * Streams `url` into `receive`, a fresh call for each attempt (it must leave nothing behind when it
 * throws); retries 5xx, 429, resets, truncation and stalls. Returns what the successful attempt returned.
 */
export async function downloadStream<T>(url: string, receive: (body: Readable) => Promise<T>, options: DownloadOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4
  let backoff = options.firstBackoffMs ?? 1000
  for (let attempt = 1; ; attempt++) {
    try {
      return await downloadOnce(url, receive, options)
    } catch (error) {
      const retryable = !(error instanceof DownloadError) || error.status === undefined || error.status === 429 || error.status >= 500
      if (!retryable || attempt >= attempts) throw error
      core.info(`Download of ${url} failed (${(error as Error).message}); attempt ${attempt + 1} of ${attempts} in ${backoff} ms.`)
      await new Promise((resolve) => setTimeout(resolve, backoff))
      backoff *= 2
    }
  }
}

async function downloadOnce<T>(url: string, receive: (body: Readable) => Promise<T>, options: DownloadOptions): Promise<T> {
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
    let received = 0
    const counting = new Transform({
      // Large pieces: the default 16 KiB buffer about doubled the time to disk of a 167 MB tarball.
      highWaterMark: 1024 * 1024,
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length
        callback(null, chunk)
      }
    })
    // Both settle before this attempt ends: a retry must not start while the last one still writes.
    const receiving = receive(counting).catch((error: unknown) => {
      message.destroy()
      throw error
    })
    const [outcome, piped] = await Promise.allSettled([receiving, pipeline(message, counting)])
    if (piped.status === 'rejected') throw piped.reason
    if (outcome.status === 'rejected') throw outcome.reason
    if (!message.complete || (Number.isFinite(expectedLength) && received !== expectedLength)) {
      throw new Error(`the transfer ended after ${received} of ${Number.isFinite(expectedLength) ? expectedLength : 'unknown'} bytes`)
    }
    return outcome.value
  } finally {
    client.dispose()
  }
}
