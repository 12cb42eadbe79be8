import { describe, expect, it } from 'vitest'
import { BUILT_IN_PRICES, estimateCost } from '../../src/cost.js'
import type { Usage } from '../../src/model-proxy.js'

const usage = (input: number, cached: number, output: number): Usage => ({ requests: 1, input_tokens: input, cached_input_tokens: cached, output_tokens: output, reasoning_output_tokens: 0, total_tokens: input + output })

describe('estimateCost', () => {
  it('prices uncached input, cached input and output at the built-in rates per 1M tokens', () => {
    // gpt-5: 800k uncached × 1.25 + 200k cached × 0.125 + 100k output × 10, per 1M.
    expect(estimateCost('gpt-5', usage(1_000_000, 200_000, 100_000))).toEqual({ model: 'gpt-5', estimatedUsd: 2.025, source: 'built-in' })
  })

  it('prices a dated snapshot as its model', () => {
    expect(estimateCost('gpt-5.4-2026-03-05', usage(1_000_000, 0, 0))).toEqual({ model: 'gpt-5.4-2026-03-05', estimatedUsd: 2.5, source: 'built-in' })
  })

  it('takes model-prices over the built-in table, for a known model and an unknown one', () => {
    const overrides = { 'gpt-5': { input: 2, cached_input: 1, output: 4 }, 'my-gateway-model': { input: 0.5, cached_input: 0.5, output: 1 } }
    expect(estimateCost('gpt-5', usage(1_000_000, 0, 1_000_000), overrides)).toEqual({ model: 'gpt-5', estimatedUsd: 6, source: 'model-prices' })
    expect(estimateCost('my-gateway-model', usage(2_000_000, 0, 0), overrides)?.estimatedUsd).toBe(1)
  })

  it('gives no estimate for an unknown model, no model, or a name that is only a property of every object', () => {
    expect(estimateCost('some-local-model', usage(10, 0, 10))).toBeUndefined()
    expect(estimateCost(undefined, usage(10, 0, 10))).toBeUndefined()
    expect(estimateCost('constructor', usage(10, 0, 10))).toBeUndefined()
    expect(estimateCost('__proto__', usage(10, 0, 10), {})).toBeUndefined()
  })

  it('has a complete, non-negative price for every built-in model', () => {
    for (const [model, price] of Object.entries(BUILT_IN_PRICES)) {
      expect(Object.keys(price).sort(), model).toEqual(['cached_input', 'input', 'output'])
      for (const usd of Object.values(price)) expect(usd, model).toBeGreaterThanOrEqual(0)
      expect(price.cached_input, model).toBeLessThanOrEqual(price.input)
    }
  })
})
