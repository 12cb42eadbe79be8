import { Transform, type TransformCallback } from 'node:stream'
import type { Settings } from './inputs.js'

const REPLACEMENT = '***'
// Token shapes redacted even when the action was not told their value. A shape starts at a word
// boundary, or right after an escaped \n, \t or \r as it stands inside JSON log lines. The
// boundary is checked looking back from after the shape's literal prefix, so that the regular
// expression starts with that literal and the engine skips to its occurrences (about 25 times
// faster on long output than a look-behind in front).
const startingWith = (prefix: string): string => String.raw`${prefix}(?:(?<![A-Za-z0-9]${prefix})|(?<=\\[nrt]${prefix}))`
const TOKEN_SHAPES = [
  new RegExp(`${startingWith('sk-')}(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}`, 'g'),
  new RegExp(`${startingWith('gh[pousr]_')}[A-Za-z0-9]{30,}`, 'g'),
  new RegExp(`${startingWith('github_pat_')}[A-Za-z0-9_]{40,}`, 'g'),
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
    return replaceSpans(text, this.find(text, this.literals), 0, text.length)
  }

  /** Redacts bytes held as a latin1 string (one char per byte), leaving every other byte as it was. */
  redactBytes(bytes: string): string {
    return replaceSpans(bytes, this.find(bytes, this.byteLiterals), 0, bytes.length)
  }

  /** Where secrets that start at `from` or later lie in bytes held as a latin1 string: in order, overlapping finds merged. */
  findInBytes(bytes: string, from = 0, shapes = true): Span[] {
    return this.find(bytes, this.byteLiterals, from, shapes)
  }

  private find(text: string, literals: string[], from = 0, shapes = true): Span[] {
    const spans: Span[] = []
    for (const literal of literals) {
      for (let at = text.indexOf(literal, from); at >= 0; at = text.indexOf(literal, at + 1)) spans.push({ start: at, end: at + literal.length })
    }
    for (const { source, flags } of shapes ? TOKEN_SHAPES : []) {
      // Matching starts at `from`, while the look-behind still sees the bytes before it.
      const shape = new RegExp(source, flags)
      shape.lastIndex = from
      for (let match = shape.exec(text); match; match = shape.exec(text)) spans.push({ start: match.index, end: match.index + match[0].length })
    }
    // One span per region, so a value that contains (or overlaps) another is removed whole.
    spans.sort((a, b) => a.start - b.start)
    const merged: Span[] = []
    for (const span of spans) {
      const last = merged.at(-1)
      if (last && span.start < last.end) last.end = Math.max(last.end, span.end)
      else merged.push({ ...span })
    }
    return merged
  }

  /**
   * A stream that writes only redacted bytes, however the input was chunked; every other byte passes unchanged.
   * `shapes: false` removes only the known values: for content that must stay exact (the patch), where a
   * string that merely looks like a token is the user's data, and changing it would silently alter a file.
   */
  stream(options: StreamOptions = {}): RedactingStream {
    return new RedactingStream(this, options.shapes ?? true)
  }
}

export interface StreamOptions {
  /** Also remove well-known token shapes whose value the action was not told (default true). */
  shapes?: boolean
}

export interface Span {
  start: number
  end: number
}

/** `text` from `from` to `to` with each span (sorted, not overlapping) replaced; a span may begin before `from`. */
function replaceSpans(text: string, spans: Span[], from: number, to: number): string {
  let result = ''
  let at = from
  for (const span of spans) {
    if (span.end <= at) continue
    if (span.start >= to) break
    result += text.slice(at, Math.max(at, span.start)) + REPLACEMENT
    at = span.end
  }
  return result + text.slice(at, Math.max(at, to))
}

export class RedactingStream extends Transform {
  /** Bytes read but not yet written, as a latin1 string. */
  private pending = ''
  /** The last bytes already written, so a token shape's start is judged as in the whole stream (it needs two bytes before it). */
  private written = ''
  /** Whether anything was removed. */
  changed = false

  constructor(
    private readonly redactor: Redactor,
    private readonly shapes: boolean
  ) {
    super()
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending += typeof chunk === 'string' ? Buffer.from(chunk).toString('latin1') : chunk.toString('latin1')
    // Searching waits for twice the hold-back, so each search writes out at least the hold-back's worth.
    if (this.pending.length >= 2 * this.redactor.holdBack) this.writeOut(false)
    callback()
  }

  override _flush(callback: TransformCallback): void {
    if (this.pending) this.writeOut(true)
    callback()
  }

  /**
   * Writes all but the last hold-back bytes (all of them at the end). The search covers everything held,
   * and a secret that crosses the cut is written out whole: none is longer than the hold-back, so it
   * lies entirely within what is held.
   */
  private writeOut(final: boolean): void {
    const text = this.written + this.pending
    const from = this.written.length
    // What starts before `from` was already judged, with the hold-back after it in view.
    const spans = this.redactor.findInBytes(text, from, this.shapes)
    let cut = final ? text.length : text.length - this.redactor.holdBack
    for (const span of spans) if (span.start < cut && span.end > cut) cut = span.end
    if (spans.some((span) => span.start < cut)) this.changed = true
    this.push(Buffer.from(replaceSpans(text, spans, from, cut), 'latin1'))
    this.written = text.slice(Math.max(0, cut - 2), cut)
    this.pending = text.slice(cut)
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
