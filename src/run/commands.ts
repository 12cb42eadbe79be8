import type { CodexEvent } from './events.js'

/** One shell command the agent ran, as Codex reported it. The text is the agent's: redacted here, escaped where it is shown. */
export interface CommandRecord {
  command: string
  /** Null when Codex gave none (the command was declined or did not start). */
  exitCode: number | null
  failed: boolean
  /** From Codex's started event to its completed event, as they reached the action. */
  durationMs?: number
}

/** The commands of a run, bounded: the first failures and the last of the others, with the counts of all. */
export interface CommandLog {
  total: number
  failedTotal: number
  failures: CommandRecord[]
  /** The last commands that did not fail, oldest first. */
  others: CommandRecord[]
}

// Enough to see what went wrong and how the run ended; events.jsonl in the artifact has every command.
export const KEPT_FAILURES = 50
export const KEPT_OTHERS = 50
// Longer commands (a heredoc, a script inline) are cut: the summary shows what ran, not the whole of it.
export const COMMAND_TEXT_CHARS = 2000
// Started commands waiting for their completed event; a run that starts more without finishing them loses only their durations.
const PENDING_LIMIT = 1000

/**
 * Gathers the `command_execution` items of Codex's event stream as the reader passes them, holding
 * a fixed number of commands however many the agent runs.
 */
export class CommandCollector {
  private total = 0
  private failedTotal = 0
  private readonly failures: CommandRecord[] = []
  private others: CommandRecord[] = []
  private readonly started = new Map<string, number>()

  constructor(
    private readonly redact: (text: string) => string,
    private readonly keptFailures = KEPT_FAILURES,
    private readonly keptOthers = KEPT_OTHERS
  ) {}

  add(event: CodexEvent, now = performance.now()): void {
    const item = event.item as Record<string, unknown> | undefined
    if (item?.type !== 'command_execution') return
    const id = typeof item.id === 'string' ? item.id : undefined
    if (event.type === 'item.started') {
      if (id !== undefined && this.started.size < PENDING_LIMIT) this.started.set(id, now)
      return
    }
    if (event.type !== 'item.completed') return
    const startedAt = id === undefined ? undefined : this.started.get(id)
    if (id !== undefined) this.started.delete(id)
    const exitCode = typeof item.exit_code === 'number' ? item.exit_code : null
    const failed = exitCode !== 0 || item.status === 'failed' || item.status === 'declined'
    this.total++
    if (failed) this.failedTotal++
    const keep = failed ? this.failures.length < this.keptFailures : this.keptOthers > 0
    if (!keep) return
    const record: CommandRecord = { command: this.commandText(item.command), exitCode, failed, durationMs: startedAt === undefined ? undefined : Math.round(now - startedAt) }
    if (failed) this.failures.push(record)
    else {
      this.others.push(record)
      // Dropped in halves, so keeping the last ones costs a copy now and then, not one per command.
      if (this.others.length >= this.keptOthers * 2) this.others = this.others.slice(-this.keptOthers)
    }
  }

  get log(): CommandLog {
    return { total: this.total, failedTotal: this.failedTotal, failures: [...this.failures], others: this.others.slice(-this.keptOthers) }
  }

  private commandText(command: unknown): string {
    // Redacted whole, then cut: a cut first could leave the start of a secret that no longer matches.
    const text = this.redact(typeof command === 'string' ? command : Array.isArray(command) ? command.join(' ') : String(command ?? ''))
    return text.length > COMMAND_TEXT_CHARS ? `${text.slice(0, COMMAND_TEXT_CHARS)}…` : text
  }
}
