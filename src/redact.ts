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
   * Where secrets lie in `bytes` that start at `from` or later and before `before`, unmerged; the bytes before
   * `from` are only looked at, for a token shape's boundary. Each shape is searched as a global expression
   * goes on: from `shapesFrom[i]` at the earliest, and then after the end of its last match, which `ends` gives.
   */
  findInBytes(bytes: Buffer, from: number, before: number, shapes: boolean, shapesFrom: number[] = []): { spans: Span[]; ends: number[] } {
    const spans: Span[] = []
    for (const literal of this.byteLiterals) {
      for (let at = bytes.indexOf(literal, from); at >= 0 && at < before; at = bytes.indexOf(literal, at + 1)) spans.push({ start: at, end: at + literal.length })
    }
    const ends = BYTE_SHAPES.map((_, i) => Math.max(from, shapesFrom[i] ?? 0))
    BYTE_SHAPES.forEach((shape, i) => {
      if (!shapes) return
      for (let at = bytes.indexOf(shape.anchor, ends[i]! + shape.offset); at >= 0 && at - shape.offset < before; at = bytes.indexOf(shape.anchor, at + 1)) {
        const start = at - shape.offset
        if (start < ends[i]! || !shape.lead.equals(bytes.subarray(start, start + shape.lead.length))) continue
        const end = matchAt(shape.sticky, bytes, start)
        if (end === undefined) continue
        spans.push({ start, end })
        ends[i] = end
      }
    })
    return { spans, ends }
  }

  /**
   * A stream that writes only redacted bytes, however the input was chunked; every other byte passes unchanged.
   * `shapes: false` removes only the known values: for content that must stay exact (the patch), where a
   * string that merely looks like a token is the user's data, and changing it would silently alter a file.
   */
  stream(options: StreamOptions = {}): RedactingStream {
    return new RedactingStream(this.redaction(options))
  }

  /** What `stream` does, for a caller that writes the bytes itself. */
  redaction(options: StreamOptions = {}): StreamRedaction {
    return new StreamRedaction(this, options.shapes ?? true)
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
  constructor(private readonly redaction: StreamRedaction) {
    super()
  }

  /** Whether anything was removed. */
  get changed(): boolean {
    return this.redaction.changed
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (const part of this.redaction.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) this.push(part)
    callback()
  }

  override _flush(callback: TransformCallback): void {
    for (const part of this.redaction.end()) this.push(part)
    callback()
  }
}

/**
 * The redaction of one stream of bytes, chunk by chunk. What it returns is to be written in order before the
 * chunk given is changed: parts of it are views of that chunk, so a caller can read into the same buffer again.
 */
export class StreamRedaction {
  /** Bytes read but not yet written (at most about the hold-back between chunks), a copy. */
  private held = Buffer.alloc(0)
  /** The last bytes already written, so a token shape's start is judged as in the whole stream (it needs two bytes before it). */
  private written = Buffer.alloc(0)
  /** Whether anything was removed. */
  changed = false

  constructor(
    private readonly redactor: Redactor,
    private readonly shapes: boolean
  ) {}

  write(chunk: Buffer): Buffer[] {
    // Searching waits for twice the hold-back, so each search writes out at least the hold-back's worth.
    if (this.held.length + chunk.length >= 2 * this.redactor.holdBack) return this.writeOut(chunk, false)
    this.held = Buffer.concat([this.held, chunk])
    return []
  }

  end(): Buffer[] {
    return this.held.length ? this.writeOut(Buffer.alloc(0), true) : []
  }

  /**
   * Writes what is held and `chunk`, all but the last hold-back bytes (all of them at the end). The search covers
   * everything, and a secret that crosses the cut is written out whole: none is longer than the hold-back, so it
   * lies entirely within what is searched. The chunk is searched where it lies, not copied: the bytes held
   * (`head`) are searched together with the start of the chunk, for what starts in them (`seam`), and the rest of
   * the chunk on its own, each shape going on after its last match in the seam.
   */
  private writeOut(chunk: Buffer, final: boolean): Buffer[] {
    const holdBack = this.redactor.holdBack
    const head = Buffer.concat([this.written, this.held])
    const from = this.written.length
    const seam = Buffer.concat([head, chunk.subarray(0, holdBack)])
    // What starts before `from` was already judged, with the hold-back after it in view.
    const inSeam = this.redactor.findInBytes(seam, from, head.length + LOOK_BEHIND, this.shapes)
    const inChunk = this.redactor.findInBytes(chunk, LOOK_BEHIND, chunk.length, this.shapes, inSeam.ends.map((end) => end - head.length))
    const spans = mergeSpans([...inSeam.spans, ...inChunk.spans.map(({ start, end }) => ({ start: start + head.length, end: end + head.length }))])
    const total = head.length + chunk.length
    let cut = final ? total : total - holdBack
    for (const span of spans) if (span.start < cut && span.end > cut) cut = span.end
    // Bytes `a` to `b` of head and chunk one after the other, as views where they lie.
    const slice = (a: number, b: number): Buffer[] => {
      const parts: Buffer[] = []
      if (a < head.length) parts.push(head.subarray(a, Math.min(b, head.length)))
      if (b > head.length) parts.push(chunk.subarray(Math.max(0, a - head.length), b - head.length))
      return parts.filter((part) => part.length)
    }
    const out: Buffer[] = []
    let at = from
    for (const span of spans) {
      if (span.start >= cut) break
      out.push(...slice(at, span.start), REPLACEMENT_BYTES)
      at = span.end
      this.changed = true
    }
    out.push(...slice(at, cut))
    // Copies: the chunk may be read into again, and should not be kept alive by its last bytes.
    this.written = Buffer.concat(slice(Math.max(0, cut - LOOK_BEHIND), cut))
    this.held = Buffer.concat(slice(cut, total))
    return out
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
