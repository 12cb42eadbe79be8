// Every runner platform the action supports maps to the right npm build, vendor folder and
// binary name — checked both on the mapping and through a full install of a tarball shaped for
// that platform. Unsupported platforms fail before any request with the list of supported ones.
// First: nock must patch `http` before @actions/http-client (via src/install) imports it.
import 'nock'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { codexPlatform } from '../../../src/install/platform.js'
import {
  DOC_PREFIX,
  FAST_RETRY,
  HttpLog,
  REGISTRY,
  VERSION,
  buildTarball,
  countUnmatched,
  listTree,
  platformDocument,
  run,
  serve,
  tarballPath,
  installSettled,
  useInstallSandbox
} from './helpers.js'

const PLATFORMS = [
  { os: 'Linux', arch: 'X64', npm: 'linux-x64', triple: 'x86_64-unknown-linux-musl', binaryName: 'codex', toolArch: 'x64' },
  { os: 'Linux', arch: 'ARM64', npm: 'linux-arm64', triple: 'aarch64-unknown-linux-musl', binaryName: 'codex', toolArch: 'arm64' },
  { os: 'macOS', arch: 'X64', npm: 'darwin-x64', triple: 'x86_64-apple-darwin', binaryName: 'codex', toolArch: 'x64' },
  { os: 'macOS', arch: 'ARM64', npm: 'darwin-arm64', triple: 'aarch64-apple-darwin', binaryName: 'codex', toolArch: 'arm64' },
  { os: 'Windows', arch: 'X64', npm: 'win32-x64', triple: 'x86_64-pc-windows-msvc', binaryName: 'codex.exe', toolArch: 'x64' },
  { os: 'Windows', arch: 'ARM64', npm: 'win32-arm64', triple: 'aarch64-pc-windows-msvc', binaryName: 'codex.exe', toolArch: 'arm64' }
] as const

const SUPPORTED = 'Supported: Linux/X64, Linux/ARM64, macOS/X64, macOS/ARM64, Windows/X64, Windows/ARM64.'

const sandbox = useInstallSandbox()


describe('the platform mapping', () => {
  it.each(PLATFORMS)('RUNNER_OS=$os RUNNER_ARCH=$arch → $npm, $triple, $binaryName', ({ os, arch, npm, triple, binaryName, toolArch }) => {
    expect(codexPlatform(os, arch)).toEqual({ npm, triple, binaryName, arch: toolArch })
  })

  it('reads RUNNER_OS and RUNNER_ARCH from the environment', () => {
    process.env.RUNNER_OS = 'macOS'
    process.env.RUNNER_ARCH = 'ARM64'
    expect(codexPlatform().npm).toBe('darwin-arm64')
  })

  it.each([
    ['Linux', 'ARM'],
    ['Linux', 'X86'],
    ['FreeBSD', 'X64'],
    ['Windows', 'X86'],
    ['linux', 'x64']
  ])('%s/%s is refused with the list of supported platforms', (os, arch) => {
    expect(() => codexPlatform(os, arch)).toThrow(`The Codex CLI is not published for the runner platform ${os}/${arch}. ${SUPPORTED}`)
    expect(() => codexPlatform(os, arch)).toThrow("Use 'codex-path' to bring your own binary.")
  })
})

describe('a full install per platform', () => {
  it.each(PLATFORMS)('$os/$arch installs $npm into <tool cache>/codex/<v>/$toolArch/bin/$binaryName', async ({ os, arch, npm, triple, binaryName, toolArch }) => {
    process.env.RUNNER_OS = os
    process.env.RUNNER_ARCH = arch
    const log = new HttpLog()
    const tarball = await buildTarball(sandbox.runner.root, { triple, binaryName })
    serve(log, REGISTRY, `${DOC_PREFIX}/${VERSION}-${npm}`, {
      status: 200,
      body: platformDocument(VERSION, npm, { integrity: tarball.integrity, tarball: `${REGISTRY}${tarballPath(VERSION, npm)}` })
    })
    serve(log, REGISTRY, tarballPath(VERSION, npm), { status: 200, body: tarball.bytes })

    const codex = await installSettled({ codexVersion: VERSION, npmRegistry: REGISTRY, cache: false, retry: FAST_RETRY })

    const target = path.join(sandbox.runner.toolCache, 'codex', VERSION, toolArch)
    expect(codex).toEqual({ binary: path.join(target, 'bin', binaryName), folder: target, version: VERSION, source: 'registry' })
    expect(existsSync(`${target}.complete`)).toBe(true)
    expect(await listTree(path.join(target, 'codex-resources'))).toEqual(['bwrap'])
    // The fake "binary" is a shell script whatever its name, so it runs here for every platform.
    expect((await run(codex.binary, ['--version'])).stdout.trim()).toBe(`codex-cli ${VERSION}`)
    expect(log.exchanges.map((e) => e.path)).toEqual([`${DOC_PREFIX}/${VERSION}-${npm}`, tarballPath(VERSION, npm)])
  })

  it('an unsupported platform fails before any HTTP request', async () => {
    process.env.RUNNER_OS = 'FreeBSD'
    process.env.RUNNER_ARCH = 'X64'
    const unmatched = countUnmatched()
    try {
      await expect(installSettled({ codexVersion: VERSION, npmRegistry: REGISTRY, cache: true, retry: FAST_RETRY })).rejects.toThrow(SUPPORTED)
      await expect(installSettled({ codexVersion: 'latest', npmRegistry: REGISTRY, cache: true, retry: FAST_RETRY })).rejects.toThrow(SUPPORTED)
      expect(unmatched.count()).toBe(0)
    } finally {
      unmatched.stop()
    }
    expect(await listTree(sandbox.runner.toolCache)).toEqual([])
  })
})
