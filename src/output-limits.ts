/**
 * How much of the agent's work goes into step outputs and the job summary. The agent decides how much it
 * writes; the runner does not take any amount (1 MiB of summary per step, 128 KiB per environment variable
 * of a later step on Linux), so each part is cut to a size here, saying where the rest is.
 */

// An output must fit in one environment variable of a later step, with room to spare: the README tells users
// to pass the agent-written outputs through env:, and Linux refuses a variable over 128 KiB.
export const OUTPUT_LIMIT_BYTES = 64 * 1024
// More names than anyone reads in a list; run.json in the artifact keeps them all.
export const OUTPUT_FILE_NAMES = 1000
// Each agent-written part of the job summary, after escaping: three of them stay far below the runner's limit.
export const SUMMARY_PART_BYTES = 32 * 1024

/** The first names that fit, as a JSON array, and whether any were left out. */
export function cutFileList(files: string[], maxNames = OUTPUT_FILE_NAMES, maxBytes = OUTPUT_LIMIT_BYTES): { json: string; truncated: boolean } {
  const kept: string[] = []
  // '[' and ']', then each name and a comma.
  let bytes = 2
  for (const file of files) {
    const size = Buffer.byteLength(JSON.stringify(file)) + (kept.length ? 1 : 0)
    if (kept.length === maxNames || bytes + size > maxBytes) break
    kept.push(file)
    bytes += size
  }
  return { json: JSON.stringify(kept), truncated: kept.length < files.length }
}

/** `git diff --stat` cut at a whole line, keeping its closing "N files changed" line, with a line saying what was left out. */
export function cutDiffstat(diffstat: string, maxBytes = OUTPUT_LIMIT_BYTES): string {
  if (Buffer.byteLength(diffstat) <= maxBytes) return diffstat
  const lines = diffstat.split('\n')
  const total = lines.pop() ?? ''
  const note = (left: number): string => `… ${left} more files; the patch in the artifact has every change`
  const kept: string[] = []
  let bytes = Buffer.byteLength(`${note(lines.length)}\n${total}`)
  for (const line of lines) {
    const size = Buffer.byteLength(line) + 1
    if (bytes + size > maxBytes) break
    kept.push(line)
    bytes += size
  }
  return [...kept, note(lines.length - kept.length), total].join('\n')
}

/** `text` cut to `maxBytes` of UTF-8, the `note` included, when it is longer. */
export function cutText(text: string, note: string, maxBytes = OUTPUT_LIMIT_BYTES): string {
  if (Buffer.byteLength(text) <= maxBytes) return text
  return cutUtf8(text, maxBytes - Buffer.byteLength(note)) + note
}

/** HTML-escaped text cut like `cutText`, never inside an entity such as `&amp;`. */
export function cutEscapedText(escaped: string, note: string, maxBytes = SUMMARY_PART_BYTES): string {
  if (Buffer.byteLength(escaped) <= maxBytes) return escaped
  return cutUtf8(escaped, maxBytes - Buffer.byteLength(note)).replace(/&[a-z]*$/, '') + note
}

/** The longest start of `text` that is at most `maxBytes` of UTF-8, never splitting a character. */
function cutUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text)
  let end = Math.max(0, Math.min(maxBytes, bytes.length))
  // Step back over continuation bytes (10xxxxxx) to the start of the character the cut falls in.
  while (end > 0 && end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8')
}
