import { isIP } from 'node:net'
import { DEFAULT_HOSTS } from './default-hosts.js'

/** One allowed destination: a host name, `*.` plus a domain (its subdomains), or an IP address; with a port, or 80 and 443. */
export interface HostRule {
  host: string
  wildcard: boolean
  port?: number
  /** `input`: the user named it in allow-hosts; only such an exact rule lets a name reach a private address. */
  source: 'input' | 'default'
}

const LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?'
const HOST_NAME = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`)
/** Ports a rule without one allows: plain HTTP and HTTPS. */
export const WEB_PORTS = [80, 443]

/** Reads one allow-hosts entry (`example.com`, `*.example.com`, `example.com:8080`, `10.0.0.5:5432`, `[::1]:5432`); throws a message that follows the entry. */
export function parseHostRule(entry: string, source: HostRule['source'] = 'input'): HostRule {
  const text = entry.trim().toLowerCase().replace(/\.(?=(:\d+)?$)/, '')
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(text)
  const [host, portText] = bracketed ? [bracketed[1], bracketed[2]] : (/^([^:]+)(?::(\d{1,5}))?$/.exec(text)?.slice(1) ?? [])
  if (!host || !(HOST_NAME.test(host) || isIP(host)) || (bracketed && isIP(host) !== 6)) throw new Error("which is not a host name, '*.' and a domain, or an IP address, with an optional ':port'")
  const port = portText === undefined ? undefined : Number(portText)
  if (port !== undefined && (port < 1 || port > 65535)) throw new Error('whose port is outside 1-65535')
  const wildcard = host.startsWith('*.')
  return { host: wildcard ? host.slice(2) : host, wildcard, port, source }
}

/** The rules a run allows: the user's entries, then the built-in list unless `default-hosts: false`. */
export function hostRules(allowHosts: string[], defaultHosts: boolean): HostRule[] {
  return [...allowHosts.map((entry) => parseHostRule(entry)), ...(defaultHosts ? DEFAULT_HOSTS.map((entry) => parseHostRule(entry, 'default')) : [])]
}

/** Whether `host` (normalized) can name a host at all: a DNS name or an IP address. */
export function isHostName(host: string): boolean {
  return HOST_NAME.test(host) || isIP(host) !== 0
}

export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '')
}

/** The rules that let `host:port` through, in list order. */
export function matchingRules(rules: HostRule[], host: string, port: number): HostRule[] {
  const name = normalizeHost(host)
  return rules.filter((rule) => (rule.port === undefined ? WEB_PORTS.includes(port) : rule.port === port) && (rule.wildcard ? name.endsWith(`.${rule.host}`) : name === rule.host))
}

/** How a refused destination is written in allow-hosts: the port only when it is not 80 or 443. */
export function asAllowEntry(host: string, port: number): string {
  // The agent chose the name: whatever could not be in a host name is shown as '_', so the entry is never more than text.
  const name = normalizeHost(host).replace(/[^\w.:*-]/g, '_')
  const shown = isIP(name) === 6 ? `[${name}]` : name
  return WEB_PORTS.includes(port) ? shown : `${shown}:${port}`
}
