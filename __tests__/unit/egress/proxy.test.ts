import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { asAllowEntry, hostRules, matchingRules, parseHostRule } from '../../../src/egress/hosts.js'
import { isSpecialAddress, startEgressProxy, type Attempt, type EgressProxy } from '../../../src/egress/proxy.js'

describe('allow-hosts entries', () => {
  it('reads names, wildcards, ports and IP literals', () => {
    expect(parseHostRule('Example.COM.')).toEqual({ host: 'example.com', wildcard: false, port: undefined, source: 'input' })
    expect(parseHostRule('*.example.com:8443')).toEqual({ host: 'example.com', wildcard: true, port: 8443, source: 'input' })
    expect(parseHostRule('localhost:5432')).toMatchObject({ host: 'localhost', port: 5432 })
    expect(parseHostRule('10.0.0.5:5432')).toMatchObject({ host: '10.0.0.5', port: 5432 })
    expect(parseHostRule('[::1]:5432')).toMatchObject({ host: '::1', port: 5432 })
    for (const bad of ['http://example.com', 'exa mple.com', '*example.com', 'a.*.com', 'example.com:0', 'example.com:99999', '[example.com]:1', '']) {
      expect(() => parseHostRule(bad), bad).toThrow(/optional ':port'|outside 1-65535/)
    }
  })

  it('matches a wildcard on subdomains only, and a rule without a port on 80 and 443 only', () => {
    const rules = hostRules(['*.example.com', 'api.test:8080'], false)
    expect(matchingRules(rules, 'a.b.example.com', 443)).toHaveLength(1)
    expect(matchingRules(rules, 'example.com', 443)).toHaveLength(0)
    expect(matchingRules(rules, 'evilexample.com', 443)).toHaveLength(0)
    expect(matchingRules(rules, 'a.example.com', 22)).toHaveLength(0)
    expect(matchingRules(rules, 'API.test.', 8080)).toHaveLength(1)
    expect(matchingRules(rules, 'api.test', 443)).toHaveLength(0)
    expect(matchingRules(hostRules([], true), 'registry.npmjs.org', 443)).toHaveLength(1)
    expect(matchingRules(hostRules([], false), 'registry.npmjs.org', 443)).toHaveLength(0)
    expect(asAllowEntry('Example.com', 443)).toBe('example.com')
    expect(asAllowEntry('::1', 5432)).toBe('[::1]:5432')
  })

  it('knows loopback, private, link-local and metadata addresses, mapped ones too', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.100.100.200', '::1', 'fd00:ec2::254', 'fe80::1', '::ffff:169.254.169.254', '0.0.0.0']) {
      expect(isSpecialAddress(address), address).toBe(true)
    }
    for (const address of ['140.82.112.3', '104.16.0.1', '2606:4700::1111']) expect(isSpecialAddress(address), address).toBe(false)
  })
})

describe('the egress proxy', () => {
  let folder: string
  let origin: Server
  let originPort: number
  let proxy: EgressProxy | undefined
  const hits: string[] = []
  // Test names stand for public hosts; all of them are served by one local server.
  const names: Record<string, string[]> = {
    'allowed.test': ['127.0.0.1'],
    'refused.test': ['127.0.0.1'],
    'sneaky.wild.test': ['169.254.169.254', '127.0.0.1'],
    'public.wild.test': ['127.0.0.1']
  }

  beforeEach(async () => {
    folder = mkdtempSync(path.join(os.tmpdir(), 'egress-proxy-'))
    hits.length = 0
    origin = createServer((req, res) => {
      hits.push(`${req.method} ${req.headers.host} ${req.url} ${req.headers['proxy-authorization'] ?? ''}`)
      req.resume()
      req.on('end', () => res.end('hello from origin'))
    })
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
    originPort = (origin.address() as AddressInfo).port
  })

  afterEach(async () => {
    await proxy?.close()
    proxy = undefined
    await new Promise((resolve) => origin.close(resolve))
    rmSync(folder, { recursive: true, force: true })
  })

  async function start(allowHosts: string[]): Promise<EgressProxy> {
    proxy = await startEgressProxy({
      rules: hostRules(allowHosts, false),
      logFile: path.join(folder, 'network.jsonl'),
      resolve: async (host) => {
        const found = names[host]
        if (!found) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
        return found
      }
    })
    return proxy
  }

  function viaProxy(target: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxy?.port, method, path: target, headers: { 'proxy-authorization': 'Basic c2VjcmV0' } }, (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  /** Opens a CONNECT tunnel and, when it is granted, sends one HTTP request through it. */
  function throughTunnel(authority: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const socket = connect(proxy?.port as number, '127.0.0.1')
      let text = ''
      socket.on('connect', () => socket.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n\r\n`))
      socket.on('data', (chunk: Buffer) => {
        text += chunk
        if (text.startsWith('HTTP/1.1 200') && text.endsWith('\r\n\r\n')) socket.write(`GET /tunnelled HTTP/1.1\r\nhost: ${authority}\r\nconnection: close\r\n\r\n`)
      })
      socket.on('error', reject)
      socket.on('close', () => resolve({ status: Number(text.slice(9, 12)), text }))
    })
  }

  async function log(): Promise<Attempt[]> {
    await proxy?.close()
    proxy = undefined
    return readFileSync(path.join(folder, 'network.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Attempt)
  }

  it('forwards plain HTTP and CONNECT to a listed host and logs both with their bytes', async () => {
    await start([`allowed.test:${originPort}`])
    const plain = await viaProxy(`http://allowed.test:${originPort}/plain?q=1`, 'POST', 'payload')
    expect(plain).toEqual({ status: 200, body: 'hello from origin' })
    const tunnelled = await throughTunnel(`allowed.test:${originPort}`)
    expect(tunnelled.text).toContain('hello from origin')
    // The proxy's own credentials header never goes upstream.
    expect(hits).toEqual([`POST allowed.test:${originPort} /plain?q=1 `, `GET allowed.test:${originPort} /tunnelled `])
    const attempts = await log()
    expect(attempts).toMatchObject([
      { kind: 'http', method: 'POST', host: 'allowed.test', port: originPort, decision: 'allowed', address: '127.0.0.1', status: 200, bytesOut: 7, bytesIn: 17 },
      { kind: 'connect', method: 'CONNECT', host: 'allowed.test', port: originPort, decision: 'allowed', address: '127.0.0.1', status: 200 }
    ])
    expect(attempts[1]?.bytesIn).toBeGreaterThan(17)
  })

  it('refuses a host that is not listed, or listed on another port, with 403, and names it as an allow-hosts entry', async () => {
    await start([`allowed.test:${originPort}`, 'refused.test:1'])
    expect(await viaProxy(`http://refused.test:${originPort}/`)).toMatchObject({ status: 403, body: expect.stringContaining('not on the allow-list') })
    expect((await throughTunnel(`refused.test:${originPort}`)).status).toBe(403)
    expect((await throughTunnel('refused.test:443')).status).toBe(403)
    expect(hits).toEqual([])
    expect(proxy?.refusedHosts()).toEqual([`refused.test:${originPort}`, 'refused.test'])
    expect(proxy?.attempts()).toEqual({ allowed: 0, refused: 3, failed: 0 })
    expect(await log()).toMatchObject([
      { kind: 'http', host: 'refused.test', decision: 'refused', status: 403 },
      { kind: 'connect', host: 'refused.test', decision: 'refused', status: 403 },
      { kind: 'connect', host: 'refused.test', port: 443, decision: 'refused' }
    ])
  })

  it('keeps a wildcard or an unlisted IP away from private, loopback and metadata addresses', async () => {
    await start([`*.wild.test:${originPort}`, '*.wild.test:80'])
    const wild = await throughTunnel(`public.wild.test:${originPort}`)
    expect(wild.status).toBe(403)
    expect(wild.text).toContain('private, loopback or link-local')
    expect((await viaProxy('http://sneaky.wild.test/latest/meta-data/')).status).toBe(403)
    expect((await viaProxy('http://169.254.169.254/latest/meta-data/')).status).toBe(403)
    expect((await throughTunnel(`127.0.0.1:${proxy?.port}`)).status).toBe(403)
    expect(hits).toEqual([])
    const attempts = await log()
    expect(attempts.map((a) => [a.host, a.decision])).toEqual([
      ['public.wild.test', 'refused'],
      ['sneaky.wild.test', 'refused'],
      ['169.254.169.254', 'refused'],
      ['127.0.0.1', 'refused']
    ])
  })

  it('refuses names it cannot resolve, origin-form requests, and logs a listed host that is down as failed', async () => {
    await start(['nowhere.test', `allowed.test:${originPort}`, 'allowed.test:1'])
    expect((await viaProxy('http://nowhere.test/')).body).toContain('could not be resolved (ENOTFOUND)')
    expect((await viaProxy('/not-absolute')).status).toBe(400)
    expect((await throughTunnel('allowed.test:1')).status).toBe(502)
    expect((await log()).map((a) => a.decision)).toEqual(['refused', 'refused', 'failed'])
  })
})
