// `cache: true`: the verified tarball kept in the Actions cache between workflow runs, with the
// real @actions/cache talking to the fake results service on 127.0.0.1 and nock playing the npm
// registry. The cache may only ever save time: a poisoned entry, an outage or a conflict must
// cost a line in the log, never the install.
//
// nock must be evaluated before anything that loads @actions/http-client (here @actions/cache):
// http-client keeps the `http` module it imported first, and a later nock would then neither
// intercept nor block its requests — they would reach the real network.
import 'nock'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import * as cache from '@actions/cache'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { InstallRequest } from '../../../src/install/index.js'
import { startResultsService, type ResultsService } from '../../../test-support/results-service.js'
import {
  DOC_PREFIX,
  FAST_RETRY,
  REGISTRY,
  VERSION,
  buildTarball,
  fakeRunner,
  listTree,
  platformDocument,
  run,
  serve,
  type FakeTarball,
  tarballPath,
  installSettled,
  useInstallSandbox
} from './helpers.js'

const KEY = `codex-action-cli-${VERSION}-linux-x64`
/** The path exactly as the installer hands it to @actions/cache (the cache version hashes it). */
const CACHE_PATH = `~/.cache/codex-action/codex-${VERSION}-linux-x64.tgz`
const DOC_PATH = `${DOC_PREFIX}/${VERSION}-linux-x64`
const TARBALL_URL = `${REGISTRY}${tarballPath(VERSION, 'linux-x64')}`

let service: ResultsService
// The fake results service starts before the sandbox (hooks run in order) and stops after it.
beforeEach(async () => {
  service = await startResultsService()
})
afterEach(async () => {
  await service.close()
})
const sandbox = useInstallSandbox({ env: () => service.env, loopback: true })
let good: FakeTarball
let other: FakeTarball

const request: InstallRequest = { codexVersion: VERSION, npmRegistry: REGISTRY, cache: true, retry: FAST_RETRY }

beforeAll(async () => {
  const scratch = await fakeRunner()
  try {
    good = await buildTarball(scratch.root)
    other = await buildTarball(scratch.root, { banner: 'codex-cli 6.6.6 (poisoned)' })
  } finally {
    await scratch.restore()
  }
})


function serveDocument(tarball: FakeTarball = good): void {
  serve(sandbox.log, REGISTRY, DOC_PATH, { status: 200, body: platformDocument(VERSION, 'linux-x64', { integrity: tarball.integrity, tarball: TARBALL_URL }) })
}

function serveTarball(tarball: FakeTarball = good): void {
  serve(sandbox.log, REGISTRY, tarballPath(VERSION, 'linux-x64'), { status: 200, body: tarball.bytes })
}

const cacheCalls = (method: string) => service.calls.filter((c) => c.service === 'cache' && c.method === method)
const cacheFile = () => path.join(sandbox.runner.home, '.cache', 'codex-action', `codex-${VERSION}-linux-x64.tgz`)

/** The one file a cache archive holds (tar, zstd-compressed when zstd is installed), read back with the real tools. */
async function fileInArchive(archive: Buffer): Promise<Buffer> {
  const file = path.join(sandbox.runner.root, 'archive.tar')
  await writeFile(file, archive)
  const decompress = archive.readUInt32LE(0) === 0xfd2fb528 ? ['--use-compress-program', 'zstd -d'] : []
  const list = await promisify(execFile)('tar', [...decompress, '-tf', file])
  const members = list.stdout.split('\n').filter((m) => m.endsWith('.tgz'))
  expect(members).toHaveLength(1)
  const { stdout: bytes } = await promisify(execFile)('tar', [...decompress, '-P', '-xOf', file, members[0]!], { encoding: 'buffer', maxBuffer: 64 << 20 })
  return bytes
}

/** Puts `tarball` into the Actions cache under the installer's key and path, as an earlier run (or an attacker) would. */
async function seedCache(tarball: FakeTarball): Promise<void> {
  await mkdir(path.dirname(cacheFile()), { recursive: true })
  await writeFile(cacheFile(), tarball.bytes)
  expect(await cache.saveCache([CACHE_PATH], KEY)).toBeGreaterThan(0)
  await rm(cacheFile())
  expect(service.caches).toHaveLength(1)
  service.calls.length = 0
}

describe('the Actions cache', () => {
  it('first install downloads and saves the verified tarball; a fresh runner restores it without the registry tarball', async () => {
    serveDocument()
    serveTarball()

    const first = await installSettled(request)

    expect(first.source).toBe('registry')
    expect(service.caches).toHaveLength(1)
    expect(service.caches[0]!.key).toBe(KEY)
    expect((await fileInArchive(service.caches[0]!.archive)).equals(good.bytes)).toBe(true)
    expect(existsSync(cacheFile())).toBe(false)

    // A new runner: empty tool cache, same HOME and workspace paths (as on hosted runners).
    process.env.RUNNER_TOOL_CACHE = path.join(sandbox.runner.root, 'tool-cache-2')
    await mkdir(process.env.RUNNER_TOOL_CACHE, { recursive: true })
    serveDocument()

    const second = await installSettled(request)

    expect(second).toEqual({
      binary: path.join(sandbox.runner.root, 'tool-cache-2', 'codex', VERSION, 'x64', 'bin', 'codex'),
      folder: path.join(sandbox.runner.root, 'tool-cache-2', 'codex', VERSION, 'x64'),
      version: VERSION,
      source: 'actions-cache'
    })
    expect((await run(second.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${VERSION}`)
    expect(existsSync(`${path.dirname(path.dirname(second.binary))}.complete`)).toBe(true)
    expect(await listTree(path.join(path.dirname(path.dirname(second.binary)), 'codex-resources'))).toEqual(['bwrap'])
    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(1)
    expect(sandbox.log.count(DOC_PATH)).toBe(2)
    expect(cacheCalls('CreateCacheEntry')).toHaveLength(1)
    expect(cacheCalls('GetCacheEntryDownloadURL').map((c) => c.status)).toEqual([200, 200])
    expect(service.caches).toHaveLength(1)
    // The restored tarball is not left in HOME.
    expect(await listTree(path.dirname(cacheFile()))).toEqual([])
    expect(sandbox.stdout.lines().some((l) => l.includes(`Codex ${VERSION} restored from the Actions cache; sha512 vouched for by the registry ${REGISTRY}`))).toBe(true)
  })

  it('a poisoned entry (valid archive, wrong bytes) is refused with a warning and the install downloads instead', async () => {
    await seedCache(other)
    serveDocument()
    serveTarball()

    const codex = await installSettled(request)

    expect(codex.source).toBe('registry')
    expect((await run(codex.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${VERSION}`)
    const warnings = sandbox.stdout.lines().filter((l) => l.startsWith('::warning'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(`The Actions cache held a Codex ${VERSION} tarball whose sha512 (${other.integrity})`)
    expect(warnings[0]).toContain(`the registry ${REGISTRY} (${good.integrity})`)
    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(1)
    expect(cacheCalls('GetCacheEntryDownloadURL').map((c) => c.status)).toEqual([200])
    expect(await listTree(path.dirname(cacheFile()))).toEqual([])
  })

  it('a verified entry that fails to unpack is an error and its tarball is not left in HOME', async () => {
    const wrongPlatform = await buildTarball(sandbox.runner.root, { triple: 'aarch64-unknown-linux-musl' })
    await seedCache(wrongPlatform)
    serveDocument(wrongPlatform)

    await expect(installSettled(request)).rejects.toThrow(`Could not unpack the Codex ${VERSION} tarball`)

    expect(await listTree(path.dirname(cacheFile()))).toEqual([])
    expect((await listTree(sandbox.runner.toolCache)).filter((e) => /x64/.test(e))).toEqual([])
  })

  it('a cache service that refuses every call (429) costs a notice, not the install', async () => {
    service.faults.cacheStatus = 429
    serveDocument()
    serveTarball()
    const started = performance.now()

    const codex = await installSettled(request)

    expect(performance.now() - started).toBeLessThan(5_000)
    expect(codex.source).toBe('registry')
    expect((await run(codex.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${VERSION}`)
    expect(cacheCalls('GetCacheEntryDownloadURL').map((c) => c.status)).toEqual([429])
    expect(cacheCalls('CreateCacheEntry').map((c) => c.status)).toEqual([429])
    expect(service.caches).toHaveLength(0)
    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(1)
    expect(await listTree(path.dirname(cacheFile()))).toEqual([])
  })

  it('a save conflict costs one CreateCacheEntry call and well under a second', async () => {
    service.faults.cacheConflict = true
    serveDocument()
    serveTarball()

    const codex = await installSettled(request)
    const returned = performance.now()

    expect(codex.source).toBe('registry')
    expect(cacheCalls('CreateCacheEntry').map((c) => c.status)).toEqual([409])
    expect(cacheCalls('FinalizeCacheEntryUpload')).toHaveLength(0)
    expect(service.calls.filter((c) => c.service === 'blob')).toHaveLength(0)
    expect(service.caches).toHaveLength(0)
    // From the tarball's arrival to the install's return: extraction plus the failed save.
    const tarballServed = sandbox.log.exchanges.find((e) => e.path === tarballPath(VERSION, 'linux-x64'))!.at
    expect(returned - tarballServed).toBeLessThan(1_000)
    expect(sandbox.stdout.lines().some((l) => l.startsWith('::warning'))).toBe(false)
  })
})
