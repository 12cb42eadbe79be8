import { Transform, type TransformCallback } from 'node:stream'
import type { Settings } from './inputs.js'

const REPLACEMENT = '***'
// Token shapes redacted even when the action was not told their value. A shape starts at a word
// boundary, or right after an escaped \n, \t or \r as it stands inside JSON log lines.
const START = String.raw`(?:(?<![A-Za-z0-9])|(?<=\\[nrt]))`
const TOKEN_SHAPES = [
  new RegExp(`${START}sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}`, 'g'),
  new RegExp(`${START}gh[pousr]_[A-Za-z0-9]{30,}`, 'g'),
  new RegExp(`${START}github_pat_[A-Za-z0-9_]{40,}`, 'g'),
  /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g
]
// How far a shape match may reach; a stream holds this much back so a token split across chunks is still seen whole.
const LONGEST_SHAPE = 4096
const SHORTEST_SECRET = 6

/**
 * Removes secrets from text: each known value, its JSON-escaped and base64 forms (at every byte
 * alignment, so a value inside a longer encoded blob is found too), and well-known token shapes.
 */
export class Redactor {
  private readonly literals: string[]
  /** The same values as their UTF-8 bytes read one char per byte, for byte-faithful streams. */
  private readonly byteLiterals: string[]
  readonly holdBack: number

  constructor(secrets: Iterable<string | undefined>) {
    const forms = new Set<string>()
    for (const secret of secrets) {
      if (!secret || secret.length < SHORTEST_SECRET) continue
      for (const form of encodedForms(secret)) if (form.length >= SHORTEST_SECRET) forms.add(form)
    }
    // Longest first, so a value that contains another is removed whole.
    this.literals = [...forms].sort((a, b) => b.length - a.length)
    this.byteLiterals = this.literals.map((literal) => Buffer.from(literal).toString('latin1'))
    this.holdBack = Math.max(LONGEST_SHAPE, ...this.byteLiterals.map((l) => l.length))
  }

  redact(text: string): string {
    return this.replaceAll(text, this.literals)
  }

  /** Redacts bytes held as a latin1 string (one char per byte), leaving every other byte as it was. */
  redactBytes(bytes: string): string {
    return this.replaceAll(bytes, this.byteLiterals)
  }

  private replaceAll(text: string, literals: string[]): string {
    let result = text
    for (const literal of literals) result = result.split(literal).join(REPLACEMENT)
    for (const shape of TOKEN_SHAPES) result = result.replace(shape, REPLACEMENT)
    return result
  }

  /** A stream that writes only redacted bytes, however the input was chunked; every other byte passes unchanged. */
  stream(): RedactingStream {
    return new RedactingStream(this)
  }
}

export class RedactingStream extends Transform {
  private pending = ''
  /** Whether anything was removed. */
  changed = false

  constructor(private readonly redactor: Redactor) {
    super()
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending += typeof chunk === 'string' ? Buffer.from(chunk).toString('latin1') : chunk.toString('latin1')
    // Emit only up to a line break that lies before the hold-back window; lines are where logs end records.
    const safeEnd = this.pending.length - this.redactor.holdBack
    if (safeEnd > 0) {
      const lineEnd = this.pending.lastIndexOf('\n', safeEnd)
      const cut = lineEnd >= 0 ? lineEnd + 1 : safeEnd
      this.pushRedacted(this.pending.slice(0, cut))
      this.pending = this.pending.slice(cut)
    }
    callback()
  }

  override _flush(callback: TransformCallback): void {
    if (this.pending) this.pushRedacted(this.pending)
    this.pending = ''
    callback()
  }

  private pushRedacted(text: string): void {
    const clean = this.redactor.redactBytes(text)
    if (clean !== text) this.changed = true
    this.push(Buffer.from(clean, 'latin1'))
  }
}

const SECRET_NAME = /KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL|PRIVATE/i
const RUNTIME_SECRETS = ['GITHUB_TOKEN', 'GH_TOKEN', 'ACTIONS_RUNTIME_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_RESULTS_URL']

/** Every value this run must never publish: the inputs' secrets, the runner's tokens, secret-looking passthroughs. */
export function runSecrets(settings: Pick<Settings, 'apiKey' | 'githubToken' | 'npmRegistryToken' | 'envPassthrough'>, clientToken: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const values = [settings.apiKey, settings.githubToken, settings.npmRegistryToken, clientToken]
  for (const name of RUNTIME_SECRETS) values.push(env[name])
  for (const name of settings.envPassthrough) if (SECRET_NAME.test(name)) values.push(env[name])
  return values.filter((value): value is string => Boolean(value))
}

function encodedForms(secret: string): string[] {
  const forms = [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]
  const bytes = Buffer.from(secret)
  for (const encoding of ['base64', 'base64url'] as const) {
    for (let offset = 0; offset < 3; offset++) {
      // Prefixing `offset` bytes shifts the secret to each alignment it can have in a longer blob; only
      // the characters whose six bits all come from the secret are kept.
      const shifted = Buffer.concat([Buffer.alloc(offset), bytes]).toString(encoding).replace(/=+$/, '')
      const start = Math.ceil((offset * 4) / 3)
      const end = Math.floor(((offset + bytes.length) * 4) / 3)
      const middle = shifted.slice(start, Math.max(start, end))
      if (middle.length >= 8) forms.push(middle)
    }
  }
  return forms
}
