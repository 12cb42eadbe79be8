/**
 * A fake GitHub Actions results service on 127.0.0.1, close enough to the real
 * one that the unmodified `@actions/artifact` 6 and `@actions/cache` 6 (v2
 * service) clients work against it:
 *
 * - Twirp JSON: `POST /twirp/github.actions.results.api.v1.ArtifactService/<Method>`
 *   and `.../CacheService/<Method>`, int64 fields as strings, errors as
 *   `{code, msg}` with the matching HTTP status.
 * - Signed blob URLs in Azure "IP endpoint" style
 *   (`http://127.0.0.1:PORT/<account>/<container>/<blob>?…&sig=…`): the Azure
 *   SDK (which both clients use for uploads) parses a host that is an IP
 *   address as path-style, so the first path segment must be the account name.
 *   Uploads: `PUT ?comp=block&blockid=`, `PUT ?comp=blocklist` (XML body), and
 *   single-shot `PUT` with `x-ms-blob-type: BlockBlob`. Downloads: `GET`, with
 *   `Range` honoured. (Both clients download with plain `@actions/http-client`
 *   GETs here: `@actions/cache` uses the Azure SDK for downloads only when the
 *   host ends in `.blob.core.windows.net`.)
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import zlib from 'node:zlib'
import { makeRuntimeToken } from './jwt.js'

export interface StoredArtifact {
  id: number
  name: string
  /** Bytes uploaded, as the client reported it in FinalizeArtifact (checked against the blob). */
  size: number
  /** `sha256:<hex>` of the uploaded bytes (checked against the blob when the client sends it). */
  hash: string
  /** The uploaded bytes: a zip, or the raw file when the client used `skipArchive`. */
  zip: Buffer
  /** Unzipped entries keyed by their path in the zip (directories left out). For a `skipArchive` upload: the one raw file under its name. */
  files: Map<string, Buffer>
  /** RFC 3339 expiry the client asked for (`retentionDays`), if any. */
  expiresAt?: string
  /** Content type the client gave the blob (`application/zip` for zips). */
  contentType: string
  createdAt: string
}

export interface StoredCache {
  key: string
  version: string
  /** The archive as uploaded (a tar, zstd-compressed when `zstd` is on PATH). */
  archive: Buffer
  id: number
}

export interface Faults {
  /** Every artifact Twirp call answers 503: the client retries 5 times (~25–35 s) and then rejects. */
  artifactDown?: boolean
  /** Every artifact Twirp call has its socket destroyed: ECONNRESET, which the client turns into a NetworkError at once (no retry). */
  artifactRefused?: boolean
  /**
   * Every artifact Twirp call answers this HTTP status as a Twirp error. 500/502/503/504/429
   * are retried like `artifactDown`; any other 4xx (e.g. 403) makes the client reject on the
   * first attempt — the fast way to test "artifact service failed". Wins over `artifactDown`.
   */
  artifactStatus?: number
  /** Every cache Twirp call answers 503: the client retries 5 times (~25–35 s) then saveCache returns -1 / restoreCache returns undefined. */
  cacheDown?: boolean
  /**
   * Every cache Twirp call answers this status. 500/502/503/504 are retried; 429 and other
   * 4xx fail on the first attempt. Wins over `cacheDown`.
   */
  cacheStatus?: number
  /** CreateCacheEntry answers 409 `already_exists` as the real service does when the key+version exists. */
  cacheConflict?: boolean
  /** Delay every cache answer (Twirp and cache blob requests) by this many milliseconds. */
  cacheDelayMs?: number
}

export interface ServiceCall {
  service: 'artifact' | 'cache' | 'blob'
  /** Twirp method name, or for blobs one of PutBlock, PutBlockList, PutBlob, GetBlob, HeadBlob. */
  method: string
  /** HTTP status answered; 0 when the socket was destroyed. */
  status: number
}

export interface ResultsService {
  /** Origin with a trailing slash, e.g. `http://127.0.0.1:PORT/`. */
  url: string
  /** Everything the toolkit clients need; spread into process.env or a runner's env. */
  env: Record<string, string>
  runtimeToken: string
  runBackendId: string
  jobBackendId: string
  artifacts: StoredArtifact[]
  caches: StoredCache[]
  calls: ServiceCall[]
  /** Mutable at any time. */
  faults: Faults
  close(): Promise<void>
}

const ARTIFACT_SERVICE = 'github.actions.results.api.v1.ArtifactService'
const CACHE_SERVICE = 'github.actions.results.api.v1.CacheService'
const ACCOUNT = 'devstoreaccount1'

/** Twirp error codes by HTTP status, for faults given as a bare status. */
function twirpCodeFor(status: number): string {
  switch (status) {
    case 400: return 'invalid_argument'
    case 401: return 'unauthenticated'
    case 403: return 'permission_denied'
    case 404: return 'not_found'
    case 409: return 'already_exists'
    case 412: return 'failed_precondition'
    case 429: return 'resource_exhausted'
    case 503: return 'unavailable'
    case 504: return 'deadline_exceeded'
    default: return status >= 500 ? 'internal' : 'unknown'
  }
}

class TwirpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

interface BlobRecord {
  container: 'artifacts' | 'caches'
  blocks: Map<string, Buffer>
  data?: Buffer
  contentType?: string
  /** File name offered on download (Content-Disposition). */
  downloadName?: string
}

interface SignedUrl {
  blobKey: string
  permissions: 'w' | 'r'
}

interface PendingArtifact {
  name: string
  blobKey: string
  expiresAt?: string
  runBackendId: string
  jobBackendId: string
}

interface CacheReservation {
  key: string
  version: string
  blobKey: string
  finalized: boolean
}

/* ------------------------------------------------------------------------- */
/* Zip reading: central directory + stored/deflated entries (no zip64).       */

/** Read every file entry of a zip (directories skipped). Throws on anything it cannot read. */
export function readZip(zip: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  let eocd = -1
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) { eocd = i; break }
  }
  if (eocd < 0) throw new Error('not a zip: end of central directory not found')
  const count = zip.readUInt16LE(eocd + 10)
  let offset = zip.readUInt32LE(eocd + 16)
  if (count === 0xffff || offset === 0xffffffff) throw new Error('zip64 archives are not supported')
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`bad central directory entry ${n}`)
    const method = zip.readUInt16LE(offset + 10)
    const crc = zip.readUInt32LE(offset + 16)
    const compressedSize = zip.readUInt32LE(offset + 20)
    const size = zip.readUInt32LE(offset + 24)
    const nameLength = zip.readUInt16LE(offset + 28)
    const extraLength = zip.readUInt16LE(offset + 30)
    const commentLength = zip.readUInt16LE(offset + 32)
    const local = zip.readUInt32LE(offset + 42)
    const name = zip.subarray(offset + 46, offset + 46 + nameLength).toString('utf8')
    offset += 46 + nameLength + extraLength + commentLength
    if (name.endsWith('/')) continue
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`bad local header for ${name}`)
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28)
    const raw = zip.subarray(start, start + compressedSize)
    let data: Buffer
    if (method === 0) data = Buffer.from(raw)
    else if (method === 8) data = zlib.inflateRawSync(raw)
    else throw new Error(`unsupported compression method ${method} for ${name}`)
    if (data.length !== size) throw new Error(`size mismatch for ${name}: ${data.length} != ${size}`)
    if (zlib.crc32(data) !== crc) throw new Error(`CRC mismatch for ${name}`)
    files.set(name, data)
  }
  return files
}

/* ------------------------------------------------------------------------- */

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms))

function str(body: Record<string, unknown>, field: string): string {
  const v = body[field]
  return typeof v === 'string' ? v : ''
}

function proxyBypass(): Record<string, string> {
  // @actions/http-client skips proxies for loopback on its own; the Azure SDK (used for
  // uploads) does not, and would send 127.0.0.1 traffic to HTTP(S)_PROXY if one is set.
  const existing = process.env.NO_PROXY ?? process.env.no_proxy ?? ''
  const value = [existing, '127.0.0.1', 'localhost'].filter(Boolean).join(',')
  return { NO_PROXY: value, no_proxy: value }
}

export async function startResultsService(): Promise<ResultsService> {
  const runBackendId = randomUUID()
  const jobBackendId = randomUUID()
  const runtimeToken = makeRuntimeToken(runBackendId, jobBackendId)
  const artifacts: StoredArtifact[] = []
  const caches: StoredCache[] = []
  const calls: ServiceCall[] = []
  const faults: Faults = {}
  const blobs = new Map<string, BlobRecord>()
  const signed = new Map<string, SignedUrl>()
  const pendingArtifacts = new Map<string, PendingArtifact>()
  const reservations: CacheReservation[] = []
  let nextArtifactId = 1
  let nextCacheId = 1
  let origin = ''

  function signUrl(blobKey: string, permissions: 'w' | 'r'): string {
    const sig = randomBytes(24).toString('base64')
    signed.set(sig, { blobKey, permissions })
    const u = new URL(`/${ACCOUNT}/${blobKey}`, origin)
    u.searchParams.set('sv', '2024-11-04')
    u.searchParams.set('se', new Date(Date.now() + 6 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z'))
    u.searchParams.set('sr', 'b')
    u.searchParams.set('sp', permissions === 'w' ? 'cw' : 'r')
    u.searchParams.set('sig', sig)
    return u.toString()
  }

  function newBlob(container: BlobRecord['container'], downloadName?: string): string {
    const key = `${container}/${randomBytes(12).toString('hex')}`
    blobs.set(key, { container, blocks: new Map(), downloadName })
    return key
  }

  function checkBackendIds(body: Record<string, unknown>): void {
    if (str(body, 'workflow_run_backend_id') !== runBackendId || str(body, 'workflow_job_run_backend_id') !== jobBackendId) {
      throw new TwirpError(403, 'permission_denied', 'workflow run/job backend ids do not match the runtime token')
    }
  }

  function committedBlob(blobKey: string): Buffer {
    const data = blobs.get(blobKey)?.data
    if (!data) throw new TwirpError(400, 'failed_precondition', 'no blob has been uploaded for this entry')
    return data
  }

  function artifactJson(a: StoredArtifact): Record<string, unknown> {
    return {
      workflow_run_backend_id: runBackendId,
      workflow_job_run_backend_id: jobBackendId,
      database_id: String(a.id),
      name: a.name,
      size: String(a.size),
      created_at: a.createdAt,
      digest: a.hash
    }
  }

  function artifactMethod(method: string, body: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'CreateArtifact': {
        checkBackendIds(body)
        const name = str(body, 'name')
        if (!name) throw new TwirpError(400, 'invalid_argument', 'name is required')
        if (artifacts.some(a => a.name === name)) {
          throw new TwirpError(409, 'already_exists', 'an artifact with this name already exists on the workflow run')
        }
        const expiresAt = typeof body.expires_at === 'string' ? body.expires_at : undefined
        const blobKey = newBlob('artifacts', name)
        pendingArtifacts.set(name, { name, blobKey, expiresAt, runBackendId, jobBackendId })
        return { ok: true, signed_upload_url: signUrl(blobKey, 'w') }
      }
      case 'FinalizeArtifact': {
        checkBackendIds(body)
        const name = str(body, 'name')
        const pending = pendingArtifacts.get(name)
        if (!pending) throw new TwirpError(404, 'not_found', `no artifact named ${name} is being uploaded`)
        const data = committedBlob(pending.blobKey)
        const size = Number(str(body, 'size') || '0')
        const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
        if (size !== data.length) {
          throw new TwirpError(400, 'invalid_argument', `size ${size} does not match the ${data.length} bytes uploaded`)
        }
        const hash = typeof body.hash === 'string' ? body.hash : ''
        if (hash && hash !== digest) throw new TwirpError(400, 'invalid_argument', `hash ${hash} does not match ${digest}`)
        const contentType = blobs.get(pending.blobKey)?.contentType ?? 'application/octet-stream'
        let files: Map<string, Buffer>
        if (contentType === 'application/zip') {
          try {
            files = readZip(data)
          } catch (err) {
            throw new TwirpError(400, 'invalid_argument', `uploaded zip is unreadable: ${(err as Error).message}`)
          }
        } else {
          files = new Map([[name, data]])
        }
        pendingArtifacts.delete(name)
        const artifact: StoredArtifact = {
          id: nextArtifactId++,
          name,
          size,
          hash: digest,
          zip: data,
          files,
          contentType,
          createdAt: new Date().toISOString()
        }
        if (pending.expiresAt) artifact.expiresAt = pending.expiresAt
        artifacts.push(artifact)
        return { ok: true, artifact_id: String(artifact.id) }
      }
      case 'ListArtifacts': {
        if (str(body, 'workflow_run_backend_id') !== runBackendId) {
          throw new TwirpError(403, 'permission_denied', 'workflow run backend id does not match the runtime token')
        }
        const nameFilter = typeof body.name_filter === 'string' ? body.name_filter : undefined
        const idFilter = body.id_filter === undefined ? undefined : String(body.id_filter)
        const list = artifacts
          .filter(a => nameFilter === undefined || a.name === nameFilter)
          .filter(a => idFilter === undefined || String(a.id) === idFilter)
          .map(artifactJson)
        return { artifacts: list }
      }
      case 'GetSignedArtifactURL': {
        checkBackendIds(body)
        const artifact = artifacts.find(a => a.name === str(body, 'name'))
        if (!artifact) throw new TwirpError(404, 'not_found', 'artifact not found')
        const blobKey = newBlob('artifacts', artifact.contentType === 'application/zip' ? `${artifact.name}.zip` : artifact.name)
        const blob = blobs.get(blobKey)!
        blob.data = artifact.zip
        blob.contentType = artifact.contentType
        return { signed_url: signUrl(blobKey, 'r') }
      }
      case 'DeleteArtifact': {
        checkBackendIds(body)
        const index = artifacts.findIndex(a => a.name === str(body, 'name'))
        if (index < 0) throw new TwirpError(404, 'not_found', 'artifact not found')
        const [removed] = artifacts.splice(index, 1)
        return { ok: true, artifact_id: String(removed!.id) }
      }
      default:
        throw new TwirpError(404, 'bad_route', `no handler for ${ARTIFACT_SERVICE}/${method}`)
    }
  }

  function findCache(key: string, restoreKeys: string[], version: string): StoredCache | undefined {
    const sameVersion = caches.filter(c => c.version === version)
    const newestWithPrefix = (prefix: string) =>
      [...sameVersion].reverse().find(c => c.key.startsWith(prefix))
    const exact = sameVersion.find(c => c.key === key)
    if (exact) return exact
    for (const restoreKey of restoreKeys) {
      const hit = sameVersion.find(c => c.key === restoreKey) ?? newestWithPrefix(restoreKey)
      if (hit) return hit
    }
    return undefined
  }

  function cacheMethod(method: string, body: Record<string, unknown>): Record<string, unknown> {
    const key = str(body, 'key')
    const version = str(body, 'version')
    switch (method) {
      case 'CreateCacheEntry': {
        if (!key || !version) throw new TwirpError(400, 'invalid_argument', 'key and version are required')
        if (faults.cacheConflict || reservations.some(r => r.key === key && r.version === version)) {
          throw new TwirpError(409, 'already_exists', 'cache entry with the same key, version, and scope already exists')
        }
        const blobKey = newBlob('caches')
        reservations.push({ key, version, blobKey, finalized: false })
        return { ok: true, signed_upload_url: signUrl(blobKey, 'w') }
      }
      case 'FinalizeCacheEntryUpload': {
        const reservation = reservations.find(r => r.key === key && r.version === version && !r.finalized)
        if (!reservation) throw new TwirpError(404, 'not_found', 'cache entry not found')
        const data = committedBlob(reservation.blobKey)
        const size = Number(str(body, 'size_bytes') || '0')
        if (size !== data.length) {
          throw new TwirpError(400, 'invalid_argument', `size_bytes ${size} does not match the ${data.length} bytes uploaded`)
        }
        reservation.finalized = true
        const entry: StoredCache = { key, version, archive: data, id: nextCacheId++ }
        caches.push(entry)
        return { ok: true, entry_id: String(entry.id) }
      }
      case 'GetCacheEntryDownloadURL': {
        const restoreKeys = Array.isArray(body.restore_keys) ? body.restore_keys.filter((k): k is string => typeof k === 'string') : []
        const hit = findCache(key, restoreKeys, version)
        if (!hit) return { ok: false, signed_download_url: '', matched_key: '' }
        const blobKey = newBlob('caches')
        const blob = blobs.get(blobKey)!
        blob.data = hit.archive
        blob.contentType = 'application/octet-stream'
        return { ok: true, signed_download_url: signUrl(blobKey, 'r'), matched_key: hit.key }
      }
      default:
        throw new TwirpError(404, 'bad_route', `no handler for ${CACHE_SERVICE}/${method}`)
    }
  }

  function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
    const text = JSON.stringify(value)
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
    res.end(text)
  }

  async function handleTwirp(req: http.IncomingMessage, res: http.ServerResponse, service: 'artifact' | 'cache', method: string): Promise<void> {
    if (service === 'artifact' && faults.artifactRefused) {
      calls.push({ service, method, status: 0 })
      req.socket.destroy()
      return
    }
    if (service === 'cache' && faults.cacheDelayMs) await sleep(faults.cacheDelayMs)
    const body = await readBody(req)
    let status = 200
    let answer: unknown
    try {
      const forced = service === 'artifact'
        ? faults.artifactStatus ?? (faults.artifactDown ? 503 : undefined)
        : faults.cacheStatus ?? (faults.cacheDown ? 503 : undefined)
      if (forced !== undefined) throw new TwirpError(forced, twirpCodeFor(forced), `fault injected: HTTP ${forced}`)
      if (req.method !== 'POST') throw new TwirpError(404, 'bad_route', 'Twirp methods are POST only')
      if (req.headers.authorization !== `Bearer ${runtimeToken}`) {
        throw new TwirpError(401, 'unauthenticated', 'missing or unknown runtime token')
      }
      let parsed: unknown
      try {
        parsed = JSON.parse(body.toString('utf8') || '{}')
      } catch {
        throw new TwirpError(400, 'malformed', 'request body is not JSON')
      }
      if (typeof parsed !== 'object' || parsed === null) throw new TwirpError(400, 'malformed', 'request body is not an object')
      const request = parsed as Record<string, unknown>
      answer = service === 'artifact' ? artifactMethod(method, request) : cacheMethod(method, request)
    } catch (err) {
      if (!(err instanceof TwirpError)) throw err
      status = err.status
      answer = { code: err.code, msg: err.message }
    }
    calls.push({ service, method, status })
    sendJson(res, status, answer)
  }

  function blobError(res: http.ServerResponse, status: number, code: string, message: string): void {
    const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`
    res.writeHead(status, {
      'Content-Type': 'application/xml',
      'Content-Length': Buffer.byteLength(xml),
      'x-ms-error-code': code,
      'x-ms-request-id': randomUUID(),
      'x-ms-version': '2024-11-04'
    })
    res.end(xml)
  }

  async function handleBlob(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const blobKey = decodeURIComponent(url.pathname.slice(ACCOUNT.length + 2))
    const blob = blobs.get(blobKey)
    const comp = url.searchParams.get('comp')
    const method = req.method === 'PUT'
      ? comp === 'block' ? 'PutBlock' : comp === 'blocklist' ? 'PutBlockList' : 'PutBlob'
      : req.method === 'HEAD' ? 'HeadBlob' : 'GetBlob'
    if (blob?.container === 'caches' && faults.cacheDelayMs) await sleep(faults.cacheDelayMs)
    const body = await readBody(req)
    const record = (status: number) => calls.push({ service: 'blob', method, status })
    const grant = signed.get(url.searchParams.get('sig') ?? '')
    if (!blob || !grant || grant.blobKey !== blobKey) {
      record(403)
      return blobError(res, 403, 'AuthenticationFailed', 'Signature did not match or the blob is unknown.')
    }
    const common = {
      'x-ms-request-id': randomUUID(),
      'x-ms-version': '2024-11-04',
      Date: new Date().toUTCString()
    }
    if (req.method === 'PUT') {
      if (grant.permissions !== 'w') {
        record(403)
        return blobError(res, 403, 'AuthorizationPermissionMismatch', 'This request is not authorized to perform this operation.')
      }
      if (comp === 'block') {
        const blockId = url.searchParams.get('blockid')
        if (!blockId) {
          record(400)
          return blobError(res, 400, 'InvalidQueryParameterValue', 'blockid is required')
        }
        blob.blocks.set(blockId, body)
      } else if (comp === 'blocklist') {
        const ids = [...body.toString('utf8').matchAll(/<(Latest|Uncommitted|Committed)>([^<]*)<\/\1>/g)].map(m => m[2]!)
        const parts: Buffer[] = []
        for (const id of ids) {
          const part = blob.blocks.get(id)
          if (!part) {
            record(400)
            return blobError(res, 400, 'InvalidBlockList', `block ${id} was never staged`)
          }
          parts.push(part)
        }
        blob.data = Buffer.concat(parts)
        blob.blocks.clear()
        blob.contentType = headerString(req, 'x-ms-blob-content-type') ?? blob.contentType ?? 'application/octet-stream'
      } else if (comp) {
        record(400)
        return blobError(res, 400, 'UnsupportedQueryParameter', `comp=${comp} is not supported here`)
      } else {
        if (headerString(req, 'x-ms-blob-type') !== 'BlockBlob') {
          record(400)
          return blobError(res, 400, 'MissingRequiredHeader', 'x-ms-blob-type: BlockBlob is required')
        }
        blob.data = body
        blob.blocks.clear()
        blob.contentType = headerString(req, 'x-ms-blob-content-type') ?? 'application/octet-stream'
      }
      record(201)
      res.writeHead(201, {
        ...common,
        'Content-Length': 0,
        ETag: `"0x${randomBytes(8).toString('hex').toUpperCase()}"`,
        'Last-Modified': new Date().toUTCString(),
        'x-ms-request-server-encrypted': 'true'
      })
      res.end()
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      record(405)
      return blobError(res, 405, 'UnsupportedHttpVerb', `${req.method} is not supported`)
    }
    if (!blob.data) {
      record(404)
      return blobError(res, 404, 'BlobNotFound', 'The specified blob does not exist.')
    }
    const data = blob.data
    const headers: http.OutgoingHttpHeaders = {
      ...common,
      'Content-Type': blob.contentType ?? 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      'x-ms-blob-type': 'BlockBlob',
      'Last-Modified': new Date().toUTCString(),
      ETag: '"0x8DC0FFEE0FFEE00"'
    }
    if (blob.downloadName) {
      headers['Content-Disposition'] = `attachment; filename="${blob.downloadName.replace(/["\\\r\n]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(blob.downloadName)}`
    }
    const range = headerString(req, 'x-ms-range') ?? headerString(req, 'range')
    let status = 200
    let slice = data
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim())
      let start = m?.[1] ? Number(m[1]) : NaN
      let end = m?.[2] ? Number(m[2]) : data.length - 1
      if (m && !m[1] && m[2]) { start = Math.max(0, data.length - Number(m[2])); end = data.length - 1 }
      if (!m || Number.isNaN(start) || start >= data.length || end < start) {
        record(416)
        res.writeHead(416, { ...common, 'Content-Range': `bytes */${data.length}` })
        res.end()
        return
      }
      end = Math.min(end, data.length - 1)
      slice = data.subarray(start, end + 1)
      status = 206
      headers['Content-Range'] = `bytes ${start}-${end}/${data.length}`
    }
    headers['Content-Length'] = slice.length
    record(status)
    res.writeHead(status, headers)
    res.end(req.method === 'HEAD' ? undefined : slice)
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin)
    const twirp = /^\/twirp\/([^/]+)\/([^/]+)$/.exec(url.pathname)
    let work: Promise<void>
    if (twirp && twirp[1] === ARTIFACT_SERVICE) work = handleTwirp(req, res, 'artifact', twirp[2]!)
    else if (twirp && twirp[1] === CACHE_SERVICE) work = handleTwirp(req, res, 'cache', twirp[2]!)
    else if (url.pathname.startsWith(`/${ACCOUNT}/`)) work = handleBlob(req, res, url)
    else {
      work = readBody(req).then(() => sendJson(res, 404, { code: 'bad_route', msg: `no route for ${req.method} ${url.pathname}` }))
    }
    work.catch(err => {
      if (!res.headersSent) sendJson(res, 500, { code: 'internal', msg: String((err as Error)?.stack ?? err) })
      else res.destroy()
    })
  })
  // Idle keep-alive sockets must not hold close() up.
  server.keepAliveTimeout = 1000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  origin = `http://127.0.0.1:${port}/`

  const env: Record<string, string> = {
    ACTIONS_RUNTIME_TOKEN: runtimeToken,
    ACTIONS_RESULTS_URL: origin,
    ACTIONS_CACHE_SERVICE_V2: 'True',
    GITHUB_SERVER_URL: 'https://github.com',
    ...proxyBypass()
  }

  return {
    url: origin,
    env,
    runtimeToken,
    runBackendId,
    jobBackendId,
    artifacts,
    caches,
    calls,
    faults,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close(err => (err ? reject(err) : resolve()))
        server.closeAllConnections()
      })
  }
}

function headerString(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}
