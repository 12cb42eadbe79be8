#!/usr/bin/env node
// Moves the pinned Codex CLI: `npm run bump-codex -- <version|latest> [--registry URL]`.
// Reads each platform tarball's sha512 integrity from the registry and rewrites
// src/install/pinned.ts, the table the action trusts for its default version.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64']
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

const version = wanted === 'latest' ? (await registryDocument('latest')).version : wanted.replace(/^v/, '')
const integrity = {}
for (const platform of PLATFORMS) {
  const document = await registryDocument(`${version}-${platform}`)
  if (!document.dist?.integrity?.startsWith('sha512-')) throw new Error(`no sha512 integrity for ${version}-${platform}`)
  integrity[platform] = document.dist.integrity
}

const current = await import(`${target}?${Date.now()}`).catch(() => ({ PINNED_INTEGRITY: {}, DEFAULT_CODEX_VERSION: undefined }))
const previous = Object.entries(current.PINNED_INTEGRITY ?? {}).filter(([v]) => v !== version)
const table = Object.fromEntries([[version, integrity], ...previous.slice(0, KEEP_PREVIOUS)])

const source = `// Written by \`npm run bump-codex\`; edit with that script, not by hand.
// The sha512 integrity of every platform tarball of the pinned version and a few before it,
// read from the npm registry when the pin moved and reviewed in that pull request. Installs of
// these versions are verified against this table, not against what a registry says at run time.

export const DEFAULT_CODEX_VERSION = '${version}'

export const PINNED_INTEGRITY: Readonly<Record<string, Readonly<Record<string, string>>>> = ${JSON.stringify(table, null, 2).replace(/"/g, "'")}
`
const before = (() => { try { return readFileSync(target, 'utf8') } catch { return '' } })()
writeFileSync(target, source)
console.log(before === source ? `Codex ${version} is already pinned; nothing changed.` : `Pinned Codex ${version} (was ${current.DEFAULT_CODEX_VERSION ?? 'none'}).`)
for (const platform of PLATFORMS) console.log(`  ${platform}  ${integrity[platform]}`)
