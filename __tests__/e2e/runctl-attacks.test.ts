// Run control against a hostile agent, end to end with the real Codex CLI: the agent reads the per-run model token
// (it is in its own environment by design) and talks to the model proxy itself.
import { afterEach, describe, expect, it } from 'vitest'
import { message, shell } from '../../test-support/responses-server.js'
import { act, scratchRepository, startWorld, type World } from './harness.js'

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

function responsesRequests(world: World): number {
  return world.model.requests.filter((request) => request.method === 'POST' && request.path.split('?')[0].endsWith('/responses')).length
}

// The proxy's address from Codex's config, the token from any process of the agent's uid, then 8 requests at once.
const RACE = [
  `url=$(grep -o 'http://127.0.0.1:[0-9]*/v1' "$CODEX_HOME/config.toml" | head -1)`,
  `token=$(for f in /proc/[0-9]*/environ; do { tr '\\0' '\\n' < "$f"; } 2>/dev/null; done | grep -m1 '^CODEX_ACTION_MODEL_TOKEN=' | cut -d= -f2-)`,
  `for i in 1 2 3 4 5 6 7 8; do curl -s -o /dev/null -w '%{http_code}\\n' -H "authorization: Bearer $token" -H 'content-type: application/json' -d '{"model":"gpt-5.5","input":"more","stream":true}' "$url/responses" & done`,
  'wait'
].join('; ')

describe('the budget against the agent', () => {
  it('max-tokens: the agent sending model requests at once gets no more through than Codex would', async () => {
    // 600 tokens a response: after the first, one more request may start (600 < 1000); after it, none.
    world = await startWorld([
      { output: [shell(RACE)], usage: { input_tokens: 500, output_tokens: 100 } },
      // Each takes a second, as a real model does: the requests sent at once are all in flight together.
      ...Array.from({ length: 8 }, () => ({ output: [message('a free answer')], usage: { input_tokens: 500, output_tokens: 100 }, delayMs: 1000 })),
      { output: [message('done')] }
    ])

    const run = await act(world, scratchRepository(), { inputs: { 'max-tokens': '1000' } })

    const events = world.results.artifacts[0]?.files.get('events.jsonl')?.toString() ?? ''
    // The agent's command did run, found the token and reached the proxy: one answer, seven refusals.
    const answers = /"aggregated_output":"((?:\d{3}\\n){8})"/.exec(events)?.[1].split('\\n').filter(Boolean)
    expect(answers?.sort()).toEqual(['200', '400', '400', '400', '400', '400', '400', '400'])
    expect(responsesRequests(world)).toBe(2)
    expect(run.main.outputs.conclusion).toBe('budget-exceeded')
  })

  it('max-tokens: an answer that never says its usage stops the run, named as such, instead of going uncounted', async () => {
    // The agent's own request (a cut stream here; a background or never-finished request in the world) ends without usage.
    const ask = `url=$(grep -o 'http://127.0.0.1:[0-9]*/v1' "$CODEX_HOME/config.toml" | head -1); token=$(for f in /proc/[0-9]*/environ; do { tr '\\0' '\\n' < "$f"; } 2>/dev/null; done | grep -m1 '^CODEX_ACTION_MODEL_TOKEN=' | cut -d= -f2-); curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $token" -H 'content-type: application/json' -d '{"model":"gpt-5.5","input":"more","stream":true}' "$url/responses"`
    world = await startWorld([
      { output: [shell(ask)], usage: { input_tokens: 50, output_tokens: 50 } },
      { cut: true, output: [message('half an answer')] },
      { output: [message('should never be asked')] }
    ])

    const run = await act(world, scratchRepository(), { inputs: { 'max-tokens': '100000' } })

    expect(responsesRequests(world)).toBe(2)
    expect(run.main.outputs.conclusion).toBe('budget-exceeded')
    const failure = run.main.commands.filter((c) => c.command === 'error').map((c) => c.message).join('\n')
    expect(failure).toContain('The run stopped at max-tokens (100000): a model response ended without saying how many tokens it used, so the limit could no longer be kept (100 tokens counted).')
    const record = JSON.parse(world.results.artifacts[0]?.files.get('run.json')?.toString() ?? '{}')
    expect(record.budget).toEqual({ maxTokens: 100000, exceeded: 'max-tokens', uncounted: true })
  })
})
