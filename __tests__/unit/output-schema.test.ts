import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { compileOutputSchema, readStructuredOutput } from '../../src/output-schema.js'

const schema = { type: 'object', properties: { labels: { type: 'array', items: { type: 'string' } }, close: { type: 'boolean' } }, required: ['labels', 'close'], additionalProperties: false }

describe('readStructuredOutput', () => {
  it('returns the JSON when it matches', async () => {
    expect(await readStructuredOutput(schema, '{"labels": ["bug"], "close": false}')).toEqual({ value: { labels: ['bug'], close: false } })
  })

  it('lists every mismatch with where it is', async () => {
    expect((await readStructuredOutput(schema, '{"labels": [1], "extra": true}')).errors).toEqual([
      "/ must have required property 'close'",
      "/ must NOT have additional properties ('extra')",
      '/labels/0 must be string'
    ])
  })

  it('says when the message is not JSON at all', async () => {
    expect((await readStructuredOutput(schema, 'Here is the answer: {"labels": []}')).errors?.[0]).toMatch(/^the final message is not JSON \(/)
  })
})

describe('compileOutputSchema', () => {
  it('takes draft-07 and 2020-12 schemas', async () => {
    expect((await compileOutputSchema({ type: 'object', definitions: { a: { type: 'string' } } }))({})).toBe(true)
    const modern = await compileOutputSchema({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { a: { $ref: '#/$defs/a' } }, $defs: { a: { type: 'string' } } })
    expect(modern({ a: 'x' })).toBe(true)
    expect(modern({ a: 1 })).toBe(false)
  })

  it('throws on a schema that is not valid', async () => {
    await expect(compileOutputSchema({ type: 'object', required: 'a' })).rejects.toThrow(/required must be array/)
  })

  it('never fetches a remote $ref: a schema that needs one is refused, and nothing is asked of the network', async () => {
    let asked = 0
    const server = createServer((_request, response) => {
      asked++
      response.end('{"type":"object"}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const remote = `http://127.0.0.1:${(server.address() as AddressInfo).port}/schema.json`
    try {
      await expect(compileOutputSchema({ type: 'object', properties: { x: { $ref: remote } } })).rejects.toThrow(/can't resolve reference/)
      await expect(compileOutputSchema({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { x: { $ref: remote } } })).rejects.toThrow(/can't resolve reference/)
      // $data is off: a {$data} value is not a pointer into the answer, so the answer cannot set its own bound.
      await expect(compileOutputSchema({ type: 'object', properties: { n: { maximum: { $data: '1/max' } } } })).rejects.toThrow()
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(asked).toBe(0)
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
