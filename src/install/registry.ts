import * as core from '@actions/core'
import { HttpClient } from '@actions/http-client'
import type { TrustedIntegrity } from './integrity.js'
import { verifyRegistrySignature, type RegistryKey, type RegistrySignature } from './signatures.js'

const PACKAGE = '@openai/codex'

/** One npm registry (or a mirror under a path prefix) and the token that only it may see. */
export class NpmRegistry {
  private readonly base: string

  constructor(
    registryUrl: string,
    private readonly token?: string
  ) {
    this.base = registryUrl.replace(/\/+$/, '')
  }

  get origin(): string {
    return this.base
  }

  tarballUrl(version: string, npmPlatform: string): string {
    return `${this.base}/${PACKAGE}/-/codex-${version}-${npmPlatform}.tgz`
  }

  /** Auth for `url`, only when it lies under this registry: a tarball served from elsewhere gets no token. */
  headersFor(url: string): Record<string, string> {
    return this.token && (url === this.base || url.startsWith(`${this.base}/`)) ? { authorization: `Bearer ${this.token}` } : {}
  }

  async latestVersion(): Promise<string> {
    const document = await this.document('latest')
    if (typeof document.version !== 'string') throw new Error(`${this.base} gave no version for ${PACKAGE}@latest`)
    return document.version
  }

  /**
   * The registry's own word on a platform tarball: where it is and its sha512, with the registry's
   * signature over that sha512 verified where the registry publishes signatures.
   */
  async platformRelease(version: string, npmPlatform: string): Promise<{ tarball: string; expected: TrustedIntegrity }> {
    const spec = `${version}-${npmPlatform}`
    const document = await this.document(spec)
    const integrity = document.dist?.integrity
    if (typeof integrity !== 'string' || !integrity.startsWith('sha512-')) {
      throw new Error(`${this.base} publishes no sha512 integrity for ${PACKAGE}@${spec}; refusing to install unverified bytes.`)
    }
    let source = `the registry ${this.base}`
    const signatures = document.dist?.signatures
    if (Array.isArray(signatures) && signatures.length > 0) {
      const keys = await this.publicKeys()
      if (keys) {
        const keyid = verifyRegistrySignature(`${PACKAGE}@${spec}`, integrity, signatures as RegistrySignature[], keys)
        source += `, signed with its key ${keyid}`
      } else {
        core.warning(`${this.base} signs ${PACKAGE}@${spec} but publishes no public keys (/-/npm/v1/keys); relying on its sha512 alone.`)
      }
    }
    return {
      tarball: typeof document.dist?.tarball === 'string' ? document.dist.tarball : this.tarballUrl(version, npmPlatform),
      expected: { integrity, source }
    }
  }

  /** The registry's signing keys, or undefined where it publishes none. */
  private async publicKeys(): Promise<RegistryKey[] | undefined> {
    const answer = (await this.get(`${this.base}/-/npm/v1/keys`, 'its signing keys', true)) as { keys?: unknown } | undefined
    return Array.isArray(answer?.keys) ? (answer.keys as RegistryKey[]) : undefined
  }

  private async document(spec: string): Promise<{ version?: unknown; dist?: { integrity?: unknown; tarball?: unknown; signatures?: unknown } }> {
    return (await this.get(`${this.base}/${PACKAGE.replace('/', '%2f')}/${spec}`, `${PACKAGE}@${spec}`, false)) as object
  }

  private async get(url: string, what: string, missingIsUndefined: boolean): Promise<unknown> {
    // GETs are retried on 502/503/504 by the client itself.
    const client = new HttpClient('codex-action', [], { socketTimeout: 30_000, allowRetries: true, maxRetries: 3 })
    try {
      const response = await client.get(url, { accept: 'application/json', ...this.headersFor(url) })
      const status = response.message.statusCode ?? 0
      const body = await response.readBody()
      if (status === 404 && missingIsUndefined) return undefined
      if (status === 404) throw new Error(`${what} is not published on ${this.base} (HTTP 404).`)
      if (status !== 200) throw new Error(`${this.base} answered HTTP ${status} for ${what}.`)
      return JSON.parse(body)
    } finally {
      client.dispose()
    }
  }
}
