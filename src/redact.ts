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
/**
 * The same shapes for streams of bytes, found from a byte every match has at a fixed distance from its start
 * (`anchor`, `offset`) after the letters before it (`lead`): bytes rare in output, so a native search skips
 * from one to the next, and only where the lead letters are there does the regular expression run, anchored
 * ('y') at that start over a short window. Running the four expressions over every byte took most of the
 * run stage's time (about 7 ms per MB on Node 20).
 */
const BYTE_SHAPES = [
  { lead: 'sk', anchor: '-', pattern: TOKEN_SHAPES[0] },
  { lead: 'gh', anchor: '_', offset: 3, pattern: TOKEN_SHAPES[1] },
  { lead: 'github', anchor: '_', pattern: TOKEN_SHAPES[2] },
  { lead: 'ey', anchor: 'J', pattern: TOKEN_SHAPES[3] }
].map(({ lead, anchor, offset, pattern }) => ({
  lead: Buffer.from(lead, 'latin1'),
  anchor: anchor.charCodeAt(0),
  offset: offset ?? lead.length,
  sticky: new RegExp(pattern.source, 'y')
}))
// The look-behind of a shape looks at most this many bytes before its start (an escaped \n).
const LOOK_BEHIND = 2
// How far a shape match may reach; a stream holds this much back so a token split across chunks is still seen whole.
const LONGEST_SHAPE = 4096
const SHORTEST_SECRET = 6

/**
 * Removes secrets from text: each known value, its JSON-escaped and base64 forms (at every byte
 * alignment, so a value inside a longer encoded blob is found too), and well-known token shapes.
 */
export class Redactor {
  private readonly literals: string[]
  /** The same values as UTF-8 bytes, for byte-faithful streams. */
  private readonly byteLiterals: Buffer[]
  readonly holdBack: number

  constructor(secrets: Iterable<string | undefined>) {
    const forms = new Set<string>()
    for (const secret of secrets) {
      if (!secret || secret.length < SHORTEST_SECRET) continue
      for (const form of encodedForms(secret)) if (form.length >= SHORTEST_SECRET) forms.add(form)
    }
    // Longest first, so a value that contains another is removed whole.
    this.literals = [...forms].sort((a, b) => b.length - a.length)
    this.byteLiterals = this.literals.map((literal) => Buffer.from(literal))
    this.holdBack = Math.max(LONGEST_SHAPE, ...this.byteLiterals.map((l) => l.length))
  }

  redact(text: string): string {
    const spans: Span[] = []
    for (const literal of this.literals) {
      for (let at = text.indexOf(literal); at >= 0; at = text.indexOf(literal, at + 1)) spans.push({ start: at, end: at + literal.length })
    }
    for (const { source, flags } of TOKEN_SHAPES) {
      const shape = new RegExp(source, flags)
      for (let match = shape.exec(text); match; match = shape.exec(text)) spans.push({ start: match.index, end: match.index + match[0].length })
    }
    const merged = mergeSpans(spans)
    let result = ''
    let at = 0
    for (const span of merged) {
      result += text.slice(at, span.start) + REPLACEMENT
      at = span.end
    }
    return result + text.slice(at)
  }

  /**
   * Where secrets that start at `from` or later lie in `bytes`: in order, overlapping finds merged. The bytes
   * before `from` are only looked at, for a token shape's boundary.
   */
  findInBytes(bytes: Buffer, from = 0, shapes = true): Span[] {
    const spans: Span[] = []
    for (const literal of this.byteLiterals) {
      for (let at = bytes.indexOf(literal, from); at >= 0; at = bytes.indexOf(literal, at + 1)) spans.push({ start: at, end: at + literal.length })
    }
    for (const shape of shapes ? BYTE_SHAPES : []) {
      // As a global expression finds them: the next match starts after the end of the last one.
      let searchFrom = from
      for (let at = bytes.indexOf(shape.anchor, from + shape.offset); at >= 0; at = bytes.indexOf(shape.anchor, at + 1)) {
        const start = at - shape.offset
        if (start < searchFrom || !shape.lead.equals(bytes.subarray(start, start + shape.lead.length))) continue
        const end = matchAt(shape.sticky, bytes, start)
        if (end === undefined) continue
        spans.push({ start, end })
        searchFrom = end
      }
    }
    return mergeSpans(spans)
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

/** One span per region, so a value that contains (or overlaps) another is removed whole. */
function mergeSpans(spans: Span[]): Span[] {
  spans.sort((a, b) => a.start - b.start)
  const merged: Span[] = []
  for (const span of spans) {
    const last = merged.at(-1)
    if (last && span.start < last.end) last.end = Math.max(last.end, span.end)
    else merged.push({ ...span })
  }
  return merged
}

/** Where a match of `sticky` that begins at `start` of `bytes` ends, if one does; it sees the bytes just before `start`. */
function matchAt(sticky: RegExp, bytes: Buffer, start: number): number | undefined {
  const from = Math.max(0, start - LOOK_BEHIND)
  let to = Math.min(bytes.length, start + LONGEST_SHAPE)
  for (;;) {
    sticky.lastIndex = start - from
    const match = sticky.exec(bytes.toString('latin1', from, to))
    if (!match) return undefined
    const end = from + match.index + match[0].length
    // A match that fills the window may go on: look again over all the bytes there are, as a search of them all would.
    if (end < to || to === bytes.length) return end
    to = bytes.length
  }
}

export class RedactingStream extends Transform {
  /** Bytes read but not yet written. */
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** The last bytes already written, so a token shape's start is judged as in the whole stream (it needs two bytes before it). */
  private written = Buffer.alloc(0)
  /** Whether anything was removed. */
  changed = false

  constructor(
    private readonly redactor: Redactor,
    private readonly shapes: boolean
  ) {
    super()
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    this.pending.push(bytes)
    this.pendingBytes += bytes.length
    // Searching waits for twice the hold-back, so each search writes out at least the hold-back's worth.
    if (this.pendingBytes >= 2 * this.redactor.holdBack) this.writeOut(false)
    callback()
  }

  override _flush(callback: TransformCallback): void {
    if (this.pendingBytes) this.writeOut(true)
    callback()
  }

  /**
   * Writes all but the last hold-back bytes (all of them at the end). The search covers everything held,
   * and a secret that crosses the cut is written out whole: none is longer than the hold-back, so it
   * lies entirely within what is held.
   */
  private writeOut(final: boolean): void {
    const text = Buffer.concat([this.written, ...this.pending])
    const from = this.written.length
    // What starts before `from` was already judged, with the hold-back after it in view.
    const spans = this.redactor.findInBytes(text, from, this.shapes)
    let cut = final ? text.length : text.length - this.redactor.holdBack
    for (const span of spans) if (span.start < cut && span.end > cut) cut = span.end
    const parts: Buffer[] = []
    let at = from
    for (const span of spans) {
      if (span.start >= cut) break
      parts.push(text.subarray(at, span.start), REPLACEMENT_BYTES)
      at = span.end
      this.changed = true
    }
    parts.push(text.subarray(at, cut))
    this.push(parts.length === 1 ? parts[0] : Buffer.concat(parts))
    // Copies, so that the big buffer of this search is not kept alive by its last bytes.
    this.written = Buffer.from(text.subarray(Math.max(0, cut - LOOK_BEHIND), cut))
    this.pending = cut < text.length ? [Buffer.from(text.subarray(cut))] : []
    this.pendingBytes = text.length - cut
  }
}

const REPLACEMENT_BYTES = Buffer.from(REPLACEMENT)

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
