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
 * Reads each complete line of Codex's JSONL output as an event, chunk by chunk (`take`). A short line is held
 * as the pieces it came in, then decoded and parsed. A longer one is scanned as it arrives (`LineSkeleton`):
 * what the reader needs of it is kept, and the long values no one reads are skipped, so a line of many
 * megabytes (a command's output, escaped) is neither held, nor decoded, nor parsed, and memory stays flat
 * however long the run. The reader keeps copies only: the caller may read into the same buffer again.
 */
export class EventReader {
  readonly summary: EventSummary = { turnCompleted: false, eventCount: 0, usage: { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0 } }
  private pieces: Buffer[] = []
  private heldBytes = 0
  /** The current line once it is longer than a long value. */
  private skeleton: LineSkeleton | undefined

  constructor(private readonly onEvent: EventListener = () => {}) {}

  take(chunk: Buffer): void {
    let from = 0
    for (let newline = chunk.indexOf(NEWLINE); newline >= 0; newline = chunk.indexOf(NEWLINE, from)) {
      this.hold(chunk.subarray(from, newline))
      this.endLine()
      from = newline + 1
    }
    this.hold(chunk.subarray(from))
    // The start of a short line that goes on in the next chunk.
    this.pieces = this.pieces.map((piece) => Buffer.from(piece))
  }

  /** The end of the output: a last line without a newline is read too. */
  finish(): void {
    this.endLine()
  }

  private hold(piece: Buffer): void {
    if (!piece.length) return
    if (this.skeleton) return this.skeleton.feed(piece)
    if (this.heldBytes + piece.length <= LONG_VALUE) {
      this.pieces.push(piece)
      this.heldBytes += piece.length
      return
    }
    this.skeleton = new LineSkeleton()
    for (const held of this.pieces) this.skeleton.feed(held)
    this.skeleton.feed(piece)
    this.pieces = []
    this.heldBytes = 0
  }

  private endLine(): void {
    const line = this.skeleton ? this.skeleton.end() : this.pieces.length === 1 ? this.pieces[0] : Buffer.concat(this.pieces)
    this.pieces = []
    this.heldBytes = 0
    this.skeleton = undefined
    // UTF-8, not latin1 even for ASCII lines: Node makes a latin1 string of about a megabyte or more an external one,
    // outside the V8 heap where the collector does not see it grow: peak RSS on 250 MB of events went from 93 to 162 MB.
    if (line) this.readLine(line.toString('utf8'))
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
 * One long event line as it arrives, without the long string values that no one reads: each is emptied (`""`).
 * Strings are found with native searches for quotes, not by decoding and parsing every byte, which cost about
 * 20 ms per MB where the bare agent writes a MB in 2 ms. Valid JSON stays valid JSON; a line that is not JSON
 * stays not JSON. What it keeps is copied (the chunks it came in are not held) and bounded: past the longest
 * line, the line is skipped.
 */
class LineSkeleton {
  /**
   * What is kept, in one buffer that grows: not a Buffer per piece, which on a line of many short values (a long list
   * of changed files, or what the agent writes through a descriptor taken from Codex) took 1 GB of memory on 15 MB.
   */
  private kept = Buffer.allocUnsafe(LONG_VALUE * 4)
  private keptBytes = 0
  /** Where the current string's value starts in `kept`. */
  private valueStart = 0
  private overflow = false
  private inString = false
  /** In a string, the bytes so far end with an odd run of backslashes: the next byte is escaped. */
  private escaped = false
  private valueBytes = 0
  /** The string being read is a field the reader reads: kept whole. */
  private keepWhole = false
  /** The last string, when short: the key of what follows, if a ':' comes next. */
  private lastString: string | undefined
  /** The last byte outside strings that is not whitespace. */
  private lastByte: number | undefined

  feed(data: Buffer): void {
    for (let at = 0; at < data.length; ) {
      if (!this.inString) {
        const open = data.indexOf(QUOTE, at)
        const end = open < 0 ? data.length : open
        if (end > at) {
          this.keep(data.subarray(at, end))
          this.lastByte = lastNonSpace(data, at, end) ?? this.lastByte
        }
        if (open < 0) return
        this.inString = true
        this.escaped = false
        this.keep(QUOTE_BYTES)
        this.valueStart = this.keptBytes
        this.valueBytes = 0
        this.keepWhole = this.lastByte === COLON && this.lastString !== undefined && READ_FIELDS.has(this.lastString)
        at = open + 1
      } else {
        const close = this.closingQuote(data, at)
        this.addToValue(data.subarray(at, close < 0 ? data.length : close))
        if (close < 0) return
        this.endString()
        at = close + 1
      }
    }
  }

  /** What was kept of the line, or nothing when it was too long to keep. */
  end(): Buffer | undefined {
    if (this.inString) this.endString()
    return this.overflow ? undefined : this.kept.subarray(0, this.keptBytes)
  }

  /** The quote that ends the string, if it is in `data` from `from`: the first after an even run of backslashes. */
  private closingQuote(data: Buffer, from: number): number {
    const runBefore = (at: number): number => {
      let run = 0
      while (at - run - 1 >= from && data[at - run - 1] === BACKSLASH) run++
      // A run that reaches back to `from` goes on in the bytes before them.
      return at - run === from && this.escaped ? run + 1 : run
    }
    for (let quote = data.indexOf(QUOTE, from); quote >= 0; quote = data.indexOf(QUOTE, quote + 1)) {
      if (runBefore(quote) % 2 === 0) return quote
    }
    this.escaped = runBefore(data.length) % 2 === 1
    return -1
  }

  /** A long value no one reads is taken out of what is kept again: it ends up empty. */
  private addToValue(piece: Buffer): void {
    this.valueBytes += piece.length
    if (!this.keepWhole && this.valueBytes > LONG_VALUE) this.keptBytes = Math.min(this.keptBytes, this.valueStart)
    else this.keep(piece)
  }

  private endString(): void {
    const short = this.valueBytes <= 64 && (this.keepWhole || this.valueBytes <= LONG_VALUE) && !this.overflow
    this.lastString = short ? this.kept.toString('latin1', this.valueStart, this.valueStart + this.valueBytes) : undefined
    this.keep(QUOTE_BYTES)
    this.lastByte = QUOTE
    this.inString = false
    this.valueBytes = 0
  }

  private keep(bytes: Buffer): void {
    if (this.overflow) return
    if (this.keptBytes + bytes.length > LONGEST_EVENT_LINE) {
      this.overflow = true
      this.kept = Buffer.alloc(0)
      return
    }
    if (this.keptBytes + bytes.length > this.kept.length) {
      const grown = Buffer.allocUnsafe(Math.min(LONGEST_EVENT_LINE, Math.max(2 * this.kept.length, this.keptBytes + bytes.length)))
      this.kept.copy(grown, 0, 0, this.keptBytes)
      this.kept = grown
    }
    this.keptBytes += bytes.copy(this.kept, this.keptBytes)
  }
}

const QUOTE_BYTES = Buffer.from('"')
const COLON = 0x3a

/** The last byte from `from` to `to` that is not JSON whitespace. */
function lastNonSpace(data: Buffer, from: number, to: number): number | undefined {
  for (let i = to - 1; i >= from; i--) if (data[i] !== 0x20 && data[i] !== 0x0a && data[i] !== 0x0d && data[i] !== 0x09) return data[i]
  return undefined
}

function messageOf(error: unknown): string | undefined {
  if (typeof error === 'string') return error
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message
  return undefined
}
