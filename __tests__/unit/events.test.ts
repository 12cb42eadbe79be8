import { describe, expect, it } from 'vitest'
import { EventReader, type CodexEvent, type EventSummary } from '../../src/run/events.js'

/**
 * Runs `chunks` through a reader; returns its summary and the events it reported. Each chunk is handed over in
 * one buffer that is overwritten after each call, as the action reads the agent's output into one buffer again
 * and again: a reader that kept a view of it instead of a copy would read garbage.
 */
async function read(chunks: Buffer[]): Promise<{ summary: EventSummary; events: CodexEvent[] }> {
  const events: CodexEvent[] = []
  const reader = new EventReader((event) => events.push(event))
  const buffer = Buffer.alloc(Math.max(1, ...chunks.map((chunk) => chunk.length)))
  for (const chunk of chunks) {
    chunk.copy(buffer)
    reader.take(buffer.subarray(0, chunk.length))
    buffer.fill(0x7b)
  }
  reader.finish()
  return { summary: reader.summary, events }
}

const jsonl = (...events: unknown[]): string => events.map((event) => JSON.stringify(event)).join('\n') + '\n'

const FINAL_MESSAGE = 'Done — I édited ✓ the file 🎉 and ran the tests'
// What `codex exec --json` prints for a run with a command, a retry notice and a final message.
const SUCCESS = jsonl(
  { type: 'thread.started', thread_id: '01a22199-38f9-7c70-a769-0f8493c2d36a' },
  { type: 'turn.started' },
  { type: 'item.started', item: { id: 'item_0', type: 'command_execution', command: "bash -lc 'ls -la'", aggregated_output: '', exit_code: null, status: 'in_progress' } },
  { type: 'item.completed', item: { id: 'item_0', type: 'command_execution', command: "bash -lc 'ls -la'", aggregated_output: 'total 8\nREADME.md\n', exit_code: 0, status: 'completed' } },
  { type: 'error', message: 'Reconnecting... 1/5 (stream disconnected before completion: error sending request)' },
  { type: 'item.completed', item: { id: 'item_1', type: 'reasoning', text: '**Thinking** about ✓' } },
  { type: 'item.completed', item: { id: 'item_2', type: 'agent_message', text: 'First message' } },
  { type: 'item.completed', item: { id: 'item_3', type: 'file_change', changes: [{ path: 'README.md', kind: 'update' }], status: 'completed' } },
  { type: 'item.completed', item: { id: 'item_4', type: 'agent_message', text: FINAL_MESSAGE } },
  { type: 'turn.completed', usage: { input_tokens: 12034, cached_input_tokens: 9000, output_tokens: 512 } }
)

const SUCCESS_SUMMARY: EventSummary = {
  turnCompleted: true,
  lastAgentMessage: FINAL_MESSAGE,
  eventCount: 10,
  usage: { input_tokens: 12034, cached_input_tokens: 9000, output_tokens: 512 }
}

/** Chunkings that split lines in the middle, and multi-byte characters between their bytes. */
function chunkings(data: Buffer): Array<{ name: string; chunks: Buffer[] }> {
  const emoji = data.indexOf(Buffer.from('🎉'))
  const eAcute = data.indexOf(Buffer.from('é'))
  const check = data.indexOf(Buffer.from('✓'))
  expect(Math.min(emoji, eAcute, check)).toBeGreaterThan(0)
  const splitAt = (...points: number[]): Buffer[] => {
    const chunks: Buffer[] = []
    let from = 0
    for (const point of [...points].sort((a, b) => a - b)) {
      chunks.push(data.subarray(from, point))
      from = point
    }
    chunks.push(data.subarray(from))
    return chunks
  }
  const sized = (size: number): Buffer[] => {
    const chunks: Buffer[] = []
    for (let at = 0; at < data.length; at += size) chunks.push(data.subarray(at, at + size))
    return chunks
  }
  return [
    { name: 'whole', chunks: [data] },
    { name: 'one byte at a time', chunks: sized(1) },
    { name: 'inside the 4-byte emoji', chunks: splitAt(emoji + 1, emoji + 2, emoji + 3) },
    { name: 'inside é and ✓', chunks: splitAt(eAcute + 1, check + 1, check + 2) },
    { name: 'mid-line, 7 bytes', chunks: sized(7) },
    { name: 'mid-line, 100 bytes', chunks: sized(100) },
    { name: 'right after each newline', chunks: splitAt(...[...data.keys()].filter((i) => data[i] === 0x0a).map((i) => i + 1).filter((i) => i < data.length)) },
    { name: 'right before each newline', chunks: splitAt(...[...data.keys()].filter((i) => data[i] === 0x0a)) }
  ]
}

describe('EventReader', () => {
  it('summarises a successful run the same way however the bytes are chunked', async () => {
    const data = Buffer.from(SUCCESS)
    for (const { name, chunks } of chunkings(data)) {
      const { summary, events } = await read(chunks)
      expect(summary, name).toEqual(SUCCESS_SUMMARY)
      expect(summary.lastError, name).toBeUndefined()
      expect(summary.turnFailure, name).toBeUndefined()
      expect(events.map((event) => event.type), name).toEqual([
        'thread.started',
        'turn.started',
        'item.started',
        'item.completed',
        'error',
        'item.completed',
        'item.completed',
        'item.completed',
        'item.completed',
        'turn.completed'
      ])
    }
  })

  it('reports a failed turn and the last real error, never a retry notice', async () => {
    const data = Buffer.from(
      jsonl(
        { type: 'thread.started', thread_id: 't' },
        { type: 'turn.started' },
        { type: 'item.completed', item: { id: 'item_0', type: 'error', message: 'command not supported: exec — ✗' } },
        { type: 'error', message: 'unexpected status 500 Internal Server Error: upstream says no' },
        { type: 'error', message: 'Reconnecting... 1/5' },
        { type: 'error', message: 'Reconnecting... 5/5 (stream disconnected before completion)' },
        { type: 'turn.failed', error: { message: 'exceeded retry limit, last status: 500 Internal Server Error' } }
      )
    )
    for (const { name, chunks } of [{ name: 'whole', chunks: [data] }, { name: 'bytes', chunks: [...data].map((byte) => Buffer.from([byte])) }]) {
      const { summary } = await read(chunks)
      expect(summary, name).toEqual({
        turnCompleted: false,
        turnFailure: 'exceeded retry limit, last status: 500 Internal Server Error',
        lastError: 'unexpected status 500 Internal Server Error: upstream says no',
        eventCount: 7,
        usage: { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0 }
      })
    }
  })

  it('keeps lastError empty when the only errors are retry notices, and takes an error item as the last error', async () => {
    const retries = await read([Buffer.from(jsonl({ type: 'error', message: 'Reconnecting... 1/5' }, { type: 'error', message: 'Reconnecting... 2/5' }, { type: 'turn.completed', usage: { input_tokens: 1, output_tokens: 2 } }))])
    expect(retries.summary.lastError).toBeUndefined()
    expect(retries.summary.turnCompleted).toBe(true)
    expect(retries.summary.usage).toEqual({ input_tokens: 1, cached_input_tokens: 0, output_tokens: 2 })

    const item = await read([Buffer.from(jsonl({ type: 'error', message: 'first' }, { type: 'item.completed', item: { type: 'error', message: 'the item error' } }))])
    expect(item.summary.lastError).toBe('the item error')
  })

  it('describes a failed turn whose error is a string, or missing', async () => {
    expect((await read([Buffer.from(jsonl({ type: 'turn.failed', error: 'plain text failure' }))])).summary.turnFailure).toBe('plain text failure')
    expect((await read([Buffer.from(jsonl({ type: 'turn.failed' }))])).summary.turnFailure).toBe('the turn failed')
    expect((await read([Buffer.from(jsonl({ type: 'turn.failed', error: { code: 1 } }))])).summary.turnFailure).toBe('the turn failed')
  })

  it('sums usage over several turns', async () => {
    const { summary } = await read([
      Buffer.from(
        jsonl(
          { type: 'turn.completed', usage: { input_tokens: 100, cached_input_tokens: 10, output_tokens: 5 } },
          { type: 'turn.completed', usage: { input_tokens: 200, cached_input_tokens: 20, output_tokens: 7 } },
          { type: 'turn.completed' }
        )
      )
    ])
    expect(summary.usage).toEqual({ input_tokens: 300, cached_input_tokens: 30, output_tokens: 12 })
    expect(summary.eventCount).toBe(3)
  })

  it('skips what is not an event, reads a last line without a newline and CRLF line ends', async () => {
    const text =
      'Reading additional input from stdin...\n' +
      '\n' +
      '   \n' +
      '{"not":"an event"}\n' +
      '{"type": 42}\n' +
      '[1,2,3]\n' +
      'null\n' +
      '{"type":"item.completed","item":{"type":"agent_message","text":"crlf line"}}\r\n' +
      '{"type":"item.completed","item":{"type":"agent_message","text":42}}\n' +
      '{"type":"turn.completed","usage":{"input_tokens":3,"cached_input_tokens":0,"output_tokens":4}}'
    const data = Buffer.from(text)
    const { summary, events } = await read([data.subarray(0, 50), data.subarray(50)])
    expect(events.map((event) => event.type)).toEqual(['item.completed', 'item.completed', 'turn.completed'])
    expect(summary).toEqual({ turnCompleted: true, lastAgentMessage: 'crlf line', eventCount: 3, usage: { input_tokens: 3, cached_input_tokens: 0, output_tokens: 4 } })
  })

  it('reads on after arbitrary binary bytes', async () => {
    const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from([0xff, 0xfe, 0xc3, 0x0a, 0xe2, 0x82]), Buffer.from(SUCCESS)])
    const { summary } = await read([...data].map((byte) => Buffer.from([byte])))
    // The garbage line ends at the first newline byte; what follows is still read.
    expect(summary.turnCompleted).toBe(true)
    expect(summary.lastAgentMessage).toBe(FINAL_MESSAGE)
  })

  it('drops a line too long to hold and keeps reading the events after it', async () => {
    const long = Buffer.alloc(17 * 1024 * 1024, 'x')
    const chunks: Buffer[] = []
    for (let at = 0; at < long.length; at += 1024 * 1024) chunks.push(long.subarray(at, at + 1024 * 1024))
    chunks.push(Buffer.from('\n' + jsonl({ type: 'item.completed', item: { type: 'agent_message', text: 'after the long line' } })))
    const { summary } = await read(chunks)
    expect(summary.lastAgentMessage).toBe('after the long line')
    expect(summary.eventCount).toBe(1)
  })
  it('reads an event line of many megabytes that arrives in pieces, with multi-byte characters split between them', async () => {
    const output = 'é✓\u0001'.repeat(600_000)
    const data = Buffer.from(jsonl(
      { type: 'item.completed', item: { type: 'command_execution', command: 'cat big', aggregated_output: output, exit_code: 0 } },
      { type: 'item.completed', item: { type: 'agent_message', text: 'after the big line' } }
    ))
    expect(data.length).toBeGreaterThan(4 * 1024 * 1024)
    // 64 KiB pieces, as a pipe gives them, each shifted by one byte so that characters are cut in two.
    const chunks: Buffer[] = []
    for (let at = 0; at < data.length; at += 65_537) chunks.push(data.subarray(at, at + 65_537))
    const { summary, events } = await read(chunks)
    // A command's output is not read: it is skipped, not decoded; the rest of its event is.
    expect(events[0]?.item).toEqual({ type: 'command_execution', command: 'cat big', aggregated_output: '', exit_code: 0 })
    expect(summary.lastAgentMessage).toBe('after the big line')
    expect(summary.eventCount).toBe(2)
  })

  it('reads long values it needs whole, and finds the end of a long value past escaped quotes and backslashes', async () => {
    const message = `${'a "quoted" \\ word, '.repeat(5000)}the end \\`
    const command = `bash -lc 'printf "%s" "${'x\\"'.repeat(8000)}"'`
    const tricky = ['\\"', '\\\\', '"\\', '\\'].join('').repeat(10_000)
    const events = [
      { type: 'item.completed', item: { id: 'c1', type: 'command_execution', command, aggregated_output: tricky, exit_code: 1, status: 'failed' } },
      { type: 'item.completed', item: { id: 'm1', type: 'agent_message', text: message } },
      { type: 'item.completed', item: { id: 'm2', type: 'reasoning', notes: ['"'.repeat(20_000), 'short'], text: 'after' } }
    ]
    const data = Buffer.from(jsonl(...events))
    for (const size of [data.length, 65_536, 4097]) {
      const chunks: Buffer[] = []
      for (let at = 0; at < data.length; at += size) chunks.push(data.subarray(at, at + size))
      const { summary, events: seen } = await read(chunks)
      expect(summary.lastAgentMessage).toBe(message)
      expect(seen.map((event) => event.item)).toEqual([
        { id: 'c1', type: 'command_execution', command, aggregated_output: '', exit_code: 1, status: 'failed' },
        { id: 'm1', type: 'agent_message', text: message },
        { id: 'm2', type: 'reasoning', notes: ['', 'short'], text: 'after' }
      ])
    }
  })

  it('reads an event past the longest line when what is too long is a value it does not read, and skips one it would have to hold', async () => {
    const mb = Buffer.alloc(1024 * 1024, 'a')
    const line = (field: string, megabytes: number): Buffer[] => [
      Buffer.from(`{"type":"item.completed","item":{"type":"agent_message","${field}":"`),
      ...Array.from({ length: megabytes }, () => mb),
      Buffer.from('","text":"short"}}\n')
    ]
    const after = Buffer.from(jsonl({ type: 'item.completed', item: { type: 'agent_message', text: 'after' } }))
    // 40 MB of a value no one reads: read, emptied. 17 MB of the agent's message, which the reader must hold whole: skipped.
    const { summary, events } = await read([...line('aggregated_output', 40), ...line('text', 17), after])
    expect(events.map((event) => event.item)).toEqual([
      { type: 'agent_message', aggregated_output: '', text: 'short' },
      { type: 'agent_message', text: 'after' }
    ])
    expect(summary.lastAgentMessage).toBe('after')
  })

  it('still skips a long line that is not JSON, with or without quotes in it', async () => {
    const broken = `{"type":"item.completed","item":{"type":"agent_message","text":"${'y'.repeat(40_000)}`
    const unquoted = `{"type":"item.completed","item":{"type":"agent_message","text":"ok","x":${'1'.repeat(40_000)}`
    const data = Buffer.from(`${broken}\n${unquoted}\n${jsonl({ type: 'item.completed', item: { type: 'agent_message', text: 'last' } })}`)
    const { summary } = await read([data])
    expect(summary.eventCount).toBe(1)
    expect(summary.lastAgentMessage).toBe('last')
  })

  it('holds a long line of 500,000 short values (what the agent writes through a descriptor taken from Codex, or a change of very many files) in flat memory', async () => {
    // Kept as a Buffer per piece, the 15 MB of this line took 1 GB of memory and 12 s before its newline.
    const steps = Array.from({ length: 500_000 }, () => '{"text":"","completed":false}').join(',')
    const line = Buffer.from(`{"type":"item.completed","item":{"id":"item_1","type":"todo_list","items":[${steps}]}}`)
    const reader = new EventReader()
    const buffer = Buffer.alloc(1024 * 1024)
    const before = process.memoryUsage()
    let grew = 0
    for (let at = 0; at < line.length; at += buffer.length) {
      reader.take(buffer.subarray(0, line.copy(buffer, 0, at, at + buffer.length)))
      const now = process.memoryUsage()
      grew = Math.max(grew, now.heapUsed + now.arrayBuffers - before.heapUsed - before.arrayBuffers)
    }
    expect(grew).toBeLessThan(100 * 1024 * 1024)
    reader.take(Buffer.from('\n'))
    expect(reader.summary.eventCount).toBe(1)
  })
})
