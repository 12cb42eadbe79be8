import * as core from '@actions/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { printAgentText } from '../../src/agent-text.js'
import { parseWorkflowCommand } from '../../test-support/runner.js'

/** What the calls wrote to stdout, as the runner reads it: split into lines at LF, CR or CRLF. */
function printedLines(print: () => void): string[] {
  const written: string[] = []
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk))
    return true
  })
  try {
    print()
  } finally {
    spy.mockRestore()
  }
  return written.join('').replace(/\n$/, '').split(/\r\n|\r|\n/)
}

const HOSTILE = ['::add-mask::agent-mask', '  ::set-output name=conclusion::pwned', '::stop-commands::abc', '::abc::', '##[add-mask]legacy', '\t::error::e']

afterEach(() => {
  process.exitCode = undefined
})

describe('printAgentText', () => {
  it('prints every line inside one stop-commands block whose token is fresh and random', () => {
    const lines = printedLines(() => printAgentText([`codex: done\n${HOSTILE.join('\n')}`, '$ echo x\r::warning::after-cr']))
    const token = /^::stop-commands::([0-9a-f]{32})$/.exec(lines[0])?.[1]
    expect(token, lines[0]).toBeDefined()
    expect(lines.at(-1)).toBe(`::${token}::`)
    expect(lines.slice(1, -1)).toEqual(['codex: done', ...HOSTILE, '$ echo x', '::warning::after-cr'])
    // Only the opening line is a command; the agent's own stop-commands token does not end the block.
    expect(lines.slice(1, -1).filter((line) => line.trim() === `::${token}::`)).toEqual([])
    const again = printedLines(() => printAgentText(['x']))
    expect(again[0]).not.toBe(lines[0])
  })
})

// The action relies on @actions/core for the messages it prints as annotations: checked here, not assumed.
describe('@actions/core', () => {
  const text = `Codex failure: a\n::add-mask::agent-mask\r\n##[add-mask]legacy\r::error::e %0A %25 done`
  for (const [name, print] of [
    ['warning', () => core.warning(text)],
    ['error', () => core.error(text)],
    ['setFailed', () => core.setFailed(text)]
  ] as const) {
    it(`${name}() prints agent text as one line whose message is the text, line breaks and % escaped`, () => {
      const lines = printedLines(print)
      expect(lines).toHaveLength(1)
      const command = parseWorkflowCommand(lines[0])
      expect(command?.command).toBe(name === 'warning' ? 'warning' : 'error')
      expect(command?.message).toBe(text)
    })
  }
})
