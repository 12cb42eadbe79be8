import type * as core from '@actions/core'
import type { NetworkReport } from './index.js'

const SHOWN_REFUSALS = 50

/** The job summary's network part: what was enforced, and the hosts that were refused, ready to paste into allow-hosts. */
export function addNetworkSummary(summary: typeof core.summary, network: NetworkReport): void {
  summary.addHeading('Network', 3).addRaw(`network: ${network.mode}; ${network.attempts.allowed} connections allowed, ${network.attempts.refused} refused, ${network.attempts.failed} failed.`, true)
  if (network.refusedHosts.length === 0) return
  // Host names are the agent's choice: shown as text in a code block, never as HTML.
  const shown = network.refusedHosts.slice(0, SHOWN_REFUSALS).map((host) => host.replace(/[^\w.:[\]*-]/g, '?'))
  const more = network.refusedHosts.length > SHOWN_REFUSALS ? `\n# and ${network.refusedHosts.length - SHOWN_REFUSALS} more in network.jsonl` : ''
  summary.addRaw('\nRefused (add the ones the job needs to <code>allow-hosts</code>):\n', true).addCodeBlock(shown.join('\n') + more, 'text')
}
