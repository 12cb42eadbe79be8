import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { DefaultArtifactClient } from '@actions/artifact'
import * as cache from '@actions/cache'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readZip, startResultsService, type ResultsService } from './results-service.js'

let service: ResultsService
let tmp: string
let savedEnv: NodeJS.ProcessEnv

const report = (line: string) => process.stderr.write(`[results-service.test] ${line}\n`)

async function timed<T>(work: () => Promise<T>): Promise<{ value?: T; error?: Error; ms: number }> {
  const start = performance.now()
  try {
    const value = await work()
    return { value, ms: performance.now() - start }
  } catch (error) {
    return { error: error as Error, ms: performance.now() - start }
  }
}

beforeAll(async () => {
  service = await startResultsService()
  tmp = await mkdtemp(path.join(os.tmpdir(), 'results-service-test-'))
  savedEnv = { ...process.env }
  Object.assign(process.env, service.env, {
    RUNNER_TEMP: path.join(tmp, 'runner-temp'),
    GITHUB_WORKSPACE: path.join(tmp, 'workspace')
  })
  await mkdir(process.env.RUNNER_TEMP!, { recursive: true })
  await mkdir(process.env.GITHUB_WORKSPACE!, { recursive: true })
})

afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key]
  Object.assign(process.env, savedEnv)
  await service?.close()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('artifacts with the real @actions/artifact client', () => {
  const files: Record<string, Buffer> = {
    'report.md': Buffer.from('# Report\n\nAll good.\n'),
    'nested/dir/patch.diff': Buffer.from('diff --git a/x b/x\n+ü and ✓\n'),
    'nested/empty.txt': Buffer.alloc(0),
    // Random bytes above the client's 8 MiB chunk: the upload takes several staged blocks.
    'bin/blob.bin': randomBytes(9 * 1024 * 1024 + 123)
  }
  let root: string
  let uploadedId: number

  it('uploads several files and keeps them byte-exact', async () => {
    root = path.join(tmp, 'artifact-src')
    for (const [name, data] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(root, name)), { recursive: true })
      await writeFile(path.join(root, name), data)
    }
    const client = new DefaultArtifactClient()
    const result = await client.uploadArtifact(
      'codex-patch',
      Object.keys(files).map(f => path.join(root, f)),
      root,
      { retentionDays: 3, compressionLevel: 1 }
    )
    expect(result.id).toBeGreaterThan(0)
    uploadedId = result.id!
    expect(service.artifacts).toHaveLength(1)
    const stored = service.artifacts[0]!
    expect(stored.id).toBe(result.id)
    expect(stored.name).toBe('codex-patch')
    expect(stored.size).toBe(result.size)
    expect(stored.size).toBe(stored.zip.length)
    expect(stored.hash).toBe(`sha256:${result.digest}`)
    expect(stored.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect([...stored.files.keys()].sort()).toEqual(Object.keys(files).sort())
    for (const [name, data] of Object.entries(files)) expect(stored.files.get(name)!.equals(data)).toBe(true)

    const blobCalls = service.calls.filter(c => c.service === 'blob').map(c => `${c.method}:${c.status}`)
    expect(blobCalls.filter(c => c === 'PutBlock:201').length).toBeGreaterThanOrEqual(2)
    expect(blobCalls).toContain('PutBlockList:201')
    expect(service.calls.filter(c => c.service === 'artifact').map(c => c.method)).toEqual(['CreateArtifact', 'FinalizeArtifact'])
  })

  it('lists, gets and downloads the artifact back', async () => {
    const client = new DefaultArtifactClient()
    const { artifacts } = await client.listArtifacts()
    expect(artifacts).toEqual([
      expect.objectContaining({ id: uploadedId, name: 'codex-patch', size: service.artifacts[0]!.size, digest: service.artifacts[0]!.hash })
    ])
    expect(artifacts[0]!.createdAt).toBeInstanceOf(Date)
    const { artifact } = await client.getArtifact('codex-patch')
    expect(artifact.id).toBe(uploadedId)

    const dest = path.join(tmp, 'artifact-dest')
    const { downloadPath, digestMismatch } = await client.downloadArtifact(uploadedId, {
      path: dest,
      expectedHash: service.artifacts[0]!.hash
    })
    expect(downloadPath).toBe(dest)
    expect(digestMismatch).toBe(false)
    for (const [name, data] of Object.entries(files)) {
      expect((await readFile(path.join(dest, name))).equals(data)).toBe(true)
    }
  })

  it('refuses a second artifact of the same name with 409, at once', async () => {
    const client = new DefaultArtifactClient()
    const { error, ms } = await timed(() => client.uploadArtifact('codex-patch', [path.join(root, 'report.md')], root))
    expect(error?.message).toMatch(/\(409\) Conflict: an artifact with this name already exists/)
    expect(ms).toBeLessThan(2000)
  })

  it('serves byte ranges of a signed download URL', async () => {
    const signed = await fetch(new URL('twirp/github.actions.results.api.v1.ArtifactService/GetSignedArtifactURL', service.url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${service.runtimeToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ workflow_run_backend_id: service.runBackendId, workflow_job_run_backend_id: service.jobBackendId, name: 'codex-patch' })
    })
    const { signed_url } = (await signed.json()) as { signed_url: string }
    const zip = service.artifacts[0]!.zip
    const partial = await fetch(signed_url, { headers: { Range: 'bytes=10-19' } })
    expect(partial.status).toBe(206)
    expect(partial.headers.get('content-range')).toBe(`bytes 10-19/${zip.length}`)
    expect(Buffer.from(await partial.arrayBuffer()).equals(zip.subarray(10, 20))).toBe(true)
    const forged = await fetch(signed_url.replace(/sig=[^&]+/, 'sig=forged'))
    expect(forged.status).toBe(403)
  })

  it('checks the bearer token and the backend ids against the token scope', async () => {
    const endpoint = new URL('twirp/github.actions.results.api.v1.ArtifactService/ListArtifacts', service.url)
    const body = JSON.stringify({ workflow_run_backend_id: service.runBackendId, workflow_job_run_backend_id: service.jobBackendId })
    const noToken = await fetch(endpoint, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } })
    expect(noToken.status).toBe(401)
    const otherRun = await fetch(endpoint, {
      method: 'POST',
      headers: { Authorization: `Bearer ${service.runtimeToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ workflow_run_backend_id: 'someone-else', workflow_job_run_backend_id: service.jobBackendId })
    })
    expect(otherRun.status).toBe(403)
    expect(await otherRun.json()).toMatchObject({ code: 'permission_denied' })
  })

  it('artifactRefused: the client fails at once with a network error', async () => {
    service.faults.artifactRefused = true
    try {
      const { error, ms } = await timed(() => new DefaultArtifactClient().uploadArtifact('refused', [path.join(root, 'report.md')], root))
      expect(error?.message).toMatch(/ECONNRESET/)
      expect(ms).toBeLessThan(2000)
      report(`artifactRefused: uploadArtifact rejected after ${Math.round(ms)} ms`)
    } finally {
      service.faults.artifactRefused = false
    }
  })

  it('artifactStatus 403: the client fails on the first attempt', async () => {
    service.faults.artifactStatus = 403
    const before = service.calls.length
    try {
      const { error, ms } = await timed(() => new DefaultArtifactClient().uploadArtifact('forbidden', [path.join(root, 'report.md')], root))
      expect(error?.message).toMatch(/non-retryable error: Failed request: \(403\)/)
      expect(ms).toBeLessThan(2000)
      expect(service.calls.slice(before)).toEqual([{ service: 'artifact', method: 'CreateArtifact', status: 403 }])
    } finally {
      delete service.faults.artifactStatus
    }
  })
})

describe('cache with the real @actions/cache client (v2 service)', () => {
  const contents: Record<string, Buffer> = {
    'a.txt': Buffer.from('alpha\n'),
    'sub/b.bin': randomBytes(300_000),
    'sub/deeper/c.json': Buffer.from('{"c":3}\n')
  }
  let cacheDir: string

  it('saves a directory and restores it byte-exact into a fresh workspace', async () => {
    const workspace1 = process.env.GITHUB_WORKSPACE!
    cacheDir = path.join(workspace1, 'codex-home')
    for (const [name, data] of Object.entries(contents)) {
      await mkdir(path.dirname(path.join(cacheDir, name)), { recursive: true })
      await writeFile(path.join(cacheDir, name), data)
    }
    const id = await cache.saveCache([cacheDir], 'codex-linux-x64-1.2.3')
    expect(id).toBeGreaterThan(0)
    expect(service.caches).toHaveLength(1)
    expect(service.caches[0]!.key).toBe('codex-linux-x64-1.2.3')
    expect(service.caches[0]!.version).toMatch(/^[0-9a-f]{64}$/)
    report(`cache archive: ${service.caches[0]!.archive.length} bytes, magic ${service.caches[0]!.archive.subarray(0, 4).toString('hex')}`)
    expect(service.calls.filter(c => c.service === 'blob').at(-1)).toEqual({ service: 'blob', method: 'PutBlob', status: 201 })

    // Same path list (so the same version), but tar extracts relative to the new workspace.
    const workspace2 = path.join(tmp, 'workspace2')
    await mkdir(workspace2, { recursive: true })
    process.env.GITHUB_WORKSPACE = workspace2
    try {
      const hit = await cache.restoreCache([cacheDir], 'codex-linux-x64-1.2.3')
      expect(hit).toBe('codex-linux-x64-1.2.3')
      for (const [name, data] of Object.entries(contents)) {
        expect((await readFile(path.join(workspace2, 'codex-home', name))).equals(data)).toBe(true)
      }
      const prefixHit = await cache.restoreCache([cacheDir], 'codex-linux-x64-9.9.9', ['codex-linux-x64-'])
      expect(prefixHit).toBe('codex-linux-x64-1.2.3')
    } finally {
      process.env.GITHUB_WORKSPACE = workspace1
    }
  })

  it('a miss returns undefined (other key, or other paths so another version)', async () => {
    expect(await cache.restoreCache([cacheDir], 'no-such-key')).toBeUndefined()
    expect(await cache.restoreCache([path.join(tmp, 'elsewhere')], 'codex-linux-x64-1.2.3')).toBeUndefined()
  })

  it('an existing key+version conflicts (409) without a retry', async () => {
    const before = service.calls.length
    const { value, ms } = await timed(() => cache.saveCache([cacheDir], 'codex-linux-x64-1.2.3'))
    expect(value).toBe(-1)
    expect(ms).toBeLessThan(2000)
    expect(service.calls.slice(before)).toEqual([{ service: 'cache', method: 'CreateCacheEntry', status: 409 }])
  })

  it('cacheConflict makes saveCache return -1 quickly, with a single CreateCacheEntry', async () => {
    service.faults.cacheConflict = true
    const before = service.calls.length
    try {
      const { value, ms } = await timed(() => cache.saveCache([cacheDir], 'fresh-key-never-saved'))
      expect(value).toBe(-1)
      expect(ms).toBeLessThan(2000)
      report(`cacheConflict: saveCache returned -1 after ${Math.round(ms)} ms`)
      expect(service.calls.slice(before)).toEqual([{ service: 'cache', method: 'CreateCacheEntry', status: 409 }])
    } finally {
      service.faults.cacheConflict = false
    }
  })

  it('cacheDelayMs delays every cache answer', async () => {
    service.faults.cacheDelayMs = 700
    try {
      const { value, ms } = await timed(() => cache.restoreCache([cacheDir], 'no-such-key'))
      expect(value).toBeUndefined()
      expect(ms).toBeGreaterThanOrEqual(650)
    } finally {
      delete service.faults.cacheDelayMs
    }
  })
})

describe('service down: how long the real clients retry', () => {
  // One test so the three retry loops (~25-35 s each) overlap instead of adding up.
  it('artifactDown rejects uploadArtifact; cacheDown makes saveCache -1 and restoreCache undefined', async () => {
    const src = path.join(tmp, 'down-src')
    await mkdir(src, { recursive: true })
    await writeFile(path.join(src, 'x.txt'), 'x')
    service.faults.artifactDown = true
    service.faults.cacheDown = true
    const before = service.calls.length
    try {
      const [upload, save, restore] = await Promise.all([
        timed(() => new DefaultArtifactClient().uploadArtifact('down', [path.join(src, 'x.txt')], src)),
        timed(() => cache.saveCache([src], 'down-key')),
        timed(() => cache.restoreCache([src], 'down-key'))
      ])
      report(`artifactDown: uploadArtifact rejected after ${Math.round(upload.ms)} ms: ${upload.error?.message}`)
      report(`cacheDown: saveCache returned ${save.value} after ${Math.round(save.ms)} ms`)
      report(`cacheDown: restoreCache returned ${restore.value} after ${Math.round(restore.ms)} ms`)
      expect(upload.error?.message).toMatch(/Failed to make request after 5 attempts: Failed request: \(503\)/)
      expect(save.value).toBe(-1)
      expect(restore.value).toBeUndefined()
      // 3000 + [4500,6750) + [6750,10125) + [10125,15188) ms of sleeps between 5 attempts.
      for (const t of [upload, save, restore]) {
        expect(t.ms).toBeGreaterThan(24_000)
        expect(t.ms).toBeLessThan(40_000)
      }
      const newCalls = service.calls.slice(before)
      expect(newCalls.filter(c => c.service === 'artifact')).toHaveLength(5)
      expect(newCalls.filter(c => c.method === 'CreateCacheEntry')).toHaveLength(5)
      expect(newCalls.filter(c => c.method === 'GetCacheEntryDownloadURL')).toHaveLength(5)
    } finally {
      service.faults.artifactDown = false
      service.faults.cacheDown = false
    }
  }, 60_000)
})

describe('readZip', () => {
  it('reads what the system zip writes (stored and deflated)', async () => {
    const { execFileSync } = await import('node:child_process')
    try {
      execFileSync('zip', ['-v'], { stdio: 'ignore' })
    } catch {
      return // no zip binary: the artifact tests above already cover archiver's zips
    }
    const dir = await mkdtemp(path.join(tmp, 'zip-'))
    await writeFile(path.join(dir, 'text.txt'), 'hello '.repeat(1000))
    await writeFile(path.join(dir, 'rand.bin'), randomBytes(5000))
    execFileSync('zip', ['-q', '-r', 'out.zip', 'text.txt', 'rand.bin'], { cwd: dir })
    const entries = readZip(await readFile(path.join(dir, 'out.zip')))
    expect(entries.get('text.txt')!.toString()).toBe('hello '.repeat(1000))
    expect(entries.get('rand.bin')!.equals(await readFile(path.join(dir, 'rand.bin')))).toBe(true)
  })
})
