import * as cache from '@actions/cache'
import * as core from '@actions/core'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'

// The Actions cache keys an entry by the literal paths it was saved with, so the path must read the
// same on every runner: a home-relative one does, a RUNNER_TEMP one does not on every self-hosted runner.
const RESTORE_TIME_BOX_MS = 60_000

export type RestoreResult = 'restored' | 'miss' | 'timed-out'

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
    if (!cache.isFeatureAvailable()) return 'miss'
    let timer: NodeJS.Timeout | undefined
    const timeBox = new Promise<'timed-out'>((resolve) => {
      timer = setTimeout(() => resolve('timed-out'), RESTORE_TIME_BOX_MS)
    })
    try {
      const restored = await Promise.race([cache.restoreCache([this.cachePath], this.key), timeBox])
      if (restored === 'timed-out') {
        core.notice(`The Actions cache took over ${RESTORE_TIME_BOX_MS / 1000} s to restore Codex ${this.version}; downloading instead.`)
        return 'timed-out'
      }
      return restored && existsSync(this.file) ? 'restored' : 'miss'
    } catch (error) {
      core.notice(`The Actions cache could not restore Codex ${this.version} (${(error as Error).message}); downloading instead.`)
      return 'miss'
    } finally {
      clearTimeout(timer)
    }
  }

  /** Keeps the verified tarball at `file` for later runs; a conflict or an outage costs a line, never the run. */
  async save(): Promise<void> {
    if (!cache.isFeatureAvailable()) return
    try {
      await cache.saveCache([this.cachePath], this.key)
    } catch (error) {
      core.notice(`The Actions cache could not keep Codex ${this.version} for later runs (${(error as Error).message}).`)
    }
  }
}
