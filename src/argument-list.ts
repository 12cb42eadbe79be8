/**
 * Reads `codex-args`: a JSON array of strings, or words split the way a POSIX shell splits them
 * (single quotes, double quotes, backslash escapes; no expansion of any kind).
 * Hand-written because the few shell-word libraries either expand variables or pull in a parser
 * for a whole shell language; twenty lines with no expansion is the safer contract.
 */
export function parseArgumentList(text: string): string[] {
  const trimmed = text.trim()
  if (trimmed.startsWith('[')) {
    const parsed: unknown = JSON.parse(trimmed)
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
      throw new Error('the JSON array must hold only strings')
    }
    return parsed
  }
  const words: string[] = []
  let word: string | undefined
  let quote: '"' | "'" | undefined
  for (let i = 0; i < trimmed.length; i++) {
    const char = trimmed[i]
    if (quote === "'") {
      if (char === "'") quote = undefined
      else word += char
    } else if (char === '\\' && (quote === undefined || /["\\$`]/.test(trimmed[i + 1] ?? ''))) {
      if (i + 1 >= trimmed.length) throw new Error('it ends with a lone backslash')
      word = (word ?? '') + trimmed[++i]
    } else if (quote === '"') {
      if (char === '"') quote = undefined
      else word += char
    } else if (char === '"' || char === "'") {
      quote = char
      word ??= ''
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word)
      word = undefined
    } else {
      word = (word ?? '') + char
    }
  }
  if (quote) throw new Error(`a ${quote} quote is not closed`)
  if (word !== undefined) words.push(word)
  return words
}
