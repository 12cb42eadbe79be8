// Shared by the install stage's unit tests: a fake platform tarball shaped like the real one, a
// throw-away runner environment (tool cache, temp, HOME, GITHUB_PATH) and a record of every HTTP
// exchange nock served. Test code only.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import nock from 'nock'
import { afterEach, beforeEach, expect, vi } from 'vitest'
import { installCodex, type InstallRequest, type InstalledCodex } from '../../../src/install/index.js'

export const run = promisify(execFile)

export const REGISTRY = 'https://registry.npmjs.org'
/** How the registry spells the package in a document URL. */
export const DOC_PREFIX = '/@openai%2fcodex'
/** A version that is not in the integrity table, so the registry document vouches for it. */
export const VERSION = '0.170.0'
/** Short backoff for the tests: the defaults wait a second and more between attempts. */
export const FAST_RETRY = { attempts: 4, firstBackoffMs: 5 }

export const sri = (bytes: Buffer): string => `sha512-${createHash('sha512').update(bytes).digest('base64')}`

export interface FakeTarball {
  bytes: Buffer
  integrity: string
  /** The bytes of `codex-path/rg` inside it, to compare after extraction. */
  rg: Buffer
  /** What the installer must install from it: path under the vendor folder → content and mode. */
  tree: Record<string, { content: Buffer; mode: number }>
}

export interface TarballShape {
  version?: string
  triple?: string
  binaryName?: string
  /** What `codex --version` prints; defaults to `codex-cli <version>`. */
  banner?: string
  /** A shell line the fake `codex` runs first (a poisoned build that leaves a mark when run). */
  payload?: string
}

/**
 * Builds, with the real `tar`, a platform tarball laid out like npm's: `package/package.json`,
 * `package/bin/codex.js` and `package/vendor/<triple>/{bin,codex-path,codex-resources}` with a
 * voice folder the installer must leave out.
 */
export async function buildTarball(workDir: string, shape: TarballShape = {}): Promise<FakeTarball> {
  const version = shape.version ?? VERSION
  const triple = shape.triple ?? 'x86_64-unknown-linux-musl'
  const binaryName = shape.binaryName ?? 'codex'
  const banner = shape.banner ?? `codex-cli ${version}`
  const root = await mkdtemp(path.join(workDir, 'tarball-'))
  const rg = Buffer.from(`#!/bin/sh\necho "ripgrep for ${triple}"\n`)
  const files: Array<[string, string | Buffer, number]> = [
    ['package/package.json', JSON.stringify({ name: '@openai/codex', version }), 0o644],
    ['package/bin/codex.js', '// the npm launcher; not needed by the action\n', 0o644],
    [`package/vendor/${triple}/bin/${binaryName}`, `#!/bin/sh\n${shape.payload ? `${shape.payload}\n` : ''}echo "${banner}"\n`, 0o755],
    [`package/vendor/${triple}/bin/codex-code-mode-host`, '#!/bin/sh\nexit 0\n', 0o755],
    [`package/vendor/${triple}/codex-path/rg`, rg, 0o755],
    [`package/vendor/${triple}/codex-resources/bwrap`, 'bwrap stand-in\n', 0o755],
    [`package/vendor/${triple}/codex-resources/voice/x`, 'voice model stand-in\n', 0o644]
  ]
  for (const [name, content, mode] of files) {
    const file = path.join(root, name)
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(file, content)
    await chmod(file, mode)
  }
  const out = path.join(root, 'codex.tgz')
  await run('tar', ['-czf', out, '-C', root, 'package'])
  const bytes = await readFile(out)
  await rm(root, { recursive: true, force: true })
  const vendor = `package/vendor/${triple}/`
  const tree = Object.fromEntries(
    files
      .filter(([name]) => name.startsWith(vendor) && !name.includes('/voice/'))
      .map(([name, content, mode]) => [name.slice(vendor.length), { content: Buffer.from(content), mode }])
  )
  return { bytes, integrity: sri(bytes), rg, tree }
}

/** The pin-table manifest of a fake tarball's tree, computed here with node:crypto: '<mode> <sha256 hex>' per file. */
export function manifestOf(tarball: FakeTarball): Record<string, string> {
  return Object.fromEntries(
    Object.entries(tarball.tree).map(([name, { content, mode }]) => [name, `${mode.toString(8)} ${createHash('sha256').update(content).digest('hex')}`])
  )
}

export interface RawEntry {
  name: string
  /** ustar type flag: '0' file, '1' hard link, '2' symlink, '3' char device, '5' folder, '6' FIFO. */
  type?: string
  content?: string
  linkname?: string
  mode?: number
  /** The size the header declares, when it is not the content's (a forged header). */
  size?: number
}

/**
 * A gzipped tar written byte by byte, for entries no well-behaved `tar` writes: names with `..` or a
 * leading `/`, links and devices inside the vendor folder, the same name twice.
 */
export function rawTarball(entries: RawEntry[]): FakeTarball {
  const blocks: Buffer[] = []
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? '')
    const header = Buffer.alloc(512)
    const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'utf8')
    const octal = (offset: number, length: number, value: number) => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`)
    field(0, 100, entry.name)
    octal(100, 8, entry.mode ?? 0o755)
    octal(108, 8, 0)
    octal(116, 8, 0)
    octal(124, 12, entry.size ?? content.length)
    octal(136, 12, 0)
    field(148, 8, '        ')
    field(156, 1, entry.type ?? '0')
    field(157, 100, entry.linkname ?? '')
    field(257, 6, 'ustar\0')
    field(263, 2, '00')
    let sum = 0
    for (const byte of header) sum += byte
    field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `)
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  const bytes = gzipSync(Buffer.concat(blocks))
  return { bytes, integrity: sri(bytes), rg: Buffer.alloc(0), tree: {} }
}

/** The registry document of one platform version, as npm serves it. */
export function platformDocument(version: string, npmPlatform: string, dist: Record<string, unknown>): Record<string, unknown> {
  return { name: '@openai/codex', version: `${version}-${npmPlatform}`, dist }
}

export const tarballPath = (version: string, npmPlatform: string): string => `/@openai/codex/-/codex-${version}-${npmPlatform}.tgz`

/* ------------------------------------------------------------------------- */

export interface Exchange {
  origin: string
  path: string
  headers: Record<string, string | string[] | undefined>
  /** performance.now() when nock answered it. */
  at: number
}

/** Every request nock answered, in order, with the headers it carried. */
export class HttpLog {
  readonly exchanges: Exchange[] = []

  record(origin: string, req: { path: string; headers: Record<string, string | string[] | undefined> }): void {
    this.exchanges.push({ origin, path: req.path, headers: { ...req.headers }, at: performance.now() })
  }

  count(pathPart: string): number {
    return this.exchanges.filter((e) => e.path.includes(pathPart)).length
  }

  to(origin: string): Exchange[] {
    return this.exchanges.filter((e) => e.origin === origin)
  }
}

/* ------------------------------------------------------------------------- */

export interface RunnerDirs {
  root: string
  toolCache: string
  temp: string
  home: string
  workspace: string
  githubPath: string
}

/**
 * A fresh runner environment in a temp directory. `restore()` puts process.env back exactly
 * (PATH included: the installer adds its bin folder) and removes the directory.
 */
export async function fakeRunner(extraEnv: Record<string, string> = {}): Promise<RunnerDirs & { restore(): Promise<void> }> {
  const saved = { ...process.env }
  const root = await mkdtemp(path.join(os.tmpdir(), 'codex-install-test-'))
  const dirs: RunnerDirs = {
    root,
    toolCache: path.join(root, 'tool-cache'),
    temp: path.join(root, 'runner-temp'),
    home: path.join(root, 'home'),
    workspace: path.join(root, 'workspace'),
    githubPath: path.join(root, 'github-path')
  }
  for (const dir of [dirs.toolCache, dirs.temp, dirs.home, dirs.workspace]) await mkdir(dir, { recursive: true })
  await writeFile(dirs.githubPath, '')
  // Nothing from the machine running the tests may steer the installer: no proxy, no cache service.
  for (const name of Object.keys(process.env)) {
    if (/^(https?_proxy|no_proxy|ACTIONS_|GITHUB_|RUNNER_)/i.test(name)) delete process.env[name]
  }
  Object.assign(process.env, {
    RUNNER_TOOL_CACHE: dirs.toolCache,
    RUNNER_TEMP: dirs.temp,
    HOME: dirs.home,
    GITHUB_WORKSPACE: dirs.workspace,
    GITHUB_PATH: dirs.githubPath,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    ...extraEnv
  })
  return {
    ...dirs,
    async restore() {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name]
      Object.assign(process.env, saved)
      await rm(root, { recursive: true, force: true })
    }
  }
}

/** Every file and folder under `dir`, relative and sorted; [] when it does not exist. */
export async function listTree(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true })
    return entries.map((e) => e.split(path.sep).join('/')).sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

/**
 * Captures what @actions/core prints (`::warning::`, `::notice::`, info lines) instead of letting
 * it reach the test output. Returns the lines seen so far on demand.
 */
export function captureStdout(): { lines(): string[]; dump(): void; restore(): void } {
  const chunks: string[] = []
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
    return true
  }) as typeof process.stdout.write)
  return {
    lines: () => chunks.join('').split(/\r?\n/).filter(Boolean),
    /** For a failed test: what the installer printed, on stderr. */
    dump: () => process.stderr.write(`--- installer output ---\n${chunks.join('')}--- end ---\n`),
    restore: () => spy.mockRestore()
  }
}

/**
 * Requests nock saw but no interceptor matched (with net connect off, each also failed), by host.
 * Loopback requests (the fake results service, let through on purpose) are left out.
 */
export function countUnmatched(): { count(): number; hosts(): string[]; stop(): void } {
  const hosts: string[] = []
  const listener = (request: { hostname?: string; host?: string; getHeader?: (name: string) => unknown }) => {
    const host = String(request?.hostname ?? request?.getHeader?.('host') ?? request?.host ?? '?')
    if (!/^127\.0\.0\.1(:|$)/.test(host)) hosts.push(host)
  }
  nock.emitter.on('no match', listener)
  return { count: () => hosts.length, hosts: () => [...hosts], stop: () => nock.emitter.removeListener('no match', listener) }
}

/* ------------------------------------------------------------------------- */

export interface ReplySpec {
  status: number
  /** A value, or a factory for a fresh body per request (streams are single-use). */
  body?: nock.ReplyBody | (() => Readable)
  headers?: Record<string, string>
}

/** One interceptor per reply, consumed in order; each request is recorded in `log` with its headers. */
export function serve(log: HttpLog, origin: string, urlPath: string, replies: ReplySpec | ReplySpec[], options?: nock.Options): nock.Scope {
  const scope = nock(origin, options)
  for (const spec of Array.isArray(replies) ? replies : [replies]) {
    scope.get(urlPath).reply(function () {
      log.record(origin, this.req)
      const body = typeof spec.body === 'function' ? spec.body() : spec.body
      return [spec.status, (body ?? '') as nock.ReplyBody, spec.headers ?? {}]
    })
  }
  return scope
}

/**
 * A body that announces all of `bytes` in Content-Length, sends the first `sent` of them and
 * then breaks: the client sees part of the file and then an aborted response.
 */
export function cutAfter(bytes: Buffer, sent: number): ReplySpec {
  return {
    status: 200,
    headers: { 'content-length': String(bytes.length) },
    body: () => {
      const stream = new Readable({ read() {} })
      stream.on('error', () => {})
      stream.push(bytes.subarray(0, sent))
      // Breaking it at once (before nock listens) hangs nock 14; a short delay is a real mid-transfer cut.
      setTimeout(() => stream.destroy(new Error('connection reset by the test')), 20)
      return stream
    }
  }
}

/**
 * installCodex, then wait for its background cache save (and tarball removal) to settle, so a
 * test sees the finished state; returns what it installed without the pending promise.
 */
export async function installSettled(request: InstallRequest): Promise<Omit<InstalledCodex, 'cacheSaved'>> {
  const { cacheSaved, ...codex } = await installCodex(request)
  await cacheSaved
  return codex
}

export interface InstallSandbox {
  /** This test's runner folders and environment. */
  readonly runner: RunnerDirs & { restore(): Promise<void> }
  /** The installer's output, printed only when the test fails. */
  readonly stdout: ReturnType<typeof captureStdout>
  /** Every HTTP exchange the test's interceptors answered. */
  readonly log: HttpLog
}

/**
 * The hooks every installer test file shares: a fresh fake runner, captured output and a real
 * network that is closed (loopback too, unless `loopback`), and afterwards the checks that every
 * interceptor was used and no request went unanswered.
 */
export function useInstallSandbox(options: { env?: () => Record<string, string>; loopback?: boolean } = {}): InstallSandbox {
  const box = {} as { runner: InstallSandbox['runner']; stdout: InstallSandbox['stdout']; log: HttpLog; strays: ReturnType<typeof countUnmatched> }
  beforeEach(async ({ onTestFailed }) => {
    box.runner = await fakeRunner(options.env?.())
    box.stdout = captureStdout()
    onTestFailed(() => box.stdout.dump())
    box.strays = countUnmatched()
    box.log = new HttpLog()
    nock.disableNetConnect()
    if (options.loopback) nock.enableNetConnect((host: string) => host.startsWith('127.0.0.1:'))
  })
  afterEach(async () => {
    box.stdout.restore()
    const strayHosts = box.strays.hosts()
    box.strays.stop()
    const pending = nock.pendingMocks()
    nock.cleanAll()
    nock.enableNetConnect()
    await box.runner.restore()
    // An interceptor a test declared but never used, or a request none answered, is a test bug.
    expect(pending).toEqual([])
    expect(strayHosts).toEqual([])
  })
  return box
}
