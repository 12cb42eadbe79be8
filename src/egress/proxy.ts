import { createWriteStream, type WriteStream } from 'node:fs'
import { lookup } from 'node:dns/promises'
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { BlockList, connect, isIP, type AddressInfo, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { asAllowEntry, isHostName, matchingRules, normalizeHost, type HostRule } from './hosts.js'

/** One line of network.jsonl: a connection the agent tried through the egress proxy. */
export interface Attempt {
  time: string
  /** `connect` for a CONNECT tunnel (HTTPS and anything else), `http` for a plain-HTTP request. */
  kind: 'connect' | 'http'
  method: string
  host: string
  port: number
  /** `allowed`: it went through; `refused`: the proxy said no; `failed`: allowed, but the host could not be reached. */
  decision: 'allowed' | 'refused' | 'failed'
  reason?: string
  address?: string
  status?: number
  bytesOut: number
  bytesIn: number
  durationMs: number
}

export interface EgressProxyOptions {
  rules: HostRule[]
  /** Where each attempt is appended as one JSON line. */
  logFile: string
  /** Applied to each line before it is written (the run's redactor). */
  redact?: (line: string) => string
  /** Name resolution; the system resolver unless a unit test stands in for it. */
  resolve?: (host: string) => Promise<string[]>
  connectTimeoutMs?: number
}

export interface EgressProxy {
  /** http://127.0.0.1:<port>, what the agent's proxy variables name. */
  url: string
  port: number
  /** Refused destinations as allow-hosts entries, most often refused first. */
  refusedHosts(): string[]
  attempts(): { allowed: number; refused: number; failed: number }
  close(): Promise<void>
}

// Addresses a public name has no business resolving to: this machine, the runner's networks, cloud metadata.
const SPECIAL = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]
] as const) SPECIAL.addSubnet(network, prefix, 'ipv4')
for (const [network, prefix] of [['::', 127], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32]] as const) SPECIAL.addSubnet(network, prefix, 'ipv6')

export function isSpecialAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
  if (mapped) return SPECIAL.check(mapped, 'ipv4')
  return SPECIAL.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
}

// The agent decides how many attempts it makes: past these, attempts are still counted but no longer written or kept.
const LOGGED_ATTEMPTS = 100_000
const KEPT_REFUSALS = 1_000

// Headers meant for the proxy or one hop, never forwarded.
const HOP_BY_HOP = new Set(['proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

/**
 * The agent's only way out under `network: allow-list`: an HTTP proxy on 127.0.0.1 (CONNECT tunnels
 * and plain-HTTP requests) that lets through only the listed hosts, resolves them itself and
 * connects to the address it checked, so a name that resolves to this machine, a private network
 * or the metadata service gets nowhere unless the user named that host exactly.
 */
export async function startEgressProxy(options: EgressProxyOptions): Promise<EgressProxy> {
  const resolve = options.resolve ?? (async (host: string) => (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address))
  const redact = options.redact ?? ((line: string) => line)
  const log: WriteStream = createWriteStream(options.logFile, { flags: 'a', mode: 0o644 })
  const refused = new Map<string, number>()
  const counts = { allowed: 0, refused: 0, failed: 0 }
  const open = new Set<Duplex>()
  // Attempts still in progress: close() records each of them before the log ends, with the bytes so far.
  const unfinished = new Set<() => void>()

  function record(attempt: Omit<Attempt, 'time' | 'durationMs'>, started: number): void {
    counts[attempt.decision]++
    if (attempt.decision === 'refused') {
      const entry = asAllowEntry(attempt.host, attempt.port)
      if (refused.has(entry) || refused.size < KEPT_REFUSALS) refused.set(entry, (refused.get(entry) ?? 0) + 1)
    }
    const logged = counts.allowed + counts.refused + counts.failed
    if (log.writableEnded || logged > LOGGED_ATTEMPTS + 1) return
    const line = logged > LOGGED_ATTEMPTS ? { time: new Date().toISOString(), truncated: `more than ${LOGGED_ATTEMPTS} attempts; later ones are only counted in run.json` } : { time: new Date(started).toISOString(), ...attempt, durationMs: Date.now() - started }
    log.write(redact(JSON.stringify(line)) + '\n')
  }

  /** Where `host:port` may be reached, or why not. */
  async function decide(host: string, port: number): Promise<{ addresses: string[] } | { reason: string }> {
    const name = normalizeHost(host)
    if (!name || !Number.isInteger(port) || port < 1 || port > 65535) return { reason: 'not a host and port' }
    if (!isHostName(name)) return { reason: 'not a host name' }
    const rules = matchingRules(options.rules, name, port)
    if (rules.length === 0) return { reason: 'not on the allow-list' }
    // A special address is reachable only through a rule the user wrote for exactly this host.
    const exact = rules.some((rule) => rule.source === 'input' && !rule.wildcard)
    let addresses: string[]
    try {
      addresses = isIP(name) ? [name] : await resolve(name)
    } catch (error) {
      return { reason: `could not be resolved (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` }
    }
    const usable = exact ? addresses : addresses.filter((address) => !isSpecialAddress(address))
    if (usable.length === 0) return { reason: `resolves only to private, loopback or link-local addresses (${addresses.join(', ')}), which only an exact allow-hosts entry opens` }
    return { addresses: usable }
  }

  function track(stream: Duplex): void {
    open.add(stream)
    stream.once('close', () => open.delete(stream))
  }

  const server: Server = createServer((request, response) => void forwardHttp(request, response))
  server.on('connect', (request: IncomingMessage, client: Duplex, head: Buffer) => void tunnel(request, client, head))
  // WebSocket and other upgrades over plain HTTP are not relayed: the agent can use a CONNECT tunnel.
  server.on('upgrade', (request: IncomingMessage, client: Duplex) => {
    const target = URL.canParse(request.url ?? '') ? new URL(request.url ?? '') : undefined
    record({ kind: 'http', method: request.method ?? 'GET', host: normalizeHost(target?.hostname ?? ''), port: Number(target?.port || 80), decision: 'refused', reason: 'an upgrade, which is not relayed (use CONNECT)', status: 501, bytesOut: 0, bytesIn: 0 }, Date.now())
    client.end('HTTP/1.1 501 Not Implemented\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
  })
  // A request the HTTP parser cannot read is refused too, and says so in the log.
  server.on('clientError', (error: Error, client: Duplex) => {
    record({ kind: 'http', method: '', host: '', port: 0, decision: 'refused', reason: `not a readable HTTP request (${error.message})`, status: 400, bytesOut: 0, bytesIn: 0 }, Date.now())
    if (client.writable) client.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    else client.destroy()
  })
  server.on('connection', track)

  async function tunnel(request: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const started = Date.now()
    const target = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(request.url ?? '')
    const host = normalizeHost(target?.[1] ?? request.url ?? '')
    const port = Number(target?.[2])
    client.on('error', () => undefined)
    const verdict = await decide(host, port)
    if ('reason' in verdict) {
      record({ kind: 'connect', method: 'CONNECT', host, port, decision: 'refused', reason: verdict.reason, status: 403, bytesOut: 0, bytesIn: 0 }, started)
      return void client.end(refusal(403, `codex-action egress proxy: ${asAllowEntry(host, port)} ${verdict.reason}.`))
    }
    let upstream: Socket
    let address: string
    try {
      ;({ socket: upstream, address } = await connectFirst(verdict.addresses, port, options.connectTimeoutMs ?? 10_000))
    } catch (error) {
      record({ kind: 'connect', method: 'CONNECT', host, port, decision: 'failed', reason: (error as Error).message, status: 502, bytesOut: 0, bytesIn: 0 }, started)
      return void client.end(refusal(502, `codex-action egress proxy: ${asAllowEntry(host, port)} could not be reached (${(error as Error).message}).`))
    }
    track(upstream)
    let bytesOut = head.length
    let bytesIn = 0
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    if (head.length) upstream.write(head)
    client.on('data', (chunk: Buffer) => (bytesOut += chunk.length))
    upstream.on('data', (chunk: Buffer) => (bytesIn += chunk.length))
    client.pipe(upstream)
    upstream.pipe(client)
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      unfinished.delete(finish)
      client.destroy()
      upstream.destroy()
      record({ kind: 'connect', method: 'CONNECT', host, port, decision: 'allowed', address, status: 200, bytesOut, bytesIn }, started)
    }
    unfinished.add(finish)
    upstream.on('error', finish).on('close', finish)
    client.on('close', finish)
  }

  async function forwardHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = Date.now()
    const method = request.method ?? 'GET'
    let url: URL | undefined
    try {
      url = new URL(request.url ?? '')
    } catch {
      url = undefined
    }
    if (!url || url.protocol !== 'http:') {
      request.resume()
      record({ kind: 'http', method, host: url?.hostname ?? '', port: Number(url?.port || 0), decision: 'refused', reason: 'not an absolute http:// URL', status: 400, bytesOut: 0, bytesIn: 0 }, started)
      return void response.writeHead(400, { 'content-type': 'text/plain' }).end('codex-action egress proxy: send absolute http:// URLs, or CONNECT for anything else.\n')
    }
    const host = normalizeHost(url.hostname)
    const port = Number(url.port || 80)
    const verdict = await decide(host, port)
    if ('reason' in verdict) {
      request.resume()
      record({ kind: 'http', method, host, port, decision: 'refused', reason: verdict.reason, status: 403, bytesOut: 0, bytesIn: 0 }, started)
      return void response.writeHead(403, { 'content-type': 'text/plain' }).end(`codex-action egress proxy: ${asAllowEntry(host, port)} ${verdict.reason}.\n`)
    }
    const headers: Record<string, string | string[]> = {}
    for (const [name, value] of Object.entries(request.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value
    // An absolute-form request names its host in the URL, which wins over any Host header (RFC 9112 3.2.2).
    headers.host = url.host
    let bytesOut = 0
    let bytesIn = 0
    const address = verdict.addresses[0] as string
    const upstream = httpRequest({ host: address, port, method, path: `${url.pathname}${url.search}`, headers, setHost: false, timeout: options.connectTimeoutMs ?? 10_000 })
    request.on('data', (chunk: Buffer) => (bytesOut += chunk.length))
    upstream.on('socket', track)
    let recorded = false
    const finish = (decision: 'allowed' | 'failed', status: number, reason?: string): void => {
      if (recorded) return
      recorded = true
      unfinished.delete(stillOpen)
      record({ kind: 'http', method, host, port, decision, reason, address, status, bytesOut, bytesIn }, started)
    }
    const stillOpen = (): void => finish('allowed', response.headersSent ? response.statusCode : 0, 'still open when the agent was stopped')
    unfinished.add(stillOpen)
    upstream.on('response', (answer) => {
      const answerHeaders: Record<string, string | string[]> = {}
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) answerHeaders[name] = value
      response.writeHead(answer.statusCode ?? 502, answerHeaders)
      answer.on('data', (chunk: Buffer) => (bytesIn += chunk.length))
      answer.pipe(response)
      answer.on('end', () => finish('allowed', answer.statusCode ?? 502))
      answer.on('error', () => finish('allowed', answer.statusCode ?? 502))
      response.on('close', () => finish('allowed', answer.statusCode ?? 502))
    })
    upstream.on('timeout', () => upstream.destroy(new Error('timed out')))
    upstream.on('error', (error) => {
      finish('failed', 502, error.message)
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' }).end(`codex-action egress proxy: ${asAllowEntry(host, port)} could not be reached (${error.message}).\n`)
      else response.destroy()
    })
    request.pipe(upstream)
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolveListen())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    refusedHosts: () => [...refused.entries()].sort((a, b) => b[1] - a[1]).map(([entry]) => entry),
    attempts: () => ({ ...counts }),
    close: async () => {
      for (const record of [...unfinished]) record()
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose())
        for (const stream of open) stream.destroy()
      })
      // Tunnels record themselves as they close: let those lines in before the log ends.
      await new Promise((resolveTick) => setImmediate(resolveTick))
      await new Promise<void>((resolveEnd) => log.end(() => resolveEnd()))
    }
  }
}

function refusal(status: 403 | 502, message: string): string {
  const reason = status === 403 ? 'Forbidden' : 'Bad Gateway'
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(message) + 1}\r\nconnection: close\r\n\r\n${message}\n`
}

/** Connects to the first address that answers, in order. */
async function connectFirst(addresses: string[], port: number, timeoutMs: number): Promise<{ socket: Socket; address: string }> {
  let last: Error = new Error('no address')
  for (const address of addresses) {
    try {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const socket = connect({ host: address, port, timeout: timeoutMs })
        socket.once('connect', () => {
          socket.setTimeout(0)
          resolve(socket)
        })
        socket.once('timeout', () => socket.destroy(new Error('timed out')))
        socket.once('error', reject)
      })
      return { socket, address }
    } catch (error) {
      last = error as Error
    }
  }
  throw last
}
