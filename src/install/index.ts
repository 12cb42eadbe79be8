import * as core from '@actions/core'
import { getExecOutput } from '@actions/exec'
import * as toolCache from '@actions/tool-cache'
import { randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { chmod, copyFile, cp, link, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { InstallCache, type RestoreResult } from './actions-cache.js'
import { downloadStream } from './download.js'
import { checkIntegrity, pinnedFiles, pinnedIntegrity, type TrustedIntegrity } from './integrity.js'
import { codexPlatform, type CodexPlatform } from './platform.js'
import { NpmRegistry } from './registry.js'
import { RefusedTree, manifestText, verifyTree, type TreeManifest } from './tree.js'
import { unpackTarball } from './unpack.js'
import { MINIMUM_CODEX_VERSION, compareVersions, isExactVersion } from './version.js'

export interface InstallRequest {
  codexVersion: string
  codexPath?: string
  npmRegistry: string
  npmRegistryToken?: string
  cache: boolean
  /** Download retry policy; defaults to downloadStream's own (4 attempts, 1 s first backoff). Tests shorten it. */
  retry?: { attempts?: number; firstBackoffMs?: number }
}

export interface InstalledCodex {
  binary: string
  /** The folder holding the binary and the helpers it runs beside it (ripgrep, the code-mode host). */
  folder: string
  version: string
  /** How this run got the binary: the user's own, the runner's tool cache, the Actions cache, or the registry. */
  source: 'codex-path' | 'tool-cache' | 'actions-cache' | 'registry'
  /** Settles when what was downloaded is saved to the Actions cache and its copy for the cache removed. */
  cacheSaved?: Promise<void>
}

const TOOL_NAME = 'codex'

export async function installCodex(request: InstallRequest): Promise<InstalledCodex> {
  if (request.codexPath) return useOwnBinary(request.codexPath)

  const platform = codexPlatform()
  const registry = new NpmRegistry(request.npmRegistry, request.npmRegistryToken)
  const version = request.codexVersion === 'latest' ? await resolveLatest(registry) : request.codexVersion

  const cached = toolCache.find(TOOL_NAME, version, platform.arch)
  if (cached) {
    core.info(`Codex ${version} found in the runner's tool cache.`)
    return installed(cached, version, platform, 'tool-cache')
  }

  const pinned = pinnedIntegrity(version, platform.npm)
  const release = pinned
    ? { tarball: registry.tarballUrl(version, platform.npm), expected: pinned }
    : await registry.platformRelease(version, platform.npm)
  // With the files of the version in the pin table, the cache keeps the installed tree (no unpacking on
  // restore); without, the tarball, which is verified against its sha512 again on every restore.
  const files = pinnedFiles(version, platform.npm)
  const cache = request.cache
    ? files
      ? new InstallCache(version, platform.npm, 'tree', manifestText(files))
      : new InstallCache(version, platform.npm, 'tarball', release.expected.integrity)
    : undefined

  let restored: RestoreResult | 'refused' = cache ? await cache.restore() : 'miss'
  if (cache && restored === 'restored') {
    try {
      const directory = files ? await installRestoredTree(cache.path, files, version, platform) : await installRestoredTarball(cache.path, release.expected, version, platform)
      core.info(`The Actions cache entry ${cache.restored?.key} took ${cache.restored?.ms} ms to restore.`)
      return installed(directory, version, platform, 'actions-cache')
    } catch (error) {
      if (!(error instanceof RefusedCacheEntry)) throw error
      core.warning(`${error.message} Nothing from it was run; downloading instead, and saving a fresh entry that later runs restore instead of it.`)
      restored = 'refused'
    } finally {
      await rm(cache.path, { recursive: true, force: true })
    }
  }

  // Only a miss or a refused entry is saved: 'unavailable' means the service is failing or slow.
  const saving = cache && (restored === 'miss' || restored === 'refused') ? cache : undefined
  if (saving) await saving.prepare()
  const directory = await downloadIntoToolCache(release.tarball, release.expected, version, platform, registry, request.retry, saving?.kind === 'tarball' ? saving.path : undefined)
  // Saving takes seconds (the archive is compressed again and uploaded); it runs while the agent works.
  const cacheSaved = saving ? saveForLaterRuns(saving, directory) : undefined
  return { ...installed(directory, version, platform, 'registry'), cacheSaved }
}

/** Thrown for an Actions cache entry that is not what the pin table or the registry vouches for. */
class RefusedCacheEntry extends Error {}

async function resolveLatest(registry: NpmRegistry): Promise<string> {
  const version = await registry.latestVersion()
  if (!isExactVersion(version)) throw new Error(`'latest' on ${registry.origin} is '${version}', not an exact version; refusing it.`)
  if (compareVersions(version, MINIMUM_CODEX_VERSION) < 0) {
    throw new Error(`'latest' on ${registry.origin} is Codex ${version}, older than ${MINIMUM_CODEX_VERSION}; refusing it.`)
  }
  core.info(`codex-version 'latest' resolved to ${version} on ${registry.origin}.`)
  return version
}

/**
 * Streams the tarball from the registry into a private staging folder beside the tool-cache entry
 * (download, sha512, gunzip and the writes overlap), and moves it into place only once the sha512
 * matches: nothing from unverified bytes is ever where anything runs it. `keepTarballAt`, when given,
 * gets the verified tarball too (for the Actions cache).
 */
async function downloadIntoToolCache(
  url: string,
  expected: TrustedIntegrity,
  version: string,
  platform: CodexPlatform,
  registry: NpmRegistry,
  retry: InstallRequest['retry'] = {},
  keepTarballAt?: string
): Promise<string> {
  const started = Date.now()
  const staging = await privateStaging(version, platform)
  try {
    const unpacked = await downloadStream(
      url,
      async (body) => {
        // Each attempt starts from an empty folder: nothing of a broken transfer is kept.
        await emptyFolder(staging)
        const copy = keepTarballAt ? createWriteStream(keepTarballAt, { highWaterMark: 1024 * 1024 }) : undefined
        return unpackTarball(body, platform, staging, copy)
      },
      { ...retry, headers: registry.headersFor(url) }
    )
    checkIntegrity(`the Codex tarball ${path.basename(url)}`, expected, unpacked.integrity, url)
    if (unpacked.failure) throw new Error(`Could not unpack the Codex ${version} tarball: ${unpacked.failure.message}`)
    core.info(`Downloaded and unpacked ${url} in ${Date.now() - started} ms; sha512 matches ${expected.source}.`)
    return await moveIntoToolCache(staging, version, platform)
  } catch (error) {
    await rm(staging, { recursive: true, force: true })
    if (keepTarballAt) await rm(keepTarballAt, { force: true })
    throw error
  }
}

/** A tarball restored from the Actions cache: unpacked like a download, moved into place only if its sha512 matches. */
async function installRestoredTarball(tarball: string, expected: TrustedIntegrity, version: string, platform: CodexPlatform): Promise<string> {
  // A named pipe or a link to /dev/zero would never end; only a plain file is read.
  const info = await lstat(tarball)
  if (!info.isFile()) throw new RefusedCacheEntry(`The Actions cache held something other than a Codex ${version} tarball at ${tarball}. It was discarded.`)
  const staging = await privateStaging(version, platform)
  try {
    const unpacked = await unpackTarball(createReadStream(tarball, { highWaterMark: 1024 * 1024 }), platform, staging)
    if (unpacked.integrity !== expected.integrity) {
      throw new RefusedCacheEntry(
        `The Actions cache held a Codex ${version} tarball whose sha512 (${unpacked.integrity}) is not the one vouched for by ` +
          `${expected.source} (${expected.integrity}). It was discarded.`
      )
    }
    if (unpacked.failure) throw new Error(`Could not unpack the Codex ${version} tarball: ${unpacked.failure.message}`)
    core.info(`Codex ${version} restored from the Actions cache; sha512 vouched for by ${expected.source}.`)
    return await moveIntoToolCache(staging, version, platform)
  } catch (error) {
    await rm(staging, { recursive: true, force: true })
    throw error
  }
}

/** A tree restored from the Actions cache into its private folder: every file checked against the pin table, then moved into place. */
async function installRestoredTree(tree: string, files: TreeManifest, version: string, platform: CodexPlatform): Promise<string> {
  const started = Date.now()
  try {
    await verifyTree(tree, files)
  } catch (error) {
    if (!(error instanceof RefusedTree)) throw error
    throw new RefusedCacheEntry(`The Actions cache held a Codex ${version} tree that is not the one in the pin table (src/install/pinned.ts): ${error.message}.`)
  }
  core.info(
    `Codex ${version} restored from the Actions cache; all ${Object.keys(files).length} files match the sha256 digests in the pin table (src/install/pinned.ts), checked in ${Date.now() - started} ms.`
  )
  return moveIntoToolCache(tree, version, platform)
}

/** Puts the installed tree (hard links, or copies across file systems) where the cache saves from, saves it, and removes it. */
async function saveForLaterRuns(cache: InstallCache, directory: string): Promise<void> {
  try {
    if (cache.kind === 'tree') await linkTree(directory, cache.path)
    await cache.save()
  } catch (error) {
    core.notice(`Codex was not kept in the Actions cache for later runs (${(error as Error).message}).`)
  } finally {
    await rm(cache.path, { recursive: true, force: true })
  }
}

async function linkTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true })
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name)
    const target = path.join(to, entry.name)
    if (entry.isDirectory()) await linkTree(source, target)
    else await link(source, target).catch(async (error: NodeJS.ErrnoException) => (error.code === 'EXDEV' ? copyFile(source, target) : Promise.reject(error)))
  }
}

/** A new folder beside the tool-cache entry that only this user can enter. */
async function privateStaging(version: string, platform: CodexPlatform): Promise<string> {
  const staging = path.join(toolCacheRoot(), TOOL_NAME, version, `.${platform.arch}-${randomUUID()}`)
  await emptyFolder(staging)
  return staging
}

async function emptyFolder(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true })
  await mkdir(path.dirname(folder), { recursive: true })
  await mkdir(folder, { mode: 0o700 })
}

/** Makes a verified tree the tool-cache entry of `version` and marks it complete. */
async function moveIntoToolCache(verified: string, version: string, platform: CodexPlatform): Promise<string> {
  const versionRoot = path.join(toolCacheRoot(), TOOL_NAME, version)
  const target = path.join(versionRoot, platform.arch)
  await mkdir(versionRoot, { recursive: true })
  await rm(target, { recursive: true, force: true })
  await rm(`${target}.complete`, { force: true })
  try {
    await rename(verified, target)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error
    const staging = await privateStaging(version, platform)
    await cp(verified, staging, { recursive: true })
    await rename(staging, target)
  }
  await publishModes(target)
  await writeFile(`${target}.complete`, '')
  return target
}

/** The staging folders were private; the agent's user reads the tool cache through a read-only mount. */
async function publishModes(folder: string): Promise<void> {
  await chmod(folder, 0o755)
  for (const entry of await readdir(folder, { withFileTypes: true })) if (entry.isDirectory()) await publishModes(path.join(folder, entry.name))
}

function installed(directory: string, version: string, platform: CodexPlatform, source: InstalledCodex['source']): InstalledCodex {
  const binDirectory = path.join(directory, 'bin')
  core.addPath(binDirectory)
  return { binary: path.join(binDirectory, platform.binaryName), folder: directory, version, source }
}

async function useOwnBinary(binary: string): Promise<InstalledCodex> {
  const result = await getExecOutput(binary, ['--version'], { silent: true, ignoreReturnCode: true }).catch((error: Error) => ({
    exitCode: -1,
    stdout: '',
    stderr: error.message
  }))
  const version = /codex-cli (\S+)/.exec(result.stdout)?.[1]
  if (result.exitCode !== 0 || !version || !isExactVersion(version)) {
    throw new Error(`Input 'codex-path' points to '${binary}', which did not answer '--version' like the Codex CLI (${result.stderr.trim() || `exit ${result.exitCode}`}).`)
  }
  if (compareVersions(version, MINIMUM_CODEX_VERSION) < 0) {
    throw new Error(`Input 'codex-path' points to Codex ${version}, older than ${MINIMUM_CODEX_VERSION}; refusing it.`)
  }
  core.info(`Using the Codex ${version} binary at ${binary} (codex-path); it was not verified by this action.`)
  return { binary, folder: path.dirname(binary), version, source: 'codex-path' }
}

function toolCacheRoot(): string {
  const root = process.env.RUNNER_TOOL_CACHE
  if (!root) throw new Error('RUNNER_TOOL_CACHE is not set: is this running on a GitHub Actions runner?')
  return root
}
