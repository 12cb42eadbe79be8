import { describe, expect, it } from 'vitest'
import { parseArgumentList } from '../../src/argument-list.js'

describe('parseArgumentList: JSON arrays', () => {
  it('takes a JSON array of strings as it is, spaces and quotes included', () => {
    expect(parseArgumentList('["--model", "gpt-5.5", "-c", "model_verbosity=\\"low\\"", "a b", ""]')).toEqual([
      '--model',
      'gpt-5.5',
      '-c',
      'model_verbosity="low"',
      'a b',
      ''
    ])
  })

  it('accepts surrounding whitespace and newlines around the array', () => {
    expect(parseArgumentList('\n  [\n  "--full-auto",\n  "x"\n]\n  ')).toEqual(['--full-auto', 'x'])
  })

  it('takes an empty array as no arguments', () => {
    expect(parseArgumentList('[]')).toEqual([])
  })

  it('refuses arrays holding anything but strings', () => {
    for (const text of ['[1, 2]', '["a", 1]', '["a", null]', '[["nested"]]', '[{"a": "b"}]', '[true]']) {
      expect(() => parseArgumentList(text), text).toThrow('the JSON array must hold only strings')
    }
  })

  it('refuses text that starts like an array but is not JSON', () => {
    expect(() => parseArgumentList('["unclosed"')).toThrow(SyntaxError)
    expect(() => parseArgumentList("['single']")).toThrow(SyntaxError)
  })
})

describe('parseArgumentList: shell words', () => {
  it('splits on runs of spaces, tabs and newlines', () => {
    expect(parseArgumentList('  --model   gpt-5.5\t-c\nkey=value \n\n --json  ')).toEqual(['--model', 'gpt-5.5', '-c', 'key=value', '--json'])
  })

  it('gives nothing for empty or blank text', () => {
    expect(parseArgumentList('')).toEqual([])
    expect(parseArgumentList(' \n\t ')).toEqual([])
  })

  it('keeps everything inside single quotes literally', () => {
    expect(parseArgumentList(`-c 'model_verbosity="high"' 'a  b' '$HOME \\n \\'`)).toEqual(['-c', 'model_verbosity="high"', 'a  b', '$HOME \\n \\'])
  })

  it('reads double quotes with only \\" \\\\ \\$ and \\` as escapes', () => {
    expect(parseArgumentList(`"say \\"hi\\"" "back\\\\slash" "\\$HOME" "\\\`cmd\\\`" "keep\\n" "it's"`)).toEqual([
      'say "hi"',
      'back\\slash',
      '$HOME',
      '`cmd`',
      'keep\\n',
      "it's"
    ])
  })

  it('does no expansion of any kind', () => {
    expect(parseArgumentList('$HOME ~ *.ts $(id) `id` {a,b} "$PATH"')).toEqual(['$HOME', '~', '*.ts', '$(id)', '`id`', '{a,b}', '$PATH'])
  })

  it('joins quoted and unquoted parts of one word', () => {
    expect(parseArgumentList(`-c'model="x"'"y z"w`)).toEqual(['-cmodel="x"y zw'])
    expect(parseArgumentList(`key="a b"'c d'`)).toEqual(['key=a bc d'])
  })

  it('gives an empty argument for empty quotes, alone or among others', () => {
    expect(parseArgumentList("''")).toEqual([''])
    expect(parseArgumentList('""')).toEqual([''])
    expect(parseArgumentList(`a '' b "" c`)).toEqual(['a', '', 'b', '', 'c'])
  })

  it('escapes any character with a backslash outside quotes', () => {
    expect(parseArgumentList('a\\ b c\\"d e\\\'f \\\\g \\$h')).toEqual(['a b', 'c"d', "e'f", '\\g', '$h'])
  })

  it('keeps newlines inside quotes', () => {
    expect(parseArgumentList(`"line one\nline two" 'a\nb'`)).toEqual(['line one\nline two', 'a\nb'])
  })

  it('says which quote is not closed', () => {
    expect(() => parseArgumentList(`--model 'gpt-5.5`)).toThrow("a ' quote is not closed")
    expect(() => parseArgumentList('-c "x=1')).toThrow('a " quote is not closed')
    expect(() => parseArgumentList(`"it's`)).toThrow('a " quote is not closed')
    expect(() => parseArgumentList(`"ends with backslash\\"`)).toThrow('a " quote is not closed')
  })

  it('refuses a trailing lone backslash', () => {
    expect(() => parseArgumentList('--json \\')).toThrow('it ends with a lone backslash')
    // Trailing whitespace is trimmed first, so the backslash is still the last character.
    expect(() => parseArgumentList('a b\\  \n')).toThrow('it ends with a lone backslash')
  })
})
