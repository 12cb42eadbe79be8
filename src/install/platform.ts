/** Where the Codex CLI for one runner platform lives: its npm package version suffix and its binary. */
export interface CodexPlatform {
  /** The suffix npm publishes the platform build under: `@openai/codex@<version>-<npm>`. */
  npm: string
  /** The vendor folder inside the tarball. */
  triple: string
  binaryName: string
  /** The architecture as the tool cache names it. */
  arch: string
}

const PLATFORMS: Record<string, Record<string, CodexPlatform>> = {
  Linux: {
    X64: { npm: 'linux-x64', triple: 'x86_64-unknown-linux-musl', binaryName: 'codex', arch: 'x64' },
    ARM64: { npm: 'linux-arm64', triple: 'aarch64-unknown-linux-musl', binaryName: 'codex', arch: 'arm64' }
  },
  macOS: {
    X64: { npm: 'darwin-x64', triple: 'x86_64-apple-darwin', binaryName: 'codex', arch: 'x64' },
    ARM64: { npm: 'darwin-arm64', triple: 'aarch64-apple-darwin', binaryName: 'codex', arch: 'arm64' }
  },
  Windows: {
    X64: { npm: 'win32-x64', triple: 'x86_64-pc-windows-msvc', binaryName: 'codex.exe', arch: 'x64' },
    ARM64: { npm: 'win32-arm64', triple: 'aarch64-pc-windows-msvc', binaryName: 'codex.exe', arch: 'arm64' }
  }
}

const NODE_NAMES: Record<string, string> = { linux: 'Linux', darwin: 'macOS', win32: 'Windows', x64: 'X64', arm64: 'ARM64' }

/** Maps the runner's RUNNER_OS / RUNNER_ARCH (or, off a runner, Node's own names) to a Codex build. */
export function codexPlatform(runnerOs = process.env.RUNNER_OS, runnerArch = process.env.RUNNER_ARCH): CodexPlatform {
  const os = runnerOs || NODE_NAMES[process.platform] || process.platform
  const arch = runnerArch || NODE_NAMES[process.arch] || process.arch
  const platform = PLATFORMS[os]?.[arch]
  if (!platform) {
    const supported = Object.entries(PLATFORMS)
      .flatMap(([o, archs]) => Object.keys(archs).map((a) => `${o}/${a}`))
      .join(', ')
    throw new Error(`The Codex CLI is not published for the runner platform ${os}/${arch}. Supported: ${supported}. Use 'codex-path' to bring your own binary.`)
  }
  return platform
}

/** Every platform the Codex CLI is published for, by its npm suffix (for `npm run bump-codex`). */
export function publishedPlatforms(): CodexPlatform[] {
  return Object.values(PLATFORMS).flatMap((archs) => Object.values(archs))
}
