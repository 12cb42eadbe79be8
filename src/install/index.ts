import * as core from '@actions/core'
import { exec, getExecOutput } from '@actions/exec'
import * as toolCache from '@actions/tool-cache'
import { randomUUID } from 'node:crypto'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { downloadToFile } from './download.js'
import { checkIntegrity, fileIntegrity, pinnedIntegrity, type TrustedIntegrity } from './integrity.js'
import { codexPlatform, type CodexPlatform } from './platform.js'
import { NpmRegistry } from './registry.js'
import { TarballCache } from './tarball-cache.js'
import { MINIMUM_CODEX_VERSION, compareVersions, isExactVersion } from './version.js'

export interface InstallRequest {
  codexVersion: string
  codexPath?: string
  npmRegistry: string
  npmRegistryToken?: string
  cache: boolean
  /** Download retry policy; defaults to downloadToFile's own (4 attempts, 1 s first backoff). Tests shorten it. */
  retry?: { attempts?: number; firstBackoffMs?: number }
}

export interface InstalledCodex {
  binary: string
  /** The folder holding the binary and the helpers it runs beside it (ripgrep, the code-mode host). */
  folder: string
  version: string
  /** How this run got the binary: the user's own, the runner's tool cache, the Actions cache, or the registry. */
  source: 'codex-path' | 'tool-cache' | 'actions-cache' | 'registry'
  /** Settles when the downloaded tarball is saved to the Actions cache (or needed no saving) and removed. */
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
  const tarballCache = request.cache ? new TarballCache(version, platform.npm) : undefined

  const restored = tarballCache ? await tarballCache.restore() : 'miss'
  if (tarballCache && restored === 'restored') {
    const actual = await fileIntegrity(tarballCache.file)
    if (actual === release.expected.integrity) {
      core.info(`Codex ${version} restored from the Actions cache; sha512 vouched for by ${release.expected.source}.`)
      try {
        return installed(await extractIntoToolCache(tarballCache.file, version, platform), version, platform, 'actions-cache')
      } finally {
        await rm(tarballCache.file, { force: true })
      }
    }
    core.warning(
      `The Actions cache held a Codex ${version} tarball whose sha512 (${actual}) is not the one vouched for by ` +
        `${release.expected.source} (${release.expected.integrity}). It was discarded; downloading instead.`
    )
    await rm(tarballCache.file, { force: true })
  }

  const tarball = tarballCache?.file ?? path.join(temporaryDirectory(), `codex-${version}-${platform.npm}-${randomUUID()}.tgz`)
  await mkdir(path.dirname(tarball), { recursive: true })
  await downloadVerified(release.tarball, tarball, release.expected, registry, request.retry)
  let directory: string
  try {
    directory = await extractIntoToolCache(tarball, version, platform)
  } catch (error) {
    await rm(tarball, { force: true })
    throw error
  }
  // Saving takes seconds (the archive is compressed again and uploaded); it runs while the agent works.
  const cacheSaved = tarballCache && restored === 'miss' ? tarballCache.save().finally(() => rm(tarball, { force: true })) : rm(tarball, { force: true })
  return { ...installed(directory, version, platform, 'registry'), cacheSaved }
}

async function resolveLatest(registry: NpmRegistry): Promise<string> {
  const version = await registry.latestVersion()
  if (!isExactVersion(version)) throw new Error(`'latest' on ${registry.origin} is '${version}', not an exact version; refusing it.`)
  if (compareVersions(version, MINIMUM_CODEX_VERSION) < 0) {
    throw new Error(`'latest' on ${registry.origin} is Codex ${version}, older than ${MINIMUM_CODEX_VERSION}; refusing it.`)
  }
  core.info(`codex-version 'latest' resolved to ${version} on ${registry.origin}.`)
  return version
}

async function downloadVerified(
  url: string,
  file: string,
  expected: TrustedIntegrity,
  registry: NpmRegistry,
  retry: InstallRequest['retry'] = {}
): Promise<void> {
  const started = Date.now()
  const actual = await downloadToFile(url, file, { ...retry, headers: registry.headersFor(url) })
  try {
    checkIntegrity(`the Codex tarball ${path.basename(url)}`, expected, actual, url)
  } catch (error) {
    await rm(file, { force: true })
    throw error
  }
  core.info(`Downloaded ${url} in ${Date.now() - started} ms; sha512 matches ${expected.source}.`)
}

/** Unpacks only the platform's vendor tree (the voice runtime is not needed unattended) and marks it complete. */
async function extractIntoToolCache(tarball: string, version: string, platform: CodexPlatform): Promise<string> {
  const versionRoot = path.join(toolCacheRoot(), TOOL_NAME, version)
  const target = path.join(versionRoot, platform.arch)
  const staging = path.join(versionRoot, `.${platform.arch}-${randomUUID()}`)
  await mkdir(staging, { recursive: true })
  try {
    const vendor = `package/vendor/${platform.triple}`
    await exec('tar', ['-xzf', tarball, '-C', staging, '--strip-components=3', `--exclude=${vendor}/codex-resources/voice`, vendor], { silent: true })
    await rm(target, { recursive: true, force: true })
    await rm(`${target}.complete`, { force: true })
    await rename(staging, target)
    await writeFile(`${target}.complete`, '')
  } catch (error) {
    await rm(staging, { recursive: true, force: true })
    throw new Error(`Could not unpack the Codex ${version} tarball: ${(error as Error).message}`)
  }
  return target
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

function temporaryDirectory(): string {
  const root = process.env.RUNNER_TEMP
  if (!root) throw new Error('RUNNER_TEMP is not set: is this running on a GitHub Actions runner?')
  return root
}
