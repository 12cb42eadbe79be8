import type { Usage } from './model-proxy.js'

/** USD per 1M tokens. `cached_input` is what an input token served from the prompt cache costs. */
export interface ModelPrice {
  input: number
  cached_input: number
  output: number
}

export interface CostEstimate {
  model: string
  estimatedUsd: number
  source: 'built-in' | 'model-prices'
}

// USD per 1M tokens, standard (not batch or priority) tier. Taken on 2026-12-01 from copies of OpenAI's pricing page
// (https://openai.com/api/pricing) at morphllm.com/openai-api-pricing (June 2026: gpt-5.5, gpt-5.4 family) and
// nicolalazzari.ai/articles/openai-api-pricing-explained-2026 (gpt-5.2, gpt-5-mini); gpt-5 is its launch price.
// Prices change and gateways bill their own way: `model-prices` overrides or extends this table.
export const BUILT_IN_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-5.5': { input: 5, cached_input: 0.5, output: 30 },
  'gpt-5.4': { input: 2.5, cached_input: 0.25, output: 15 },
  'gpt-5.4-mini': { input: 0.75, cached_input: 0.075, output: 4.5 },
  'gpt-5.4-nano': { input: 0.2, cached_input: 0.02, output: 1.25 },
  'gpt-5.2': { input: 1.75, cached_input: 0.175, output: 14 },
  'gpt-5': { input: 1.25, cached_input: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cached_input: 0.025, output: 2 }
}

/**
 * What the run's tokens cost at list price, where the model's price is known: the user's `model-prices` first, then the
 * built-in table. A dated snapshot (`gpt-5.4-2026-03-05`) is priced as its model. Reasoning tokens are output tokens.
 */
export function estimateCost(model: string | undefined, usage: Usage, overrides: Record<string, ModelPrice> = {}): CostEstimate | undefined {
  if (!model) return undefined
  const names = [model, model.replace(/-\d{4}-\d{2}-\d{2}$/, '')]
  const override = names.find((name) => Object.hasOwn(overrides, name))
  const builtIn = names.find((name) => Object.hasOwn(BUILT_IN_PRICES, name))
  const price = override ? overrides[override] : builtIn ? BUILT_IN_PRICES[builtIn] : undefined
  if (!price) return undefined
  const source = override ? 'model-prices' : 'built-in'
  const cached = Math.min(usage.cached_input_tokens, usage.input_tokens)
  const usd = ((usage.input_tokens - cached) * price.input + cached * price.cached_input + usage.output_tokens * price.output) / 1_000_000
  // To the hundredth of a cent: an estimate, not an invoice.
  return { model, estimatedUsd: Math.round(usd * 10_000) / 10_000, source }
}
