#!/usr/bin/env node
// Moves the pinned Codex CLI: `npm run bump-codex -- <version|latest> [--registry URL]`.
// Reads each platform tarball's sha512 integrity from the registry, downloads the tarball, checks it
// against that integrity, unpacks it with the action's own installer code and rewrites
// src/install/pinned.ts: the sha512 of each tarball and the sha256 of each file the action installs
// from it. Runs under tsx (see package.json), so that it unpacks exactly as the action does.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { publishedPlatforms } from '../src/install/platform.js'
import { describeTree } from '../src/install/tree.js'
import { unpackTarball } from '../src/install/unpack.js'

const KEEP_PREVIOUS = 3
const target = fileURLToPath(new URL('../src/install/pinned.ts', import.meta.url))

const args = process.argv.slice(2)
const registryAt = args.indexOf('--registry')
const registry = (registryAt >= 0 ? args.splice(registryAt, 2)[1] : 'https://registry.npmjs.org').replace(/\/+$/, '')
const wanted = args[0]
if (!wanted) {
  console.error('usage: npm run bump-codex -- <version|latest> [--registry URL]')
  process.exit(2)
}

async function registryDocument(spec) {
  const response = await fetch(`${registry}/@openai%2fcodex/${spec}`)
  if (!response.ok) throw new Error(`${registry} answered ${response.status} for @openai/codex@${spec}`)
  return response.json()
}

/** Downloads one platform tarball, checks its sha512 and describes the tree the installer makes of it. */
async function installedFiles(version, platform, integrity) {
  const url = `${registry}/@openai/codex/-/codex-${version}-${platform.npm}.tgz`
  const response = await fetch(url)
  if (!response.ok || !response.body) throw new Error(`${url} answered ${response.status}`)
  const staging = mkdtempSync(path.join(os.tmpdir(), `codex-bump-${platform.npm}-`))
  try {
    const unpacked = await unpackTarball(Readable.fromWeb(response.body), platform, staging)
    if (unpacked.integrity !== integrity) throw new Error(`${url} has sha512 ${unpacked.integrity}, the registry says ${integrity}`)
    if (unpacked.failure) throw new Error(`${url} does not unpack: ${unpacked.failure.message}`)
    const files = await describeTree(staging)
    return Object.fromEntries(Object.keys(files).sort().map((file) => [file, files[file]]))
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}

const version = wanted === 'latest' ? (await registryDocument('latest')).version : wanted.replace(/^v/, '')
const integrity = {}
const files = {}
for (const platform of publishedPlatforms()) {
  const document = await registryDocument(`${version}-${platform.npm}`)
  if (!document.dist?.integrity?.startsWith('sha512-')) throw new Error(`no sha512 integrity for ${version}-${platform.npm}`)
  integrity[platform.npm] = document.dist.integrity
  files[platform.npm] = await installedFiles(version, platform, document.dist.integrity)
  console.log(`  ${platform.npm}  ${integrity[platform.npm]}  ${Object.keys(files[platform.npm]).length} files`)
}

const current = await import(`${target}?${Date.now()}`).catch(() => ({ PINNED_INTEGRITY: {}, PINNED_FILES: {}, DEFAULT_CODEX_VERSION: undefined }))
const previous = Object.keys(current.PINNED_INTEGRITY ?? {}).filter((v) => v !== version).slice(0, KEEP_PREVIOUS)
const integrityTable = Object.fromEntries([[version, integrity], ...previous.map((v) => [v, current.PINNED_INTEGRITY[v]])])
const filesTable = Object.fromEntries([[version, files], ...previous.filter((v) => current.PINNED_FILES?.[v]).map((v) => [v, current.PINNED_FILES[v]])])
const literal = (value) => JSON.stringify(value, null, 2).replace(/"/g, "'")

const source = `// Written by \`npm run bump-codex\`; edit with that script, not by hand.
// Read from the npm registry when the pin moved and reviewed in that pull request. Installs of these
// versions are verified against these tables, not against what a registry or a cache says at run time.
import type { TreeManifest } from './tree.js'

export const DEFAULT_CODEX_VERSION = '${version}'

/** The sha512 integrity of every platform tarball of the pinned version and a few before it. */
export const PINNED_INTEGRITY: Readonly<Record<string, Readonly<Record<string, string>>>> = ${literal(integrityTable)}

/**
 * Every file the action installs from those tarballs (the platform's vendor folder without the voice
 * runtime), as '<mode> <sha256 hex>', computed from the verified tarball. A tree restored from the
 * Actions cache must match it exactly before anything in it runs.
 */
export const PINNED_FILES: Readonly<Record<string, Readonly<Record<string, TreeManifest>>>> = ${literal(filesTable)}
`
const before = (() => {
  try {
    return readFileSync(target, 'utf8')
  } catch {
    return ''
  }
})()
writeFileSync(target, source)
console.log(before === source ? `Codex ${version} is already pinned; nothing changed.` : `Pinned Codex ${version} (was ${current.DEFAULT_CODEX_VERSION ?? 'none'}).`)
