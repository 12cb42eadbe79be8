import { execFileSync } from 'node:child_process'
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { AgentFileRefused, findAgentFiles, openAgentFile } from '../../src/agent-files.js'

const folders: string[] = []
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

function scratch(): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'agent-files-'))
  folders.push(folder)
  return folder
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const OWNER = process.getuid?.() ?? 0

describe('openAgentFile', () => {
  it('reads a regular file of its owner whole', async () => {
    const file = path.join(scratch(), 'rollout-1.jsonl')
    writeFileSync(file, '{"type":"x"}\n')
    const opened = await openAgentFile(file, { owner: OWNER, maxBytes: 1024 })
    expect(opened.size).toBe(13)
    expect(opened.truncated).toBe(false)
    expect((await bytesOf(opened.stream)).toString()).toBe('{"type":"x"}\n')
  })

  it('reads no more than maxBytes of a longer file, and says it was cut', async () => {
    const file = path.join(scratch(), 'big.jsonl')
    writeFileSync(file, Buffer.alloc(100_000, 'a'))
    const opened = await openAgentFile(file, { maxBytes: 4096 })
    expect(opened.truncated).toBe(true)
    expect(opened.size).toBe(100_000)
    expect((await bytesOf(opened.stream)).length).toBe(4096)
  })

  it('refuses a symbolic link, to a private file or to /proc/self/environ', async () => {
    const folder = scratch()
    const secret = path.join(folder, 'private.txt')
    writeFileSync(secret, 'runner-private', { mode: 0o600 })
    for (const target of [secret, '/proc/self/environ']) {
      const link = path.join(folder, `link-${path.basename(target)}`)
      symlinkSync(target, link)
      await expect(openAgentFile(link, { maxBytes: 1024 })).rejects.toThrow(new AgentFileRefused(link, 'is a symbolic link, not a regular file'))
    }
  })

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const fifo = path.join(scratch(), 'rollout-fifo.jsonl')
    execFileSync('mkfifo', [fifo])
    const started = Date.now()
    await expect(openAgentFile(fifo, { maxBytes: 1024 })).rejects.toThrow(/is a named pipe \(FIFO\), not a regular file/)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it("refuses a hard link: the second name could be someone else's file", async () => {
    const folder = scratch()
    const original = path.join(folder, 'private.txt')
    writeFileSync(original, 'runner-private', { mode: 0o600 })
    linkSync(original, path.join(folder, 'rollout-linked.jsonl'))
    await expect(openAgentFile(path.join(folder, 'rollout-linked.jsonl'), { owner: OWNER, maxBytes: 1024 })).rejects.toThrow(/has 2 names \(a hard link\)/)
  })

  it('refuses a file that belongs to another uid than the one given', async () => {
    const file = path.join(scratch(), 'rollout-1.jsonl')
    writeFileSync(file, 'x')
    await expect(openAgentFile(file, { owner: OWNER + 1, maxBytes: 1024 })).rejects.toThrow(`belongs to uid ${OWNER}, not to uid ${OWNER + 1}`)
  })
})

describe('findAgentFiles', () => {
  it('finds matching names below real folders only, links and FIFOs included so that they can be refused by name', async () => {
    const root = scratch()
    const sessions = path.join(root, 'sessions')
    const elsewhere = path.join(root, 'elsewhere')
    mkdirSync(path.join(sessions, '2026', '12', '01'), { recursive: true })
    mkdirSync(path.join(elsewhere, '12', '31'), { recursive: true })
    writeFileSync(path.join(sessions, '2026', '12', '01', 'rollout-a.jsonl'), 'a')
    writeFileSync(path.join(sessions, '2026', '12', '01', 'notes.txt'), 'n')
    writeFileSync(path.join(elsewhere, '12', '31', 'rollout-z.jsonl'), 'private')
    symlinkSync(elsewhere, path.join(sessions, '2027'))
    symlinkSync('/proc/self/environ', path.join(sessions, '2026', '12', '01', 'rollout-b.jsonl'))
    execFileSync('mkfifo', [path.join(sessions, '2026', 'rollout-c.jsonl')])

    const found = (await findAgentFiles(sessions, /^rollout-.*\.jsonl$/)).map((file) => path.relative(sessions, file)).sort()
    expect(found).toEqual(['2026/12/01/rollout-a.jsonl', '2026/12/01/rollout-b.jsonl', '2026/rollout-c.jsonl'])
  })

  it('finds nothing when the folder itself is a link or missing', async () => {
    const root = scratch()
    mkdirSync(path.join(root, 'real'))
    writeFileSync(path.join(root, 'real', 'rollout-a.jsonl'), 'a')
    symlinkSync(path.join(root, 'real'), path.join(root, 'sessions'))
    expect(await findAgentFiles(path.join(root, 'sessions'), /^rollout-/)).toEqual([])
    expect(await findAgentFiles(path.join(root, 'missing'), /^rollout-/)).toEqual([])
  })

  it('looks at no more than maxEntries entries', async () => {
    const root = scratch()
    for (let i = 0; i < 50; i++) writeFileSync(path.join(root, `rollout-${i}.jsonl`), '')
    expect((await findAgentFiles(root, /^rollout-/, 10)).length).toBe(10)
  })
})
