import type { NetworkReport } from './index.js'

const SHOWN_REFUSALS = 50

/** The job summary's network part, as HTML: what was enforced, and the hosts that were refused, ready to paste into allow-hosts. */
export function networkSummary(network: NetworkReport): string {
  const html = `<h3>Network</h3>\nnetwork: ${network.mode}; ${network.attempts.allowed} connections allowed, ${network.attempts.refused} refused, ${network.attempts.failed} failed.\n`
  if (network.refusedHosts.length === 0) return html
  // Host names are the agent's choice: only the characters of a host rule are kept, shown as text in a code block.
  const shown = network.refusedHosts.slice(0, SHOWN_REFUSALS).map((host) => host.replace(/[^\w.:[\]*-]/g, '?'))
  const more = network.refusedHosts.length > SHOWN_REFUSALS ? `\n# and ${network.refusedHosts.length - SHOWN_REFUSALS} more in network.jsonl` : ''
  return `${html}\nRefused (add the ones the job needs to <code>allow-hosts</code>):\n\n<pre lang="text"><code>${shown.join('\n')}${more}</code></pre>\n`
}
