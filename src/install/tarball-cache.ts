import * as core from '@actions/core'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'

// The Actions cache keys an entry by the literal paths it was saved with, so the path must read the
// same on every runner: a home-relative one does, a RUNNER_TEMP one does not on every self-hosted runner.
// A healthy miss answers in well under a second and a 167 MB restore takes a few; the registry
// download it competes with takes a few seconds too. Past these, the cache is costing, not saving.
const RESTORE_TIME_BOX_MS = 20_000
const SLOW_ANSWER_MS = 5_000
const SAVE_TIME_BOX_MS = 30_000

/** `unavailable`: the service failed or was slow, so saving to it would only cost more time. */
export type RestoreResult = 'restored' | 'miss' | 'unavailable'

/** One platform tarball as the Actions cache keeps it between workflow runs. */
export class TarballCache {
  private readonly cachePath: string
  readonly file: string
  readonly key: string

  constructor(
    private readonly version: string,
    npmPlatform: string
  ) {
    this.cachePath = `~/.cache/codex-action/codex-${version}-${npmPlatform}.tgz`
    this.file = this.cachePath.replace(/^~/, homedir())
    this.key = `codex-action-cli-${version}-${npmPlatform}`
  }

  /**
   * Brings the tarball an earlier workflow run saved back to `file`. Every failure is a one-line notice
   * and a miss: the cache may only ever save time. The caller verifies the bytes before using them.
   */
  async restore(): Promise<RestoreResult> {
    const cache = await loadCache()
    if (!cache.isFeatureAvailable()) return 'miss'
    const started = Date.now()
    try {
      const restored = await timeBoxed(cache.restoreCache([this.cachePath], this.key), RESTORE_TIME_BOX_MS)
      if (restored === TIMED_OUT) {
        core.notice(`The Actions cache took over ${RESTORE_TIME_BOX_MS / 1000} s to restore Codex ${this.version}; downloading instead, and not saving.`)
        return 'unavailable'
      }
      if (restored && existsSync(this.file)) return 'restored'
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

  /** Keeps the verified tarball at `file` for later runs; a conflict or an outage costs a line, never the run. */
  async save(): Promise<void> {
    const cache = await loadCache()
    if (!cache.isFeatureAvailable()) return
    try {
      if ((await timeBoxed(cache.saveCache([this.cachePath], this.key), SAVE_TIME_BOX_MS)) === TIMED_OUT) {
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
