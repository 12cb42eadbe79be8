// `cache: true`: what an install keeps in the Actions cache between workflow runs, with the real
// @actions/cache talking to the fake results service on 127.0.0.1 and nock playing the npm registry.
// A version whose files the pin table lists keeps the installed tree, checked file by file on
// restore; any other version keeps the tarball, checked against its sha512. The cache may only ever
// save time: a poisoned entry, an outage or a conflict must cost a line in the log, never the
// install, never run a byte of the entry, and a refused entry is followed by a fresh one.
//
// nock must be evaluated before anything that loads @actions/http-client (here @actions/cache):
// http-client keeps the `http` module it imported first, and a later nock would then neither
// intercept nor block its requests — they would reach the real network.
import 'nock'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, chown, link, mkdir, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import * as cache from '@actions/cache'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { InstallRequest } from '../../../src/install/index.js'
import { PINNED_FILES, PINNED_INTEGRITY } from '../../../src/install/pinned.js'
import { startResultsService, type ResultsService } from '../../../test-support/results-service.js'
import {
  DOC_PREFIX,
  FAST_RETRY,
  REGISTRY,
  VERSION,
  buildTarball,
  fakeRunner,
  listTree,
  manifestOf,
  platformDocument,
  run,
  serve,
  type FakeTarball,
  tarballPath,
  installSettled,
  useInstallSandbox
} from './helpers.js'

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** The path exactly as the installer hands it to @actions/cache (the cache version hashes it). */
const CACHE_PATH = `~/.cache/codex-action/codex-${VERSION}-linux-x64.tgz`
const DOC_PATH = `${DOC_PREFIX}/${VERSION}-linux-x64`
const TARBALL_URL = `${REGISTRY}${tarballPath(VERSION, 'linux-x64')}`

/** A version this file adds to the pin tables, with the files of its fake tarball: the tree path. */
const PINNED = '0.171.0'
const TREE_PATH = `~/.cache/codex-action/codex-${PINNED}-linux-x64`

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
let pinned: FakeTarball
let manifest: Record<string, string>
const mark = () => path.join(sandbox.runner.root, 'poisoned-codex-ran')

const request: InstallRequest = { codexVersion: VERSION, npmRegistry: REGISTRY, cache: true, retry: FAST_RETRY }
const pinnedRequest: InstallRequest = { ...request, codexVersion: PINNED }

// The tables are plain objects at run time; this file adds one version to them and takes it out again.
const integrityTable = PINNED_INTEGRITY as Record<string, Record<string, string>>
const filesTable = PINNED_FILES as Record<string, Record<string, Record<string, string>>>

beforeAll(async () => {
  const scratch = await fakeRunner()
  try {
    good = await buildTarball(scratch.root)
    other = await buildTarball(scratch.root, { banner: 'codex-cli 6.6.6 (poisoned)' })
    pinned = await buildTarball(scratch.root, { version: PINNED })
  } finally {
    await scratch.restore()
  }
  manifest = manifestOf(pinned)
  integrityTable[PINNED] = { 'linux-x64': pinned.integrity }
  filesTable[PINNED] = { 'linux-x64': manifest }
})
afterAll(() => {
  delete integrityTable[PINNED]
  delete filesTable[PINNED]
})

/** Key prefixes as the installer names them: kind, version, platform and a digest of what it expects. */
const tarballPrefix = (integrity: string) => `codex-action-tarball-${VERSION}-linux-x64-${sha256(integrity).slice(0, 16)}-`
const treePrefix = () =>
  `codex-action-tree-${PINNED}-linux-x64-${sha256(
    Object.keys(manifest)
      .sort()
      .map((file) => `${file} ${manifest[file]}\n`)
      .join('')
  ).slice(0, 16)}-`

function serveDocument(tarball: FakeTarball = good): void {
  serve(sandbox.log, REGISTRY, DOC_PATH, { status: 200, body: platformDocument(VERSION, 'linux-x64', { integrity: tarball.integrity, tarball: TARBALL_URL }) })
}

function serveTarball(tarball: FakeTarball = good): void {
  serve(sandbox.log, REGISTRY, tarballPath(VERSION, 'linux-x64'), { status: 200, body: tarball.bytes })
}

const cacheCalls = (method: string) => service.calls.filter((c) => c.service === 'cache' && c.method === method)
const cacheFolder = () => path.join(sandbox.runner.home, '.cache', 'codex-action')
const cacheFile = () => path.join(cacheFolder(), `codex-${VERSION}-linux-x64.tgz`)
const treeFolder = () => path.join(cacheFolder(), `codex-${PINNED}-linux-x64`)

/** The members of a cache archive (tar, zstd-compressed when zstd is installed), read back with the real tools. */
async function archive(data: Buffer): Promise<{ file: string; decompress: string[]; members: string[] }> {
  const file = path.join(sandbox.runner.root, `archive-${Math.random().toString(36).slice(2)}.tar`)
  await writeFile(file, data)
  const decompress = data.readUInt32LE(0) === 0xfd2fb528 ? ['--use-compress-program', 'zstd -d'] : []
  const list = await promisify(execFile)('tar', [...decompress, '-tvf', file])
  return { file, decompress, members: list.stdout.split('\n').filter(Boolean) }
}

/** The one file a tarball cache archive holds. */
async function fileInArchive(data: Buffer): Promise<Buffer> {
  const { file, decompress, members } = await archive(data)
  const tgz = members.filter((m) => m.endsWith('.tgz'))
  expect(tgz).toHaveLength(1)
  const name = tgz[0]!.split(/\s+/).at(-1)!
  const { stdout: bytes } = await promisify(execFile)('tar', [...decompress, '-P', '-xOf', file, name], { encoding: 'buffer', maxBuffer: 64 << 20 })
  return bytes
}

/** A fresh runner (empty tool cache), with the same HOME and workspace paths, as on hosted runners. */
async function freshToolCache(name: string): Promise<string> {
  process.env.RUNNER_TOOL_CACHE = path.join(sandbox.runner.root, name)
  await mkdir(process.env.RUNNER_TOOL_CACHE, { recursive: true })
  return process.env.RUNNER_TOOL_CACHE
}

/** Puts `tarball` into the Actions cache under a key of the installer's prefix, as an earlier run (or an attacker) would. */
async function seedTarball(tarball: FakeTarball, prefix: string): Promise<void> {
  await mkdir(path.dirname(cacheFile()), { recursive: true })
  await writeFile(cacheFile(), tarball.bytes)
  expect(await cache.saveCache([CACHE_PATH], `${prefix}attacker`)).toBeGreaterThan(0)
  await rm(cacheFile())
  expect(service.caches).toHaveLength(1)
  service.calls.length = 0
}

/** Writes the pinned fake's tree where the installer restores it, lets `poison` change it, and saves it under the prefix. */
async function seedTree(poison: (tree: string) => Promise<void>): Promise<void> {
  const tree = treeFolder()
  for (const [name, { content, mode }] of Object.entries(pinned.tree)) {
    await mkdir(path.dirname(path.join(tree, name)), { recursive: true })
    await writeFile(path.join(tree, name), content)
    await chmod(path.join(tree, name), mode)
  }
  await poison(tree)
  expect(await cache.saveCache([TREE_PATH], `${treePrefix()}attacker`)).toBeGreaterThan(0)
  await rm(tree, { recursive: true, force: true })
  expect(service.caches).toHaveLength(1)
  service.calls.length = 0
}

const TREE_LISTING = ['bin', 'bin/codex', 'bin/codex-code-mode-host', 'codex-path', 'codex-path/rg', 'codex-resources', 'codex-resources/bwrap']

describe('the installed tree (a version whose files the pin table lists)', () => {
  it('a first install streams from the registry and saves the tree; a fresh runner restores it with no registry request', async () => {
    serve(sandbox.log, REGISTRY, tarballPath(PINNED, 'linux-x64'), { status: 200, body: pinned.bytes })

    const first = await installSettled(pinnedRequest)

    expect(first.source).toBe('registry')
    expect(service.caches).toHaveLength(1)
    expect(service.caches[0]!.key.startsWith(treePrefix())).toBe(true)
    // The entry is the tree itself (no tarball, no voice runtime), each file as installed.
    const { members } = await archive(service.caches[0]!.archive)
    const files = members.filter((m) => m.startsWith('-')).map((m) => m.split(/\s+/).at(-1)!.split(`codex-${PINNED}-linux-x64/`)[1])
    expect(files.sort()).toEqual(Object.keys(manifest).sort())
    expect(await listTree(treeFolder())).toEqual([])

    const toolCache = await freshToolCache('tool-cache-2')
    const second = await installSettled(pinnedRequest)

    const folder = path.join(toolCache, 'codex', PINNED, 'x64')
    expect(second).toEqual({ binary: path.join(folder, 'bin', 'codex'), folder, version: PINNED, source: 'actions-cache' })
    expect((await run(second.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${PINNED}`)
    expect(await listTree(folder)).toEqual(TREE_LISTING)
    expect(existsSync(`${folder}.complete`)).toBe(true)
    // Readable through the agent's read-only mount: the private staging modes are not kept.
    expect((await stat(folder)).mode & 0o777).toBe(0o755)
    expect((await stat(path.join(folder, 'codex-path'))).mode & 0o777).toBe(0o755)
    // Only the one tarball download of the first install; the pinned version never asks for a registry document.
    expect(sandbox.log.exchanges.map((e) => e.path)).toEqual([tarballPath(PINNED, 'linux-x64')])
    expect(service.caches).toHaveLength(1)
    expect(await listTree(treeFolder())).toEqual([])
    expect((await stat(cacheFolder())).mode & 0o777).toBe(0o700)
    expect(sandbox.stdout.lines().some((l) => l.includes(`Codex ${PINNED} restored from the Actions cache; all 4 files match the sha256 digests in the pin table`))).toBe(true)
  })

  const asRoot = process.geteuid?.() === 0
  it.each<[string, (tree: string) => Promise<void>, string]>([
    [
      'a changed file',
      async (tree) => writeFile(path.join(tree, 'bin', 'codex'), `#!/bin/sh\ntouch '${mark()}'\necho "codex-cli ${PINNED}"\n`),
      `bin/codex is '755 `
    ],
    ['an extra file', async (tree) => writeFile(path.join(tree, 'bin', 'helper'), 'extra'), 'bin/helper is not part of Codex'],
    ['a missing file', async (tree) => unlink(path.join(tree, 'codex-path', 'rg')), 'codex-path/rg is missing'],
    ['an empty extra folder', async (tree) => mkdir(path.join(tree, 'plugins')), 'plugins is an empty folder'],
    [
      'a symbolic link in place of a file',
      async (tree) => {
        await unlink(path.join(tree, 'codex-path', 'rg'))
        await symlink('/bin/sh', path.join(tree, 'codex-path', 'rg'))
      },
      'codex-path/rg is a symbolic link'
    ],
    [
      'a folder linked out of the tree',
      async (tree) => {
        const outside = path.join(sandbox.runner.root, 'outside-bin')
        await rm(outside, { recursive: true, force: true })
        await mkdir(path.dirname(outside), { recursive: true })
        await import('node:fs/promises').then(({ rename }) => rename(path.join(tree, 'bin'), outside))
        await symlink(outside, path.join(tree, 'bin'))
      },
      'bin is a symbolic link'
    ],
    [
      'a hard link',
      async (tree) => {
        await unlink(path.join(tree, 'codex-resources', 'bwrap'))
        await link(path.join(tree, 'bin', 'codex-code-mode-host'), path.join(tree, 'codex-resources', 'bwrap'))
      },
      'has 2 links'
    ],
    ['a file without its executable bit', async (tree) => chmod(path.join(tree, 'codex-resources', 'bwrap'), 0o644), `codex-resources/bwrap is '644 `],
    ['a set-uid binary', async (tree) => chmod(path.join(tree, 'bin', 'codex'), 0o4755), 'bin/codex has mode 4755'],
    ['a file others may write', async (tree) => chmod(path.join(tree, 'codex-path', 'rg'), 0o777), 'codex-path/rg has mode 777'],
    ['a named pipe', async (tree) => void (await run('mkfifo', [path.join(tree, 'codex-resources', 'pipe')])), 'codex-resources/pipe is a named pipe'],
    ...(asRoot
      ? [['a file of another user', async (tree: string) => chown(path.join(tree, 'codex-path', 'rg'), 12345, 12345), 'codex-path/rg belongs to uid 12345'] as [string, (tree: string) => Promise<void>, string]]
      : [])
  ])('%s: refused and never run; the install downloads, saves a fresh entry, and the next runner restores that one', async (_label, poison, problem) => {
    await seedTree(poison)
    serve(sandbox.log, REGISTRY, tarballPath(PINNED, 'linux-x64'), { status: 200, body: pinned.bytes })

    const codex = await installSettled(pinnedRequest)

    expect(codex.source).toBe('registry')
    expect((await run(codex.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${PINNED}`)
    expect(await listTree(codex.folder)).toEqual(TREE_LISTING)
    const warnings = sandbox.stdout.lines().filter((l) => l.startsWith('::warning'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(`The Actions cache held a Codex ${PINNED} tree that is not the one in the pin table`)
    expect(warnings[0]).toContain(problem)
    expect(warnings[0]).toContain('Nothing from it was run')
    expect(existsSync(mark())).toBe(false)
    expect(await listTree(treeFolder())).toEqual([])
    // The refused entry stays (no one can delete it), but a fresh one is saved after it under the same prefix.
    expect(service.caches.map((c) => c.key.startsWith(treePrefix()))).toEqual([true, true])
    expect(service.caches[1]!.key).not.toBe(service.caches[0]!.key)

    await freshToolCache('tool-cache-next')
    const next = await installSettled(pinnedRequest)

    expect(next.source).toBe('actions-cache')
    expect((await run(next.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${PINNED}`)
    expect(existsSync(mark())).toBe(false)
    expect(service.caches).toHaveLength(2)
    expect(sandbox.log.count(tarballPath(PINNED, 'linux-x64'))).toBe(1)
  })

  it('an entry saved for another pin table (another digest in its key) is never restored', async () => {
    await mkdir(treeFolder(), { recursive: true })
    await writeFile(path.join(treeFolder(), 'codex'), 'old')
    expect(await cache.saveCache([TREE_PATH], `codex-action-tree-${PINNED}-linux-x64-0000000000000000-old`)).toBeGreaterThan(0)
    await rm(treeFolder(), { recursive: true })
    service.calls.length = 0
    serve(sandbox.log, REGISTRY, tarballPath(PINNED, 'linux-x64'), { status: 200, body: pinned.bytes })

    const codex = await installSettled(pinnedRequest)

    expect(codex.source).toBe('registry')
    expect(sandbox.stdout.lines().filter((l) => l.startsWith('::warning'))).toEqual([])
    expect(service.caches).toHaveLength(2)
  })
})

describe('the tarball (a version the pin table has no files for)', () => {
  it('first install downloads and saves the verified tarball; a fresh runner restores it without the registry tarball', async () => {
    serveDocument()
    serveTarball()

    const first = await installSettled(request)

    expect(first.source).toBe('registry')
    expect(service.caches).toHaveLength(1)
    expect(service.caches[0]!.key.startsWith(tarballPrefix(good.integrity))).toBe(true)
    expect((await fileInArchive(service.caches[0]!.archive)).equals(good.bytes)).toBe(true)
    expect(existsSync(cacheFile())).toBe(false)

    const toolCache = await freshToolCache('tool-cache-2')
    serveDocument()

    const second = await installSettled(request)

    expect(second).toEqual({
      binary: path.join(toolCache, 'codex', VERSION, 'x64', 'bin', 'codex'),
      folder: path.join(toolCache, 'codex', VERSION, 'x64'),
      version: VERSION,
      source: 'actions-cache'
    })
    expect((await run(second.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${VERSION}`)
    expect(existsSync(`${second.folder}.complete`)).toBe(true)
    expect(await listTree(second.folder)).toEqual(TREE_LISTING)
    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(1)
    expect(sandbox.log.count(DOC_PATH)).toBe(2)
    expect(cacheCalls('CreateCacheEntry')).toHaveLength(1)
    expect(cacheCalls('GetCacheEntryDownloadURL').map((c) => c.status)).toEqual([200, 200])
    expect(service.caches).toHaveLength(1)
    // The restored tarball is not left in HOME.
    expect(await listTree(cacheFolder())).toEqual([])
    expect(sandbox.stdout.lines().some((l) => l.includes(`Codex ${VERSION} restored from the Actions cache; sha512 vouched for by the registry ${REGISTRY}`))).toBe(true)
  })

  it('a poisoned entry (valid archive, wrong bytes) is refused and never run; a fresh entry is saved and restored next', async () => {
    const poisoned = await buildTarball(sandbox.runner.root, { banner: 'codex-cli 6.6.6 (poisoned)', payload: `touch '${mark()}'` })
    await seedTarball(poisoned, tarballPrefix(good.integrity))
    serveDocument()
    serveTarball()

    const codex = await installSettled(request)

    expect(codex.source).toBe('registry')
    expect((await run(codex.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${VERSION}`)
    const warnings = sandbox.stdout.lines().filter((l) => l.startsWith('::warning'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(`The Actions cache held a Codex ${VERSION} tarball whose sha512 (${poisoned.integrity})`)
    expect(warnings[0]).toContain(`the registry ${REGISTRY} (${good.integrity})`)
    expect(existsSync(mark())).toBe(false)
    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(1)
    expect(cacheCalls('GetCacheEntryDownloadURL').map((c) => c.status)).toEqual([200])
    expect(await listTree(cacheFolder())).toEqual([])
    expect(service.caches).toHaveLength(2)
    expect((await fileInArchive(service.caches[1]!.archive)).equals(good.bytes)).toBe(true)

    await freshToolCache('tool-cache-next')
    serveDocument()
    const next = await installSettled(request)

    expect(next.source).toBe('actions-cache')
    expect(existsSync(mark())).toBe(false)
    expect(sandbox.log.count(tarballPath(VERSION, 'linux-x64'))).toBe(1)
  })

  it('an entry holding a named pipe where the tarball belongs is refused at once, not read forever', async () => {
    await mkdir(cacheFolder(), { recursive: true })
    await run('mkfifo', [cacheFile()])
    expect(await cache.saveCache([CACHE_PATH], `${tarballPrefix(good.integrity)}attacker`)).toBeGreaterThan(0)
    await rm(cacheFile())
    service.calls.length = 0
    serveDocument()
    serveTarball()

    const codex = await installSettled(request)

    expect(codex.source).toBe('registry')
    const warnings = sandbox.stdout.lines().filter((l) => l.startsWith('::warning'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(`The Actions cache held something other than a Codex ${VERSION} tarball`)
    expect(service.caches).toHaveLength(2)
    expect(await listTree(cacheFolder())).toEqual([])
  })

  it('an entry made for other bytes (the registry now vouches for another sha512) is not looked at', async () => {
    await seedTarball(other, tarballPrefix(other.integrity))
    serveDocument()
    serveTarball()

    const codex = await installSettled(request)

    expect(codex.source).toBe('registry')
    expect(sandbox.stdout.lines().filter((l) => l.startsWith('::warning'))).toEqual([])
    expect(service.caches).toHaveLength(2)
  })

  it('a verified entry that fails to unpack is an error and its tarball is not left in HOME', async () => {
    const wrongPlatform = await buildTarball(sandbox.runner.root, { triple: 'aarch64-unknown-linux-musl' })
    await seedTarball(wrongPlatform, tarballPrefix(wrongPlatform.integrity))
    serveDocument(wrongPlatform)

    await expect(installSettled(request)).rejects.toThrow(`Could not unpack the Codex ${VERSION} tarball`)

    expect(await listTree(cacheFolder())).toEqual([])
    expect((await listTree(sandbox.runner.toolCache)).filter((e) => /x64/.test(e))).toEqual([])
  })
})

describe('the cache service failing', () => {
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
    expect(await listTree(cacheFolder())).toEqual([])
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
