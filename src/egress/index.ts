import * as core from '@actions/core'
import { isIP } from 'node:net'
import path from 'node:path'
import type { Settings } from '../inputs.js'
import type { AgentIdentity } from '../isolation.js'
import { addFirewall, firewallFor, requireFirewall, type DirectDestination, type FirewallState } from './firewall.js'
import { hostRules, type HostRule } from './hosts.js'
import { startEgressProxy } from './proxy.js'

export type NetworkMode = 'allow-list' | 'open' | 'none'

/** What the run's network record says: run.json, the summary and the refused-hosts output. */
export interface NetworkReport {
  mode: NetworkMode
  /** How it was enforced, in one line. */
  enforcement: string
  /** Destinations the proxy refused, as allow-hosts entries, most often refused first. */
  refusedHosts: string[]
  attempts: { allowed: number; refused: number; failed: number }
  /** network.jsonl in the run's output folder, when there was a proxy to write it. */
  logFile?: string
}

export interface Egress {
  /** The variables the agent's environment gets (and the proxy variables it must not inherit). */
  environment: Record<string, string | undefined>
  /** Closes the proxy and finishes network.jsonl; safe to call again. */
  close(): Promise<NetworkReport>
}

// Every proxy variable an agent's tool might read: these are replaced or removed, never inherited.
const PROXY_NAMES = [
  'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy',
  'npm_config_proxy', 'npm_config_https_proxy', 'npm_config_noproxy', 'YARN_HTTP_PROXY', 'YARN_HTTPS_PROXY', 'PIP_PROXY', 'CARGO_HTTP_PROXY', 'NODE_USE_ENV_PROXY'
]
// Loopback stays direct: Codex must reach the model proxy itself, and listed local services are reached without the proxy.
const DIRECT = '127.0.0.1,localhost,::1'

/**
 * Fails before anything is made when the network setting cannot be enforced here: without a
 * separate agent user the kernel cannot tell the agent's packets from the action's.
 */
export function requireEnforceable(network: NetworkMode, identity: Pick<AgentIdentity, 'mode' | 'reason' | 'privilege'>): void {
  if (network === 'open' || (identity.mode === 'user' && identity.privilege)) return
  throw new Error(
    `Input 'network' is '${network}', but the agent cannot run as its own OS user here (${identity.reason}), and only then can the kernel keep it to the allowed hosts. ` +
      "Set 'network: open' to run it without egress limits, or use a runner where the action is root or has passwordless sudo."
  )
}

/**
 * Sets up the agent's network before it starts: under `allow-list` the egress proxy and the kernel
 * rules for the agent's uid (saved through `saveFirewall` before they are added, so the post step
 * can always take them away), under `none` the rules alone, under `open` nothing.
 */
export async function startEgress(
  settings: Pick<Settings, 'network' | 'allowHosts' | 'defaultHosts'>,
  identity: Pick<AgentIdentity, 'mode' | 'uid' | 'privilege'>,
  modelProxyUrl: string,
  output: string,
  redact: (line: string) => string,
  saveFirewall: (firewall: FirewallState) => void
): Promise<Egress> {
  const mode = settings.network
  if (mode === 'open') {
    core.info('Network: open. The agent can reach any host (network: open); nothing is filtered or logged.')
    return fixed({ mode, enforcement: 'none (network: open)', refusedHosts: [], attempts: { allowed: 0, refused: 0, failed: 0 } }, {})
  }
  const { privilege, uid } = identity
  if (!privilege || uid === undefined) throw new Error(`Input 'network' is '${mode}', but the agent has no user of its own to filter.`)
  const firewall = firewallFor(uid)
  await requireFirewall(privilege, firewall.families)
  const rules = mode === 'allow-list' ? hostRules(settings.allowHosts, settings.defaultHosts) : []
  const logFile = path.join(output, 'network.jsonl')
  const proxy = mode === 'allow-list' ? await startEgressProxy({ rules, logFile, redact }) : undefined
  const modelPort = Number(new URL(modelProxyUrl).port)
  const direct: DirectDestination[] = [{ address: '127.0.0.1', port: modelPort }, ...(proxy ? [{ address: '127.0.0.1', port: proxy.port }] : []), ...localServices(rules)]
  saveFirewall(firewall)
  try {
    await addFirewall(privilege, firewall, direct)
  } catch (error) {
    await proxy?.close()
    throw error
  }

  const services = direct.slice(proxy ? 2 : 1).map(({ address, port }) => (isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`))
  const enforcement =
    `the kernel drops every packet of uid ${uid} (${firewall.families.map((family) => (family === 'ipv4' ? 'iptables' : 'ip6tables')).join(' and ')} chain ${firewall.chain}) ` +
    `except TCP to the model proxy (127.0.0.1:${modelPort})` +
    (proxy ? ` and the egress proxy (${proxy.url})` : '') +
    (services.length ? ` and the listed local services ${services.join(', ')}` : '')
  core.info(
    mode === 'allow-list'
      ? `Network: allow-list. ${upperFirst(enforcement)}; the proxy lets through ${describeRules(rules)} and logs every attempt to network.jsonl.`
      : `Network: none. ${upperFirst(enforcement)}: the agent reaches the model and nothing else.`
  )

  let report: Promise<NetworkReport> | undefined
  return {
    environment: proxy ? proxyEnvironment(proxy.url) : Object.fromEntries(PROXY_NAMES.map((name) => [name, undefined])),
    close: () =>
      (report ??= (async () => {
        await proxy?.close()
        return { mode, enforcement, refusedHosts: proxy?.refusedHosts() ?? [], attempts: proxy?.attempts() ?? { allowed: 0, refused: 0, failed: 0 }, logFile: proxy ? logFile : undefined }
      })())
  }
}

/** The agent's environment with the run's proxy settings in place of any it would have inherited. */
export function withEgressEnvironment(env: Record<string, string>, egress: Egress): Record<string, string> {
  const result = { ...env }
  for (const [name, value] of Object.entries(egress.environment)) {
    if (value === undefined) delete result[name]
    else result[name] = value
  }
  return result
}

/**
 * The standard variables (curl, git, pip, Go, cargo, Python requests, npm and most others read
 * these) plus the settings of tools that read only their own: npm, Yarn 2+, pip, cargo, and Node's
 * built-in fetch (Node 24+ with NODE_USE_ENV_PROXY).
 */
function proxyEnvironment(url: string): Record<string, string> {
  const environment: Record<string, string> = {}
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']) {
    environment[name] = url
    environment[name.toLowerCase()] = url
  }
  environment.NO_PROXY = DIRECT
  environment.no_proxy = DIRECT
  Object.assign(environment, {
    npm_config_proxy: url,
    npm_config_https_proxy: url,
    npm_config_noproxy: DIRECT,
    YARN_HTTP_PROXY: url,
    YARN_HTTPS_PROXY: url,
    PIP_PROXY: url,
    CARGO_HTTP_PROXY: url,
    NODE_USE_ENV_PROXY: '1'
  })
  return environment
}

/** Listed destinations on loopback or given as an IP address with a port: reached directly (a service container's port, a database). */
function localServices(rules: HostRule[]): DirectDestination[] {
  const direct: DirectDestination[] = []
  for (const rule of rules) {
    if (rule.source !== 'input' || rule.wildcard || rule.port === undefined) continue
    if (rule.host === 'localhost') direct.push({ address: '127.0.0.1', port: rule.port }, { address: '::1', port: rule.port })
    else if (isIP(rule.host)) direct.push({ address: rule.host, port: rule.port })
  }
  return direct
}

function describeRules(rules: HostRule[]): string {
  if (rules.length === 0) return 'no host'
  const input = rules.filter((rule) => rule.source === 'input').map((rule) => `${rule.wildcard ? '*.' : ''}${rule.host}${rule.port ? `:${rule.port}` : ''}`)
  const defaults = rules.length - input.length
  return [...input, ...(defaults ? [`the ${defaults} default hosts (package registries and GitHub)`] : [])].join(', ')
}

function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

function fixed(report: NetworkReport, environment: Record<string, string | undefined>): Egress {
  return { environment, close: async () => report }
}
