import { describe, expect, it } from 'vitest'
import { compileOutputSchema, readStructuredOutput } from '../../src/output-schema.js'

const schema = { type: 'object', properties: { labels: { type: 'array', items: { type: 'string' } }, close: { type: 'boolean' } }, required: ['labels', 'close'], additionalProperties: false }

describe('readStructuredOutput', () => {
  it('returns the JSON when it matches', () => {
    expect(readStructuredOutput(schema, '{"labels": ["bug"], "close": false}')).toEqual({ value: { labels: ['bug'], close: false } })
  })

  it('lists every mismatch with where it is', () => {
    expect(readStructuredOutput(schema, '{"labels": [1], "extra": true}').errors).toEqual([
      "/ must have required property 'close'",
      "/ must NOT have additional properties ('extra')",
      '/labels/0 must be string'
    ])
  })

  it('says when the message is not JSON at all', () => {
    expect(readStructuredOutput(schema, 'Here is the answer: {"labels": []}').errors?.[0]).toMatch(/^the final message is not JSON \(/)
  })
})

describe('compileOutputSchema', () => {
  it('takes draft-07 and 2020-12 schemas', () => {
    expect(compileOutputSchema({ type: 'object', definitions: { a: { type: 'string' } } })({})).toBe(true)
    const modern = compileOutputSchema({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { a: { $ref: '#/$defs/a' } }, $defs: { a: { type: 'string' } } })
    expect(modern({ a: 'x' })).toBe(true)
    expect(modern({ a: 1 })).toBe(false)
  })

  it('throws on a schema that is not valid', () => {
    expect(() => compileOutputSchema({ type: 'object', required: 'a' })).toThrow(/required must be array/)
  })
})
