import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Redactor } from '../../src/redact.js'

// An attacker's placement of secrets against the byte redaction of Codex's stdout (StreamRedaction, written as
// the action's copyEvents writes it: each chunk's parts before the next read into the same buffer).
const API_KEY = `sk-proj-${randomBytes(24).toString('hex')}`
const GITHUB_TOKEN = `ghs_${randomBytes(18).toString('hex')}`
const RUNTIME_TOKEN = `eyJhbGciOiJSUzI1NiJ9.eyJ${randomBytes(30).toString('base64url')}.${randomBytes(40).toString('base64url')}`

function streamed(redactor: Redactor, data: Buffer, chunkSize: number): Buffer {
  const redaction = redactor.redaction()
  const buffer = Buffer.alloc(chunkSize)
  const out: Buffer[] = []
  for (let at = 0; at < data.length; at += chunkSize) {
    const length = data.copy(buffer, 0, at, at + chunkSize)
    for (const part of redaction.write(buffer.subarray(0, length))) out.push(Buffer.from(part))
    buffer.fill(0x41)
  }
  for (const part of redaction.end()) out.push(Buffer.from(part))
  return Buffer.concat(out)
}

/** Every form of each secret the redactor knows, as the agent might print it (through Codex's JSON). */
function forms(secret: string): string[] {
  const base64 = Buffer.from(secret).toString('base64')
  return [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), base64, Buffer.from(`x${secret}`).toString('base64url')]
}

describe('StreamRedaction against placed secrets', () => {
  const redactor = new Redactor([API_KEY, GITHUB_TOKEN, RUNTIME_TOKEN])
  const hold = redactor.holdBack
  const secrets = [API_KEY, GITHUB_TOKEN, RUNTIME_TOKEN]

  it('removes every secret that a read boundary cuts at each of its bytes, after NULs, escapes and invalid UTF-8, in chunks around the hold-back', () => {
    const lead = ['\0', '\\n', '\\u0000', '\xff\xfe', '"', '\\/']
    for (const chunkSize of [hold - 1, hold, hold + 1, 2 * hold - 1, 2 * hold, 2 * hold + 3]) {
      for (const secret of secrets) {
        for (const form of forms(secret)) {
          // The form starts so that the chunk boundary falls after its k-th byte, for every k, in one stream.
          const pieces: Buffer[] = []
          let length = 0
          for (let k = 0; k <= form.length; k++) {
            const before = Buffer.from(lead[k % lead.length]!, 'latin1')
            const pad = (((chunkSize - ((length + before.length + k) % chunkSize)) % chunkSize) + chunkSize) % chunkSize
            const piece = Buffer.concat([Buffer.alloc(pad, 0x20), before, Buffer.from(form), Buffer.from('\0')])
            pieces.push(piece)
            length += piece.length
          }
          const data = Buffer.concat(pieces)
          const out = streamed(redactor, data, chunkSize)
          for (const value of secrets) expect(out.includes(value), `${value} leaked (chunks of ${chunkSize})`).toBe(false)
          expect(out.includes(form), `a form of a secret leaked (chunks of ${chunkSize})`).toBe(false)
          expect(out.toString('latin1')).toBe(redactor.redact(data.toString('latin1')))
        }
      }
    }
  })
})
