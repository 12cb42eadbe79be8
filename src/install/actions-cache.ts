import * as core from '@actions/core'
import { createHash, randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, rm } from 'node:fs/promises'
import { homedir } from 'node:os'
import path from 'node:path'

// The Actions cache keys an entry by the literal paths it was saved with, so the path must read the
// same on every runner: a home-relative one does, a RUNNER_TEMP one does not on every self-hosted runner.
// A healthy miss answers in well under a second and a 167 MB restore takes a few; the registry
// download it competes with takes a few seconds too. Past these, the cache is costing, not saving.
const RESTORE_TIME_BOX_MS = 20_000
const SLOW_ANSWER_MS = 5_000
const SAVE_TIME_BOX_MS = 30_000

/** `unavailable`: the service failed or was slow, so saving to it would only cost more time. */
export type RestoreResult = 'restored' | 'miss' | 'unavailable'

/**
 * What one install keeps in the Actions cache between workflow runs: the installed tree (for
 * versions whose files the pin table lists) or the platform tarball (for other versions).
 *
 * Anyone holding a run's runtime token can write any key, and an entry under a key is never
 * replaced. So no key is ever looked up exactly: every save gets a fresh key under a prefix that
 * names the version, the platform and the digest of what is expected (the manifest or the sha512),
 * and a restore takes the newest entry under that prefix. An entry the installer refused is
 * followed by a fresh save, which later runs restore instead; a changed pin table starts a new prefix.
 */
export class InstallCache {
  private readonly cachePath: string
  /** Where @actions/cache restores the entry and where a save takes it from: a folder only this user can enter. */
  readonly path: string
  private readonly keyPrefix: string
  /** The key of the entry the last restore brought back, and how long @actions/cache took to bring it. */
  restored?: { key: string; ms: number }

  constructor(
    private readonly version: string,
    npmPlatform: string,
    readonly kind: 'tree' | 'tarball',
    /** What a restored entry must match: the pin table's manifest of the tree, or the tarball's sha512. */
    expected: string
  ) {
    this.cachePath = kind === 'tree' ? `~/.cache/codex-action/codex-${version}-${npmPlatform}` : `~/.cache/codex-action/codex-${version}-${npmPlatform}.tgz`
    this.path = this.cachePath.replace(/^~/, homedir())
    this.keyPrefix = `codex-action-${kind}-${version}-${npmPlatform}-${createHash('sha256').update(expected).digest('hex').slice(0, 16)}`
  }

  /** Empties `path` and makes its folder private to this user: what lands there is not trusted until verified. */
  async prepare(): Promise<void> {
    const folder = path.dirname(this.path)
    await mkdir(folder, { recursive: true, mode: 0o700 })
    await chmod(folder, 0o700)
    await rm(this.path, { recursive: true, force: true })
  }

  /**
   * Brings the newest entry an earlier workflow run saved back to `path`. Every failure is a one-line notice
   * and a miss: the cache may only ever save time. The caller verifies what came back before using it.
   */
  async restore(): Promise<RestoreResult> {
    const cache = await loadCache()
    if (!cache.isFeatureAvailable()) return 'miss'
    await this.prepare()
    const started = Date.now()
    try {
      // A key no one can have saved: only the prefix matches, and the newest entry wins.
      const lookup = `${this.keyPrefix}-lookup-${randomUUID()}`
      const restored = await timeBoxed(cache.restoreCache([this.cachePath], lookup, [`${this.keyPrefix}-`]), RESTORE_TIME_BOX_MS)
      if (restored === TIMED_OUT) {
        core.notice(`The Actions cache took over ${RESTORE_TIME_BOX_MS / 1000} s to restore Codex ${this.version}; downloading instead, and not saving.`)
        return 'unavailable'
      }
      if (restored && existsSync(this.path)) {
        this.restored = { key: restored, ms: Date.now() - started }
        return 'restored'
      }
      // restoreCache answers a service failure like a miss, only slower (it retries for ~30 s).
      if (Date.now() - started > SLOW_ANSWER_MS) {
        core.notice(`The Actions cache answered slowly (${Math.round((Date.now() - started) / 1000)} s); downloading Codex ${this.version} and not saving it.`)
        return 'unavailable'
      }
      return 'miss'
    } catch (error) {
      core.notice(`The Actions cache could not restore Codex ${this.version} (${(error as Error).message}); downloading instead.`)
      return 'unavailable'
    }
  }

  /** Keeps what is at `path` for later runs under a fresh key; a conflict or an outage costs a line, never the run. */
  async save(): Promise<void> {
    const cache = await loadCache()
    if (!cache.isFeatureAvailable()) return
    const key = `${this.keyPrefix}-${process.env.GITHUB_RUN_ID ?? 'local'}-${randomUUID().slice(0, 8)}`
    try {
      if ((await timeBoxed(cache.saveCache([this.cachePath], key), SAVE_TIME_BOX_MS)) === TIMED_OUT) {
        core.notice(`The Actions cache took over ${SAVE_TIME_BOX_MS / 1000} s to keep Codex ${this.version}; going on without it.`)
      }
    } catch (error) {
      core.notice(`The Actions cache could not keep Codex ${this.version} for later runs (${(error as Error).message}).`)
    }
  }
}

const TIMED_OUT = Symbol('timed out')

/** The work's result, or TIMED_OUT after `ms`; the work itself cannot be cancelled, so main exits without waiting for it. */
async function timeBoxed<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined
  const timeBox = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms)
  })
  try {
    return await Promise.race([work, timeBox])
  } finally {
    clearTimeout(timer)
  }
}

/** The cache client and its storage SDK load only on a tool-cache miss: a warm run never pays for them. */
function loadCache(): Promise<typeof import('@actions/cache')> {
  return import('@actions/cache')
}
