import { Transform, type TransformCallback } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'

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

/**
 * Passes the JSONL bytes through untouched while reading each complete line as an event. Only the
 * current unfinished line is held, so memory stays flat however long the run.
 */
export class EventReader extends Transform {
  readonly summary: EventSummary = { turnCompleted: false, eventCount: 0, usage: { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0 } }
  private line = ''
  private readonly decoder = new StringDecoder('utf8')

  constructor(private readonly onEvent: EventListener = () => {}) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const lines = (this.line + this.decoder.write(chunk)).split('\n')
    this.line = lines.pop() ?? ''
    if (this.line.length > LONGEST_EVENT_LINE) this.line = ''
    for (const line of lines) this.readLine(line)
    callback(null, chunk)
  }

  override _flush(callback: TransformCallback): void {
    this.readLine(this.line)
    this.line = ''
    callback()
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

function messageOf(error: unknown): string | undefined {
  if (typeof error === 'string') return error
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message
  return undefined
}
