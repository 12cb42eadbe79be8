import { describe, expect, it } from 'vitest'
import { OUTPUT_FILE_NAMES, OUTPUT_LIMIT_BYTES, cutDiffstat, cutEscapedText, cutFileList, cutText } from '../../src/output-limits.js'

const bytes = (text: string): number => Buffer.byteLength(text)

describe('cutFileList', () => {
  it('keeps a short list whole', () => {
    expect(cutFileList(['a.txt', 'dir with space/ü.txt'])).toEqual({ json: '["a.txt","dir with space/ü.txt"]', truncated: false })
    expect(cutFileList([])).toEqual({ json: '[]', truncated: false })
  })

  it('keeps the first names of a long list as valid JSON, within the name and byte limits', () => {
    const files = Array.from({ length: 20_000 }, (_, i) => `generated/file-${String(i).padStart(5, '0')}.txt`)
    const { json, truncated } = cutFileList(files)
    expect(truncated).toBe(true)
    expect(JSON.parse(json)).toEqual(files.slice(0, OUTPUT_FILE_NAMES))
  })

  it('stops at the byte limit when names are long, quotes and multi-byte characters counted as JSON writes them', () => {
    const files = Array.from({ length: 500 }, (_, i) => `"quoted" ✓ ${'ü'.repeat(200)} ${i}`)
    const { json, truncated } = cutFileList(files)
    expect(truncated).toBe(true)
    expect(bytes(json)).toBeLessThanOrEqual(OUTPUT_LIMIT_BYTES)
    const kept = JSON.parse(json) as string[]
    expect(kept).toEqual(files.slice(0, kept.length))
    // One more name would not have fit.
    expect(bytes(JSON.stringify(files.slice(0, kept.length + 1)))).toBeGreaterThan(OUTPUT_LIMIT_BYTES)
  })
})

describe('cutDiffstat', () => {
  const stat = (count: number): string =>
    [...Array.from({ length: count }, (_, i) => ` generated/file-${String(i).padStart(5, '0')}.txt | 1 +`), ` ${count} files changed, ${count} insertions(+)`].join('\n')

  it('keeps a short diffstat whole', () => {
    expect(cutDiffstat(stat(3))).toBe(stat(3))
  })

  it('cuts a long one at a whole line, keeps its last line, and says how many files were left out', () => {
    const full = stat(20_000)
    const cut = cutDiffstat(full)
    expect(bytes(cut)).toBeLessThanOrEqual(OUTPUT_LIMIT_BYTES)
    const lines = cut.split('\n')
    expect(lines.at(-1)).toBe(' 20000 files changed, 20000 insertions(+)')
    const kept = lines.slice(0, -2)
    expect(full.startsWith(kept.join('\n') + '\n')).toBe(true)
    expect(lines.at(-2)).toBe(`… ${20_000 - kept.length} more files; the patch in the artifact has every change`)
  })
})

describe('cutText and cutEscapedText', () => {
  it('leave text within the limit as it is', () => {
    expect(cutText('short', ' (cut)', 100)).toBe('short')
    expect(cutEscapedText('a &amp; b', ' (cut)', 100)).toBe('a &amp; b')
  })

  it('cut longer text to the limit, note included, without splitting a character', () => {
    const cut = cutText('✓'.repeat(100), ' (cut)', 50)
    expect(bytes(cut)).toBeLessThanOrEqual(50)
    expect(cut).toBe(`${'✓'.repeat(14)} (cut)`)
  })

  it('never leave half an entity at the cut', () => {
    for (let limit = 20; limit < 40; limit++) {
      const cut = cutEscapedText('&lt;'.repeat(20), '…', limit)
      expect(bytes(cut)).toBeLessThanOrEqual(limit)
      expect(cut).toMatch(/^(&lt;)*…$/)
    }
  })
})
