import { Transform, type TransformCallback } from 'node:stream'

/** What `codex exec --json` reported, gathered line by line as the events stream past. */
export interface EventSummary {
  turnCompleted: boolean
  turnFailure?: string
  lastError?: string
  lastAgentMessage?: string
  eventCount: number
  usage: { input_tokens: number; cached_input_tokens: number; output_tokens: number }
}

export type EventListener = (event: CodexEvent) => void

export interface CodexEvent {
  type: string
  [field: string]: unknown
}

const LONGEST_EVENT_LINE = 16 * 1024 * 1024
const NEWLINE = 0x0a
const QUOTE = 0x22
const BACKSLASH = 0x5c
// A string value this long (in JSON bytes) is not decoded unless the reader reads it: above all a command's
// `aggregated_output`, up to 1 MiB as Codex keeps it and six times that escaped.
const LONG_VALUE = 16 * 1024
// The fields whose values the reader and its listeners read, kept whole however long they are.
const READ_FIELDS = new Set(['type', 'id', 'command', 'exit_code', 'status', 'kind', 'path', 'text', 'message'])

/**
 * Passes the JSONL bytes through untouched while reading each complete line as an event. Only the
 * current unfinished line is held, as the pieces it came in: each byte is looked at once for a
 * newline and decoded once, so a line of many megabytes (a command's output, escaped) costs no
 * more per byte than a short one, and memory stays flat however long the run.
 */
export class EventReader extends Transform {
  readonly summary: EventSummary = { turnCompleted: false, eventCount: 0, usage: { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0 } }
  private pieces: Buffer[] = []
  private heldBytes = 0
  /** The line being read is past the longest one held: its bytes are skipped up to its newline. */
  private skipping = false

  constructor(private readonly onEvent: EventListener = () => {}) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let from = 0
    for (let newline = chunk.indexOf(NEWLINE); newline >= 0; newline = chunk.indexOf(NEWLINE, from)) {
      this.hold(chunk.subarray(from, newline))
      this.endLine()
      from = newline + 1
    }
    this.hold(chunk.subarray(from))
    callback(null, chunk)
  }

  override _flush(callback: TransformCallback): void {
    this.endLine()
    callback()
  }

  private hold(piece: Buffer): void {
    if (this.skipping || !piece.length) return
    this.heldBytes += piece.length
    if (this.heldBytes > LONGEST_EVENT_LINE) {
      this.pieces = []
      this.skipping = true
    } else this.pieces.push(piece)
  }

  private endLine(): void {
    const line = this.pieces.length === 1 ? this.pieces[0] : Buffer.concat(this.pieces)
    const skipped = this.skipping
    this.pieces = []
    this.heldBytes = 0
    this.skipping = false
    // UTF-8, not latin1 even for ASCII lines: Node makes a latin1 string of about a megabyte or more an external one,
    // outside the V8 heap where the collector does not see it grow: peak RSS on 250 MB of events went from 93 to 162 MB.
    if (!skipped) this.readLine((line.length > LONG_VALUE ? withoutLongValues(line) : line).toString('utf8'))
  }

  private readLine(line: string): void {
    if (!line.trim()) return
    let event: CodexEvent
    try {
      event = JSON.parse(line)
    } catch {
      return
    }
    if (typeof event?.type !== 'string') return
    this.summary.eventCount++
    this.apply(event)
    this.onEvent(event)
  }

  private apply(event: CodexEvent): void {
    const summary = this.summary
    switch (event.type) {
      case 'turn.completed': {
        summary.turnCompleted = true
        const usage = (event.usage ?? {}) as Record<string, number>
        summary.usage.input_tokens += usage.input_tokens ?? 0
        summary.usage.cached_input_tokens += usage.cached_input_tokens ?? 0
        summary.usage.output_tokens += usage.output_tokens ?? 0
        break
      }
      case 'turn.failed':
        summary.turnFailure = messageOf(event.error) ?? 'the turn failed'
        break
      case 'error': {
        const message = typeof event.message === 'string' ? event.message : undefined
        // Retry notices are progress, not the cause of a failure.
        if (message && !message.startsWith('Reconnecting')) summary.lastError = message
        break
      }
      case 'item.completed': {
        const item = event.item as Record<string, unknown> | undefined
        if (item?.type === 'agent_message' && typeof item.text === 'string') summary.lastAgentMessage = item.text
        if (item?.type === 'error' && typeof item.message === 'string') summary.lastError = item.message
        break
      }
    }
  }
}

/**
 * The event line with each long string value that no one reads emptied (`""`), found with native searches for
 * quotes instead of decoding and parsing it: decoding and `JSON.parse` of every byte cost about 20 ms per MB,
 * where the bare agent writes a MB in 2 ms. Valid JSON stays valid JSON; a line that is not JSON stays not JSON.
 */
function withoutLongValues(line: Buffer): Buffer {
  const kept: Buffer[] = []
  let copiedTo = 0
  let lastKey: string | undefined
  for (let open = line.indexOf(QUOTE); open >= 0; ) {
    const close = closingQuote(line, open + 1)
    if (close < 0) break
    const length = close - open - 1
    if (length > LONG_VALUE && !(previousByte(line, open) === 0x3a && lastKey !== undefined && READ_FIELDS.has(lastKey))) {
      kept.push(line.subarray(copiedTo, open + 1))
      copiedTo = close
    }
    // Outside strings every quote opens one; a short string followed by ':' is the key of what comes next.
    lastKey = length <= 64 ? line.toString('latin1', open + 1, close) : undefined
    open = line.indexOf(QUOTE, close + 1)
  }
  if (!kept.length) return line
  kept.push(line.subarray(copiedTo))
  return Buffer.concat(kept)
}

/** The quote that ends the string whose content starts at `from`: the first one after an even number of backslashes. */
function closingQuote(line: Buffer, from: number): number {
  for (let quote = line.indexOf(QUOTE, from); quote >= 0; quote = line.indexOf(QUOTE, quote + 1)) {
    let backslashes = 0
    while (quote - backslashes - 1 >= from && line[quote - backslashes - 1] === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return quote
  }
  return -1
}

/** The last byte before `at` that is not JSON whitespace. */
function previousByte(line: Buffer, at: number): number | undefined {
  for (let i = at - 1; i >= 0; i--) if (line[i] !== 0x20 && line[i] !== 0x0a && line[i] !== 0x0d && line[i] !== 0x09) return line[i]
  return undefined
}

function messageOf(error: unknown): string | undefined {
  if (typeof error === 'string') return error
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message
  return undefined
}
