import * as core from '@actions/core'
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { Transform, Writable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { printAgentText } from '../agent-text.js'
import type { AgentConfiguration } from '../configure.js'
import type { Settings } from '../inputs.js'
import type { AgentIdentity } from '../isolation.js'
import type { ModelProxy } from '../model-proxy.js'
import { readStructuredOutput, type StructuredOutput } from '../output-schema.js'
import type { Redactor, StreamRedaction } from '../redact.js'
import { AgentStdout } from './agent-stdout.js'
import { CommandCollector, type CommandLog } from './commands.js'
import { EventReader, type CodexEvent, type EventSummary } from './events.js'

export type Conclusion = 'success' | 'failure' | 'timeout' | 'cancelled' | 'budget-exceeded'

export interface RunOutcome {
  conclusion: Conclusion
  /** Why the run did not succeed, in Codex's words where it said any. */
  failure?: string
  exitCode: number | null
  signal: NodeJS.Signals | null
  finalMessage: string
  events: EventSummary
  /** The shell commands the agent ran, bounded, for the job summary. */
  commands: CommandLog
  eventsFile: string
  logFile: string
  startedAt: Date
  durationMs: number
  /** The final message read against `output-schema`, when one was given and Codex finished. */
  structuredOutput?: StructuredOutput
}

const STOP_GRACE_MS = 5_000
// How long the events Codex wrote are read on after it exits: the action reads hundreds of MB a second, and
// a file the agent made a terabyte long of nothing (ftruncate on a descriptor of Codex's) must not hold the step.
const READ_AFTER_EXIT_MS = 60_000
// Codex 0.169.0 ends within a second of the proxy's refusal; a version that retried it would be stopped after this.
const BUDGET_GRACE_MS = 10_000
// What the agent prints passes through Codex into these files: enough for any real run. (Codex's stdout file, which
// events.jsonl is written from, holds what Codex printed until the run ends: like the work tree, only the disk bounds it.)
const LOG_LIMIT_BYTES = 256 * 1024 * 1024
const STDERR_TAIL_BYTES = 4096

export async function runCodex(
  binary: string,
  settings: Settings,
  configuration: AgentConfiguration,
  identity: AgentIdentity,
  redactor: Redactor,
  proxy: Pick<ModelProxy, 'budgetExceeded' | 'budget' | 'usage'>
): Promise<RunOutcome> {
  const eventsFile = path.join(configuration.directories.output, 'events.jsonl')
  const logFile = path.join(configuration.directories.output, 'codex.log')
  const stdout = await AgentStdout.create(path.join(configuration.directories.output, 'codex-stdout.unredacted'))
  const args = codexArguments(settings, configuration)
  const command = identity.spawnCommand(binary, args, configuration.env)
  const startedAt = new Date()
  core.info(`Starting: codex ${args.join(' ')}`)

  let child: ReturnType<typeof spawn>
  try {
    child = spawn(command.file, command.args, { ...command.options, cwd: configuration.workingDirectory, stdio: ['pipe', stdout.writerFd, 'pipe'] })
  } catch (error) {
    await stdout.close()
    throw new Error(`Could not run Codex (${binary}): ${(error as Error).message}`)
  }
  stdout.closeWriter()
  child.stdin?.end(settings.prompt)
  child.stdin?.on('error', () => {})

  let stopReason: 'timeout' | 'cancelled' | 'budget-exceeded' | undefined
  const stop = (reason: 'timeout' | 'cancelled' | 'budget-exceeded', why: string): void => {
    if (stopReason || child.exitCode !== null) return
    stopReason = reason
    core.warning(why)
    void identity.signalAll(child.pid, 'SIGTERM')
    setTimeout(() => void identity.signalAll(child.pid, 'SIGKILL'), STOP_GRACE_MS).unref()
  }
  // The events are read behind Codex; after a stop, reading what it wrote ends too, however much that is.
  const reading = new AbortController()
  const stopReading = (): void => void setTimeout(() => reading.abort(), 2 * STOP_GRACE_MS).unref()
  const timer = setTimeout(() => {
    stop('timeout', `Codex ran past timeout-minutes (${settings.timeoutMs / 60_000}); stopping it.`)
    stopReading()
  }, settings.timeoutMs)
  const onCancel = (signal: NodeJS.Signals): void => {
    stop('cancelled', `The job was cancelled (${signal}); stopping Codex.`)
    stopReading()
  }
  process.on('SIGINT', onCancel)
  process.on('SIGTERM', onCancel)
  let budgetTimer: NodeJS.Timeout | undefined
  void proxy.budgetExceeded.then((limit) => {
    if (child.exitCode !== null) return
    core.warning(`${budgetFailure(limit, settings, proxy.usage, proxy.budget().uncounted)} The model proxy refuses every further request.`)
    budgetTimer = setTimeout(() => stop('budget-exceeded', `Codex did not end within ${BUDGET_GRACE_MS / 1000} s of its refused request; stopping it.`), BUDGET_GRACE_MS)
  })

  const commands = new CommandCollector((text) => redactor.redact(text))
  const reader = new EventReader((event) => {
    logProgress(event, redactor)
    commands.add(event)
  })
  let stderrTail = ''
  const tail = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      stderrTail = (stderrTail + chunk.toString()).slice(-STDERR_TAIL_BYTES)
      callback()
    }
  })
  const stderrCopy = redactor.stream()
  child.stderr?.pipe(tail)
  child.stderr?.pipe(stderrCopy)

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal }))
  })
  // Once Codex has exited, nothing writes its stdout any more ('close' waits for stderr too, which its children may hold).
  const codexEnded = new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.once('error', () => resolve())
  })
  // Nothing the agent started outlives Codex: a process holding Codex's stderr would keep 'close' from ever coming
  // (and a stop after the exit does nothing), one holding its stdout could write on behind it.
  let eventsRead = false
  void codexEnded.then(() => {
    void identity.signalAll(child.pid, 'SIGKILL')
    setTimeout(() => {
      if (eventsRead) return
      core.warning(`Codex's output was still being read ${READ_AFTER_EXIT_MS / 1000} s after it exited; the rest of it was not read.`)
      reading.abort()
    }, READ_AFTER_EXIT_MS).unref()
  })
  try {
    const [, , exit] = await Promise.all([
      copyEvents(stdout, codexEnded, reading.signal, reader, redactor.redaction(), eventsFile).finally(() => void (eventsRead = true)),
      pipeline(stderrCopy, new FirstBytes(LOG_LIMIT_BYTES, 'codex.log'), createWriteStream(logFile, { mode: 0o600 })),
      exited
    ])
    const durationMs = Date.now() - startedAt.getTime()
    const summary = reader.summary
    // From Codex's own event stream, never from a file in CODEX_HOME, where the agent can put a link.
    const finalMessage = redactor.redact(summary.lastAgentMessage ?? '')
    const exceeded = proxy.budget().exceeded
    let conclusion: Conclusion =
      stopReason ?? (exceeded ? 'budget-exceeded' : exit.code === 0 && summary.turnCompleted && !summary.turnFailure ? 'success' : 'failure')
    let failure =
      conclusion === 'success'
        ? undefined
        : conclusion === 'timeout'
          ? `Codex did not finish within timeout-minutes (${settings.timeoutMs / 60_000}).`
          : conclusion === 'cancelled'
            ? 'The job was cancelled while Codex was running.'
            : conclusion === 'budget-exceeded' && exceeded
              ? budgetFailure(exceeded, settings, proxy.usage, proxy.budget().uncounted)
              : redactor.redact(summary.turnFailure ?? summary.lastError ?? lastLines(stderrTail) ?? `codex exited with code ${exit.code}`)
    const structuredOutput = settings.outputSchema && conclusion === 'success' ? await readStructuredOutput(settings.outputSchema, finalMessage) : undefined
    if (structuredOutput?.errors) {
      conclusion = 'failure'
      failure = `The final message does not match output-schema: ${structuredOutput.errors.join('; ')}`
    }
    return { conclusion, failure, exitCode: exit.code, signal: exit.signal, finalMessage, events: summary, commands: commands.log, eventsFile, logFile, startedAt, durationMs, structuredOutput }
  } catch (error) {
    throw new Error(`Could not run Codex (${binary}): ${(error as Error).message}`)
  } finally {
    clearTimeout(timer)
    clearTimeout(budgetTimer)
    process.off('SIGINT', onCancel)
    process.off('SIGTERM', onCancel)
    // Whatever the agent started in the background ends with the step.
    await identity.signalAll(child.pid, 'SIGKILL')
    await stdout.close()
  }
}

function codexArguments(settings: Settings, configuration: AgentConfiguration): string[] {
  const sandbox = settings.sandbox === 'bypass' ? ['--dangerously-bypass-approvals-and-sandbox'] : ['--sandbox', settings.sandbox]
  // The prompt goes on stdin ('-'): no argument-length limit, and Codex reads until the EOF it gets at once.
  const schema = configuration.outputSchemaFile ? ['--output-schema', configuration.outputSchemaFile] : []
  return ['exec', '--json', '-C', configuration.workingDirectory, ...sandbox, ...schema, ...settings.codexArgs, '-']
}

function budgetFailure(limit: 'max-tokens' | 'max-model-requests', settings: Settings, usage: ModelProxy['usage'], uncounted?: boolean): string {
  if (limit === 'max-tokens' && uncounted) return `The run stopped at max-tokens (${settings.maxTokens}): a model response ended without saying how many tokens it used, so the limit could no longer be kept (${usage.total_tokens} tokens counted).`
  return limit === 'max-tokens'
    ? `The run reached max-tokens (${settings.maxTokens}): ${usage.total_tokens} tokens were used.`
    : `The run reached max-model-requests (${settings.maxModelRequests}): ${usage.requests} model requests were made.`
}

function lastLines(text: string): string | undefined {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('Reading additional input from stdin'))
  return lines.length ? lines.slice(-3).join(' | ') : undefined
}

/** One line per finished step in the job log, so people can follow the agent live. */
function logProgress(event: CodexEvent, redactor: Redactor): void {
  const item = event.item as Record<string, unknown> | undefined
  let line: string | undefined
  if (event.type === 'item.completed' && item) {
    if (item.type === 'command_execution') line = `$ ${String(item.command)}  (exit ${String(item.exit_code ?? '?')})`
    else if (item.type === 'file_change') {
      const changes = Array.isArray(item.changes) ? item.changes : []
      line = `files: ${changes.map((c: { kind?: string; path?: string }) => `${c.kind ?? ''} ${c.path ?? ''}`.trim()).join(', ')}`
    } else if (item.type === 'agent_message') line = `codex: ${String(item.text)}`
    else if (item.type === 'error') line = `error: ${String(item.message)}`
  } else if (event.type === 'turn.failed' || (event.type === 'error' && typeof event.message === 'string')) {
    line = `${event.type}: ${String((event.error as { message?: string } | undefined)?.message ?? event.message)}`
  }
  if (line) printAgentText([redactor.redact(line.length > 2000 ? `${line.slice(0, 2000)}…` : line)])
}

/**
 * Reads Codex's events behind it, and writes them redacted to `file`, up to the log limit. Without streams: each
 * chunk is read, redacted and written before the next is read into the same buffer.
 */
async function copyEvents(stdout: AgentStdout, finished: Promise<void>, signal: AbortSignal, reader: EventReader, redaction: StreamRedaction, file: string): Promise<void> {
  const events = await open(file, 'w', 0o600)
  let room = LOG_LIMIT_BYTES
  const write = async (parts: Buffer[]): Promise<void> => {
    const kept: Buffer[] = []
    for (const part of parts) {
      if (part.length > room && room >= 0) core.warning(`events.jsonl reached ${LOG_LIMIT_BYTES} bytes; the rest of it was dropped.`)
      if (room > 0) kept.push(part.subarray(0, room))
      room -= part.length
    }
    await writeAll(events, kept)
  }
  try {
    await stdout.follow(
      finished,
      async (chunk) => {
        reader.take(chunk)
        await write(redaction.write(chunk))
      },
      signal
    )
    reader.finish()
    await write(redaction.end())
  } finally {
    await events.close()
  }
}

async function writeAll(file: FileHandle, parts: Buffer[]): Promise<void> {
  while (parts.length) {
    let { bytesWritten } = await file.writev(parts)
    while (parts.length && bytesWritten >= parts[0]!.length) bytesWritten -= parts.shift()!.length
    if (parts.length && bytesWritten) parts[0] = parts[0]!.subarray(bytesWritten)
  }
}

/** Passes the first `limit` bytes, then drops the rest and says once, in the log, that it did. */
class FirstBytes extends Transform {
  private passed = 0
  private cut = false

  constructor(
    private readonly limit: number,
    private readonly name: string
  ) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const room = Math.max(0, this.limit - this.passed)
    if (chunk.length > room && !this.cut) {
      this.cut = true
      core.warning(`${this.name} reached ${this.limit} bytes; the rest of it was dropped.`)
    }
    this.passed += chunk.length
    callback(null, room > 0 ? chunk.subarray(0, room) : undefined)
  }
}
