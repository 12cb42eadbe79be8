import { HttpClient } from '@actions/http-client'
import type { TrustedIntegrity } from './integrity.js'

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

  /** The registry's own word on a platform tarball: where it is and its sha512. */
  async platformRelease(version: string, npmPlatform: string): Promise<{ tarball: string; expected: TrustedIntegrity }> {
    const document = await this.document(`${version}-${npmPlatform}`)
    const integrity = document.dist?.integrity
    if (typeof integrity !== 'string' || !integrity.startsWith('sha512-')) {
      throw new Error(`${this.base} publishes no sha512 integrity for ${PACKAGE}@${version}-${npmPlatform}; refusing to install unverified bytes.`)
    }
    return {
      tarball: typeof document.dist?.tarball === 'string' ? document.dist.tarball : this.tarballUrl(version, npmPlatform),
      expected: { integrity, source: `the registry ${this.base}` }
    }
  }

  private async document(spec: string): Promise<{ version?: unknown; dist?: { integrity?: unknown; tarball?: unknown } }> {
    const url = `${this.base}/${PACKAGE.replace('/', '%2f')}/${spec}`
    // GETs are retried on 502/503/504 by the client itself.
    const client = new HttpClient('codex-action', [], { socketTimeout: 30_000, allowRetries: true, maxRetries: 3 })
    try {
      const response = await client.get(url, { accept: 'application/json', ...this.headersFor(url) })
      const status = response.message.statusCode ?? 0
      const body = await response.readBody()
      if (status === 404) throw new Error(`${PACKAGE}@${spec} is not published on ${this.base} (HTTP 404).`)
      if (status !== 200) throw new Error(`${this.base} answered HTTP ${status} for ${PACKAGE}@${spec}.`)
      return JSON.parse(body)
    } finally {
      client.dispose()
    }
  }
}
