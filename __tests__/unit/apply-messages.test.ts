import { describe, expect, it } from 'vitest'
import type { Leg } from '../../src/apply/download.js'
import { commentBody, defaultTitle, fenced, plainLine, pullRequestBody, type RunContext } from '../../src/apply/messages.js'

const RUN: RunContext = { runUrl: 'https://github.com/o/r/actions/runs/1', workflow: 'Refactor', runNumber: '3', artifactUrl: (leg) => `https://github.com/o/r/actions/runs/1/artifacts/${leg.artifactId}` }

function leg(overrides: Partial<Leg> = {}): Leg {
  return { name: 'codex-a', artifactId: 4, patchFile: '/x', patchBytes: 10, redacted: false, slice: [], conclusion: 'success', finalMessage: 'Done.', ...overrides }
}

describe('agent text in Markdown', () => {
  it('is fenced longer than any backtick run in it, so nothing can close the fence', () => {
    const text = 'a ```` b\n````\n# not a heading\n@octocat'
    const block = fenced(text, 'text')
    expect(block).toBe('`````text\na ```` b\n````\n# not a heading\n@octocat\n`````')
    expect(fenced('plain')).toBe('```\nplain\n```')
  })

  it('becomes one plain line for titles: first non-empty line, no control characters or Markdown lead, cut at a word', () => {
    expect(plainLine('\n\n## Fixed\tthe\x1b[31m bug\nmore')).toBe('Fixed the [31m bug')
    expect(plainLine('word '.repeat(30))).toMatch(/^(word ){13}word…$/)
    expect(defaultTitle([leg({ finalMessage: '' })], RUN)).toBe('Codex: changes from Refactor run 3')
    expect(defaultTitle([leg(), leg({ name: 'b' })], RUN)).toBe('Codex: changes from Refactor run 3')
  })

  it('the pull request body and the comment show the agent text only inside fences', () => {
    const evil = leg({ finalMessage: '```\n</details><img src=x onerror=alert(1)> @everyone [x](javascript:alert(1))' })
    const plan = { tree: 't', files: ['a'], filesByLeg: new Map([['codex-a', ['a']]]), diffstat: ' a | 1 +\n 1 file changed' }
    const body = pullRequestBody([evil], plan, RUN)
    const outside = body.replace(/(`{3,})[^\n]*\n[\s\S]*?\n\1/g, '')
    expect(outside).not.toMatch(/img|@everyone|javascript/)
    expect(body).toContain('````markdown\n```\n</details><img src=x onerror=alert(1)> @everyone')
    const comment = commentBody({ conclusion: 'refused', message: 'Refused: x.md\n# @everyone', legs: [evil], plan, refusedPaths: [] }, RUN, '1')
    expect(comment.startsWith('<!-- codex-action/apply run:1 -->')).toBe(true)
    expect(comment.replace(/(`{3,})[^\n]*\n[\s\S]*?\n\1/g, '')).not.toContain('@everyone')
  })
})
