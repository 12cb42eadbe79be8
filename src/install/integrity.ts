import type { createHash } from 'node:crypto'
import { PINNED_FILES, PINNED_INTEGRITY } from './pinned.js'
import type { TreeManifest } from './tree.js'

/** An expected sha512 in SRI form (`sha512-<base64>`) and who vouched for it. */
export interface TrustedIntegrity {
  integrity: string
  source: string
}

export class IntegrityError extends Error {
  constructor(what: string, expected: TrustedIntegrity, actual: string, from: string) {
    super(
      `Refusing ${what}: its sha512 does not match. Expected ${expected.integrity} (from ${expected.source}), ` +
        `got ${actual} from ${from}. Nothing from it was installed or run.`
    )
    this.name = 'IntegrityError'
  }
}

/** The integrity the committed table holds for a version and platform, if the version is pinned. */
export function pinnedIntegrity(version: string, npmPlatform: string): TrustedIntegrity | undefined {
  const integrity = PINNED_INTEGRITY[version]?.[npmPlatform]
  return integrity ? { integrity, source: `the integrity table shipped with this action (src/install/pinned.ts)` } : undefined
}

/** The files of the installed tree of a version and platform, if the pin table lists them. */
export function pinnedFiles(version: string, npmPlatform: string): TreeManifest | undefined {
  return PINNED_FILES[version]?.[npmPlatform]
}

export function sriOf(hash: ReturnType<typeof createHash>): string {
  return `sha512-${hash.digest('base64')}`
}

export function checkIntegrity(what: string, expected: TrustedIntegrity, actual: string, from: string): void {
  if (expected.integrity !== actual) throw new IntegrityError(what, expected, actual, from)
}
