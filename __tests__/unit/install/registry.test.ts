// The install stage against an npm registry played by nock: the registry document path, the
// integrity table path, retries, refusals and where the registry token may go. Real temp
// directories, the real `tar`, the real tool-cache layout.
// First: nock must patch `http` before @actions/http-client (via src/install) imports it.
import nock from 'nock'
import { existsSync } from 'node:fs'
import { readFile, readdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { InstallRequest } from '../../../src/install/index.js'
import { IntegrityError } from '../../../src/install/integrity.js'
import { DEFAULT_CODEX_VERSION, PINNED_INTEGRITY } from '../../../src/install/pinned.js'
import {
  DOC_PREFIX,
  FAST_RETRY,
  REGISTRY,
  VERSION,
  buildTarball,
  countUnmatched,
  cutAfter,
  fakeRunner,
  listTree,
  platformDocument,
  run,
  serve,
  tarballPath,
  type FakeTarball,
  installSettled,
  rawTarball,
  useInstallSandbox,
  type RawEntry
} from './helpers.js'

const TARBALL_URL = `${REGISTRY}${tarballPath(VERSION, 'linux-x64')}`
const DOC_PATH = `${DOC_PREFIX}/${VERSION}-linux-x64`

const sandbox = useInstallSandbox()
let good: FakeTarball
let other: FakeTarball

const request = (overrides: Partial<InstallRequest> = {}): InstallRequest => ({
  codexVersion: VERSION,
  npmRegistry: REGISTRY,
  cache: false,
  retry: FAST_RETRY,
  ...overrides
})

/** The registry document for VERSION-linux-x64 vouching for `tarball`, and the tarball itself. */
function serveRelease(tarball: FakeTarball, dist: Record<string, unknown> = { integrity: tarball.integrity, tarball: TARBALL_URL }) {
  serve(sandbox.log, REGISTRY, DOC_PATH, { status: 200, body: platformDocument(VERSION, 'linux-x64', dist) })
  serve(sandbox.log, REGISTRY, tarballPath(VERSION, 'linux-x64'), { status: 200, body: tarball.bytes })
}

beforeAll(async () => {
  const scratch = await fakeRunner()
  try {
    good = await buildTarball(scratch.root)
    other = await buildTarball(scratch.root, { banner: 'codex-cli 6.6.6 (tampered)' })
  } finally {
    await scratch.restore()
  }
  expect(good.integrity).not.toBe(other.integrity)
})


/** Checks that nothing unverified is left behind: no tool-cache entry, no tarball in RUNNER_TEMP or ~/.cache. */
async function expectNothingInstalled(): Promise<void> {
  const toolCacheEntries = await listTree(sandbox.runner.toolCache)
  expect(toolCacheEntries.filter((e) => /x64|\.complete$/.test(e))).toEqual([])
  expect(await listTree(sandbox.runner.temp)).toEqual([])
  expect((await listTree(path.join(sandbox.runner.home, '.cache'))).filter((e) => e.endsWith('.tgz'))).toEqual([])
}

describe('install from the registry document path', () => {
  it('cold install: verifies against the registry document, extracts the vendor tree without voice, marks it complete', async () => {
    serveRelease(good)

    const codex = await installSettled(request())

    const target = path.join(sandbox.runner.toolCache, 'codex', VERSION, 'x64')
    expect(codex).toEqual({ binary: path.join(target, 'bin', 'codex'), folder: target, version: VERSION, source: 'registry' })
    const { stdout: banner } = await run(codex.binary, ['--version'])
    expect(banner.trim()).toBe(`codex-cli ${VERSION}`)
    expect(existsSync(`${target}.complete`)).toBe(true)
    // Exactly the vendor tree, stripped of package/vendor/<triple>, without the voice resources.
    expect(await listTree(target)).toEqual([
      'bin',
      'bin/codex',
      'bin/codex-code-mode-host',
      'codex-path',
      'codex-path/rg',
      'codex-resources',
      'codex-resources/bwrap'
    ])
    expect((await readFile(path.join(target, 'codex-path', 'rg'))).equals(good.rg)).toBe(true)
    // No staging folder, no leftover tarball.
    expect(await listTree(path.join(sandbox.runner.toolCache, 'codex', VERSION))).toEqual(expect.arrayContaining(['x64', 'x64.complete']))
    expect((await listTree(path.join(sandbox.runner.toolCache, 'codex', VERSION))).filter((e) => !e.startsWith('x64'))).toEqual([])
    expect(await listTree(sandbox.runner.temp)).toEqual([])
    // The bin folder is on PATH for later steps and for this process.
    expect(await readFile(sandbox.runner.githubPath, 'utf8')).toContain(path.join(target, 'bin'))
    expect(process.env.PATH?.split(path.delimiter)[0]).toBe(path.join(target, 'bin'))
    expect(sandbox.log.exchanges.map((e) => e.path)).toEqual([DOC_PATH, tarballPath(VERSION, 'linux-x64')])
  })

  it('warm install: the tool cache answers with no HTTP request at all', async () => {
    serveRelease(good)
    const first = await installSettled(request())
    expect(first.source).toBe('registry')
    expect(nock.pendingMocks()).toEqual([])
    nock.cleanAll()

    const unmatched = countUnmatched()
    try {
      const second = await installSettled(request())
      expect(second).toEqual({ binary: first.binary, folder: first.folder, version: VERSION, source: 'tool-cache' })
      expect(unmatched.count()).toBe(0)
    } finally {
      unmatched.stop()
    }
    expect(sandbox.log.exchanges).toHaveLength(2)
    const { stdout: banner } = await run(first.binary, ['--version'])
    expect(banner.trim()).toBe(`codex-cli ${VERSION}`)
  })

  it('a tool-cache folder without its .complete marker is not trusted: it is installed again', async () => {
    serveRelease(good)
    await installSettled(request())
    const target = path.join(sandbox.runner.toolCache, 'codex', VERSION, 'x64')
    await rm(`${target}.complete`)
    serveRelease(good)

    const again = await installSettled(request())

    expect(again.source).toBe('registry')
    expect(existsSync(`${target}.complete`)).toBe(true)
    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(2)
  })
})

describe('download faults', () => {
  it('a transfer broken mid-way (reset after part of the body) is retried and then installs', async () => {
    serve(sandbox.log, REGISTRY, DOC_PATH, { status: 200, body: platformDocument(VERSION, 'linux-x64', { integrity: good.integrity, tarball: TARBALL_URL }) })
    serve(sandbox.log, REGISTRY, tarballPath(VERSION, 'linux-x64'), [cutAfter(good.bytes, Math.floor(good.bytes.length / 2)), { status: 200, body: good.bytes }])

    const codex = await installSettled(request())

    expect(codex.source).toBe('registry')
    expect((await run(codex.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${VERSION}`)
    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(2)
    expect(sandbox.log.count(DOC_PATH)).toBe(1)
    expect(sandbox.stdout.lines().some((l) => l.includes(`Download of ${TARBALL_URL} failed`) && l.includes('attempt 2 of 4'))).toBe(true)
    expect(await listTree(sandbox.runner.temp)).toEqual([])
    // The second attempt started from an empty staging folder: the tree is exactly one copy, and no staging is left.
    expect(await listTree(codex.folder)).toEqual(['bin', 'bin/codex', 'bin/codex-code-mode-host', 'codex-path', 'codex-path/rg', 'codex-resources', 'codex-resources/bwrap'])
    expect((await readdir(path.join(sandbox.runner.toolCache, 'codex', VERSION))).sort()).toEqual(['x64', 'x64.complete'])
  })

  it('a transfer that ends early (short of its Content-Length) is retried and then installs', async () => {
    serve(sandbox.log, REGISTRY, DOC_PATH, { status: 200, body: platformDocument(VERSION, 'linux-x64', { integrity: good.integrity, tarball: TARBALL_URL }) })
    serve(sandbox.log, REGISTRY, tarballPath(VERSION, 'linux-x64'), [
      { status: 200, body: good.bytes.subarray(0, 100), headers: { 'content-length': String(good.bytes.length) } },
      { status: 200, body: good.bytes }
    ])

    const codex = await installSettled(request())

    expect(codex.source).toBe('registry')
    expect((await run(codex.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${VERSION}`)
    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(2)
    expect((await readdir(path.join(sandbox.runner.toolCache, 'codex', VERSION))).sort()).toEqual(['x64', 'x64.complete'])
  })

  it('a transfer that stops short on every attempt installs nothing and leaves no staging folder', async () => {
    serve(sandbox.log, REGISTRY, DOC_PATH, { status: 200, body: platformDocument(VERSION, 'linux-x64', { integrity: good.integrity, tarball: TARBALL_URL }) })
    serve(sandbox.log, REGISTRY, tarballPath(VERSION, 'linux-x64'), Array.from({ length: 3 }, () => cutAfter(good.bytes, Math.floor(good.bytes.length / 3))))

    await expect(installSettled(request({ retry: { attempts: 3, firstBackoffMs: 5 } }))).rejects.toThrow()

    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(3)
    await expectNothingInstalled()
    expect(await listTree(path.join(sandbox.runner.toolCache, 'codex'))).toEqual(['0.170.0'])
  })

  it('5xx then success: retried once, installed', async () => {
    serve(sandbox.log, REGISTRY, DOC_PATH, { status: 200, body: platformDocument(VERSION, 'linux-x64', { integrity: good.integrity, tarball: TARBALL_URL }) })
    serve(sandbox.log, REGISTRY, tarballPath(VERSION, 'linux-x64'), [{ status: 503, body: 'busy' }, { status: 200, body: good.bytes }])

    const codex = await installSettled(request())

    expect(codex.source).toBe('registry')
    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(2)
    expect(sandbox.stdout.lines().some((l) => l.includes('HTTP 503'))).toBe(true)
  })

  it('a 5xx that persists stops after the configured attempts, with nothing installed', async () => {
    serve(sandbox.log, REGISTRY, DOC_PATH, { status: 200, body: platformDocument(VERSION, 'linux-x64', { integrity: good.integrity, tarball: TARBALL_URL }) })
    serve(sandbox.log, REGISTRY, tarballPath(VERSION, 'linux-x64'), Array.from({ length: 3 }, () => ({ status: 502, body: 'bad gateway' })))

    await expect(installSettled(request({ retry: { attempts: 3, firstBackoffMs: 5 } }))).rejects.toThrow(`${TARBALL_URL} answered HTTP 502`)

    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(3)
    await expectNothingInstalled()
  })

  it('an unpublished platform (registry document 404) names the version and platform, one request, no retry', async () => {
    serve(sandbox.log, REGISTRY, DOC_PATH, { status: 404, body: { error: 'Not found' } })

    const failure = await installSettled(request()).catch((error: Error) => error)

    expect(failure).toBeInstanceOf(Error)
    expect((failure as Error).message).toContain(`@openai/codex@${VERSION}-linux-x64`)
    expect((failure as Error).message).toContain('not published')
    expect(sandbox.log.exchanges).toHaveLength(1)
    await expectNothingInstalled()
  })

  it('a tarball answering 404 is not retried and names the tarball', async () => {
    serve(sandbox.log, REGISTRY, DOC_PATH, { status: 200, body: platformDocument(VERSION, 'linux-x64', { integrity: good.integrity, tarball: TARBALL_URL }) })
    serve(sandbox.log, REGISTRY, tarballPath(VERSION, 'linux-x64'), { status: 404, body: 'Not found' })

    await expect(installSettled(request())).rejects.toThrow(`codex-${VERSION}-linux-x64.tgz answered HTTP 404`)

    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(1)
    await expectNothingInstalled()
  })
})

describe('integrity', () => {
  it('a pinned version is checked against the integrity table, not the registry; a mismatch is refused, nothing is kept or run', async () => {
    const expected = PINNED_INTEGRITY[DEFAULT_CODEX_VERSION]!['linux-x64']!
    const mark = path.join(sandbox.runner.root, 'poisoned-codex-ran')
    const poisoned = await buildTarball(sandbox.runner.root, { version: DEFAULT_CODEX_VERSION, payload: `touch '${mark}'` })
    serve(sandbox.log, REGISTRY, tarballPath(DEFAULT_CODEX_VERSION, 'linux-x64'), { status: 200, body: poisoned.bytes })

    const failure = await installSettled(request({ codexVersion: DEFAULT_CODEX_VERSION })).catch((error: Error) => error)

    expect(failure).toBeInstanceOf(IntegrityError)
    const message = (failure as Error).message
    expect(message).toContain(expected)
    expect(message).toContain(poisoned.integrity)
    expect(message).toContain('integrity table')
    // The table path never asks the registry what the hash should be.
    expect(sandbox.log.exchanges.map((e) => e.path)).toEqual([tarballPath(DEFAULT_CODEX_VERSION, 'linux-x64')])
    await expectNothingInstalled()
    expect(await listTree(path.join(sandbox.runner.toolCache, 'codex', DEFAULT_CODEX_VERSION))).toEqual([])
    expect(existsSync(mark)).toBe(false)
  })

  it('with cache: true (and no cache service) a refused tarball is not left under ~/.cache either', async () => {
    serve(sandbox.log, REGISTRY, tarballPath(DEFAULT_CODEX_VERSION, 'linux-x64'), { status: 200, body: good.bytes })

    await expect(installSettled(request({ codexVersion: DEFAULT_CODEX_VERSION, cache: true }))).rejects.toBeInstanceOf(IntegrityError)

    expect(await listTree(path.join(sandbox.runner.home, '.cache', 'codex-action'))).toEqual([])
    await expectNothingInstalled()
  })

  it('a non-pinned version whose bytes differ from the registry document is refused naming the registry', async () => {
    serveRelease(other, { integrity: good.integrity, tarball: TARBALL_URL })

    const failure = await installSettled(request()).catch((error: Error) => error)

    expect(failure).toBeInstanceOf(IntegrityError)
    const message = (failure as Error).message
    expect(message).toContain(`Expected ${good.integrity} (from the registry ${REGISTRY})`)
    expect(message).toContain(`got ${other.integrity}`)
    expect(message).not.toContain('integrity table')
    await expectNothingInstalled()
  })

  it.each([
    ['no integrity at all', { shasum: 'da39a3ee5e6b4b0d3255bfef95601890afd80709', tarball: TARBALL_URL }],
    ['a sha1 integrity only', { integrity: 'sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=', tarball: TARBALL_URL }],
    ['a non-string integrity', { integrity: { sha512: 'x' }, tarball: TARBALL_URL }]
  ])('a registry document with %s is refused before any download', async (_label, dist) => {
    serve(sandbox.log, REGISTRY, DOC_PATH, { status: 200, body: platformDocument(VERSION, 'linux-x64', dist) })
    const tarball = serve(sandbox.log, REGISTRY, tarballPath(VERSION, 'linux-x64'), { status: 200, body: good.bytes })

    await expect(installSettled(request())).rejects.toThrow(`publishes no sha512 integrity for @openai/codex@${VERSION}-linux-x64`)

    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(0)
    expect(tarball.isDone()).toBe(false)
    nock.cleanAll()
    await expectNothingInstalled()
  })

  it('a verified tarball that lacks the platform vendor tree fails to unpack and leaves nothing behind', async () => {
    const wrongPlatform = await buildTarball(sandbox.runner.root, { triple: 'aarch64-unknown-linux-musl' })
    serveRelease(wrongPlatform)

    await expect(installSettled(request({ cache: true }))).rejects.toThrow(`Could not unpack the Codex ${VERSION} tarball`)

    const versionRoot = path.join(sandbox.runner.toolCache, 'codex', VERSION)
    expect(await listTree(versionRoot)).toEqual([])
    expect(await listTree(sandbox.runner.temp)).toEqual([])
    expect(await listTree(path.join(sandbox.runner.home, '.cache', 'codex-action'))).toEqual([])
  })
})

describe('the streaming unpack refuses what a Codex tarball never holds', () => {
  const vendor = 'package/vendor/x86_64-unknown-linux-musl'
  const binary: RawEntry = { name: `${vendor}/bin/codex`, content: '#!/bin/sh\necho codex-cli 0.170.0\n' }

  it.each<[string, RawEntry[], string]>([
    ['a path climbing out of the vendor folder', [binary, { name: `${vendor}/bin/../../../../../../escaped`, content: 'x' }], 'is not a plain path inside the package'],
    ['a symbolic link', [{ name: `${vendor}/bin/codex`, type: '2', linkname: '/bin/sh' }], 'is a SymbolicLink, not a regular file'],
    ['a hard link', [binary, { name: `${vendor}/codex-path/rg`, type: '1', linkname: `${vendor}/bin/codex` }], 'is a Link, not a regular file'],
    ['a named pipe', [binary, { name: `${vendor}/codex-resources/pipe`, type: '6' }], 'is a FIFO, not a regular file'],
    ['a character device', [binary, { name: `${vendor}/codex-resources/null`, type: '3' }], 'is a CharacterDevice, not a regular file'],
    ['the same file twice', [binary, { ...binary, content: '#!/bin/sh\necho second\n' }], 'appears twice'],
    ['no binary for the platform', [{ name: `${vendor}/codex-path/rg`, content: 'rg' }], `has no ${vendor}/bin/codex`],
    // Refused at the header, before a byte of it is written: unverified bytes must not fill the disk.
    ['a file declared larger than 4 GiB', [binary, { name: `${vendor}/codex-resources/huge`, size: 5 * 1024 ** 3 }], 'more than 1000 files or 4 GiB to write'],
    ['more than 1,000 files', [binary, ...Array.from({ length: 1_000 }, (_, i) => ({ name: `${vendor}/codex-resources/f${i}`, content: 'x' }))], 'more than 1000 files or 4 GiB to write']
  ])('%s: refused after the sha512 verified, nothing installed or written outside', async (_label, entries, reason) => {
    const crafted = rawTarball(entries)
    serveRelease(crafted)

    const failure = await installSettled(request()).catch((error: Error) => error)

    expect((failure as Error).message).toContain(`Could not unpack the Codex ${VERSION} tarball: `)
    expect((failure as Error).message).toContain(reason)

    await expectNothingInstalled()
    expect(await listTree(path.join(sandbox.runner.toolCache, 'codex', VERSION))).toEqual([])
    expect(existsSync(path.join(sandbox.runner.root, 'escaped'))).toBe(false)
  })

  it('entries outside the vendor folder (an absolute path, the npm launcher) are not written at all', async () => {
    const outside = path.join(sandbox.runner.root, 'absolute-target')
    const crafted = rawTarball([{ name: outside, content: 'x' }, { name: 'package/../escaped', content: 'x' }, binary])
    serveRelease(crafted)

    const codex = await installSettled(request())

    expect((await run(codex.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${VERSION}`)
    expect(await listTree(codex.folder)).toEqual(['bin', 'bin/codex'])
    expect(existsSync(outside)).toBe(false)
    expect(existsSync(path.join(sandbox.runner.root, 'escaped'))).toBe(false)
  })
})

describe("'latest'", () => {
  it("resolves through /@openai%2fcodex/latest, then installs that version from its document", async () => {
    serve(sandbox.log, REGISTRY, `${DOC_PREFIX}/latest`, { status: 200, body: { name: '@openai/codex', version: VERSION } })
    serveRelease(good)

    const codex = await installSettled(request({ codexVersion: 'latest' }))

    expect(codex).toEqual({ binary: path.join(sandbox.runner.toolCache, 'codex', VERSION, 'x64', 'bin', 'codex'), folder: path.join(sandbox.runner.toolCache, 'codex', VERSION, 'x64'), version: VERSION, source: 'registry' })
    expect(sandbox.log.exchanges.map((e) => e.path)).toEqual([`${DOC_PREFIX}/latest`, DOC_PATH, tarballPath(VERSION, 'linux-x64')])
    expect(sandbox.log.exchanges[0]!.headers.accept).toBe('application/json')
  })

  it("a 'latest' older than 0.39.0 is refused before anything is downloaded", async () => {
    serve(sandbox.log, REGISTRY, `${DOC_PREFIX}/latest`, { status: 200, body: { name: '@openai/codex', version: '0.38.0' } })

    await expect(installSettled(request({ codexVersion: 'latest' }))).rejects.toThrow(
      `'latest' on ${REGISTRY} is Codex 0.38.0, older than 0.39.0; refusing it.`
    )
    expect(sandbox.log.exchanges).toHaveLength(1)
    await expectNothingInstalled()
  })

  it.each(['banana', '1.0', '1.0.0/../../../../escape', ''])("a 'latest' that is not an exact version (%j) is refused", async (version) => {
    serve(sandbox.log, REGISTRY, `${DOC_PREFIX}/latest`, { status: 200, body: { name: '@openai/codex', version } })

    const failure = await installSettled(request({ codexVersion: 'latest' })).catch((error: Error) => error)
    expect((failure as Error).message).toContain(`'latest' on ${REGISTRY} is`)
    expect((failure as Error).message).toContain('not an exact version')

    expect(sandbox.log.exchanges).toHaveLength(1)
    expect(await listTree(sandbox.runner.toolCache)).toEqual([])
  })
})

describe('registry token and mirrors', () => {
  const TOKEN = 'npm_s3cret-token'

  it('sends the token to the registry for both the document and a tarball under it', async () => {
    serveRelease(good)

    await installSettled(request({ npmRegistryToken: TOKEN }))

    expect(sandbox.log.exchanges).toHaveLength(2)
    for (const exchange of sandbox.log.exchanges) expect(exchange.headers.authorization).toBe(`Bearer ${TOKEN}`)
  })

  it('does not send the token when the document points the tarball at another host', async () => {
    const cdn = 'https://cdn.example.com'
    serve(sandbox.log, REGISTRY, DOC_PATH, {
      status: 200,
      body: platformDocument(VERSION, 'linux-x64', { integrity: good.integrity, tarball: `${cdn}/blobs/codex-${VERSION}-linux-x64.tgz` })
    })
    serve(sandbox.log, cdn, `/blobs/codex-${VERSION}-linux-x64.tgz`, { status: 200, body: good.bytes }, { badheaders: ['authorization'] })

    const codex = await installSettled(request({ npmRegistryToken: TOKEN }))

    expect(codex.source).toBe('registry')
    expect(sandbox.log.to(REGISTRY)[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(sandbox.log.to(cdn)).toHaveLength(1)
    expect(sandbox.log.to(cdn)[0]!.headers.authorization).toBeUndefined()
  })

  it('does not send the token to a host that merely starts with the registry URL', async () => {
    const lookalike = 'https://registry.npmjs.org.evil.example'
    serve(sandbox.log, REGISTRY, DOC_PATH, {
      status: 200,
      body: platformDocument(VERSION, 'linux-x64', { integrity: good.integrity, tarball: `${lookalike}${tarballPath(VERSION, 'linux-x64')}` })
    })
    serve(sandbox.log, lookalike, tarballPath(VERSION, 'linux-x64'), { status: 200, body: good.bytes }, { badheaders: ['authorization'] })

    await installSettled(request({ npmRegistryToken: TOKEN }))

    expect(sandbox.log.to(lookalike)).toHaveLength(1)
    expect(sandbox.log.to(lookalike)[0]!.headers.authorization).toBeUndefined()
  })

  it('drops the token when the registry redirects the tarball to another host', async () => {
    const cdn = 'https://cdn.example.com'
    serve(sandbox.log, REGISTRY, DOC_PATH, { status: 200, body: platformDocument(VERSION, 'linux-x64', { integrity: good.integrity, tarball: TARBALL_URL }) })
    serve(sandbox.log, REGISTRY, tarballPath(VERSION, 'linux-x64'), { status: 302, headers: { location: `${cdn}/signed/codex.tgz?sig=abc` } })
    serve(sandbox.log, cdn, '/signed/codex.tgz?sig=abc', { status: 200, body: good.bytes }, { badheaders: ['authorization'] })

    const codex = await installSettled(request({ npmRegistryToken: TOKEN }))

    expect(codex.source).toBe('registry')
    expect(sandbox.log.to(REGISTRY).map((e) => e.headers.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`])
    expect(sandbox.log.to(cdn)).toHaveLength(1)
    expect(sandbox.log.to(cdn)[0]!.headers.authorization).toBeUndefined()
  })

  it('a mirror with a path prefix: latest, document and default tarball URL are built under the prefix, token sent to each', async () => {
    const mirror = 'https://mirror.example.com'
    const prefix = '/npm/proxy'
    serve(sandbox.log, mirror, `${prefix}${DOC_PREFIX}/latest`, { status: 200, body: { version: VERSION } })
    // No dist.tarball: the installer builds the URL itself, under the prefix.
    serve(sandbox.log, mirror, `${prefix}${DOC_PATH}`, { status: 200, body: platformDocument(VERSION, 'linux-x64', { integrity: good.integrity }) })
    serve(sandbox.log, mirror, `${prefix}${tarballPath(VERSION, 'linux-x64')}`, { status: 200, body: good.bytes })

    const codex = await installSettled(request({ codexVersion: 'latest', npmRegistry: `${mirror}${prefix}/`, npmRegistryToken: TOKEN }))

    expect(codex).toMatchObject({ version: VERSION, source: 'registry' })
    expect((await run(codex.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${VERSION}`)
    expect(sandbox.log.exchanges.map((e) => `${e.origin}${e.path}`)).toEqual([
      `${mirror}${prefix}${DOC_PREFIX}/latest`,
      `${mirror}${prefix}${DOC_PATH}`,
      `${mirror}${prefix}${tarballPath(VERSION, 'linux-x64')}`
    ])
    for (const exchange of sandbox.log.exchanges) expect(exchange.headers.authorization).toBe(`Bearer ${TOKEN}`)
  })

  it('a mirror with a path prefix serves the pinned version from the table path under the prefix', async () => {
    const mirror = 'https://mirror.example.com'
    serve(sandbox.log, mirror, `/npm/proxy${tarballPath(DEFAULT_CODEX_VERSION, 'linux-x64')}`, { status: 200, body: good.bytes })

    // The fake bytes cannot match the real table, so the install is refused — after asking the right URL.
    await expect(installSettled(request({ codexVersion: DEFAULT_CODEX_VERSION, npmRegistry: `${mirror}/npm/proxy/` }))).rejects.toBeInstanceOf(
      IntegrityError
    )
    expect(sandbox.log.exchanges.map((e) => `${e.origin}${e.path}`)).toEqual([`${mirror}/npm/proxy${tarballPath(DEFAULT_CODEX_VERSION, 'linux-x64')}`])
    expect(sandbox.log.exchanges[0]!.headers.authorization).toBeUndefined()
  })

  it('without a token no authorization header is sent anywhere', async () => {
    serveRelease(good)
    await installSettled(request())
    expect(sandbox.log.exchanges.map((e) => e.headers.authorization)).toEqual([undefined, undefined])
  })
})
