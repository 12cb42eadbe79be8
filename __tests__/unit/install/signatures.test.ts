// Registry signatures: where the registry signs a version (dist.signatures) and publishes its keys
// (/-/npm/v1/keys), the installer verifies the ECDSA signature over `<name>@<version>:<integrity>`
// before trusting that integrity. Keys and signatures here are made by the test, served by nock.
// First: nock must patch `http` before @actions/http-client (via src/install) imports it.
import 'nock'
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { SignatureError, verifyRegistrySignature } from '../../../src/install/signatures.js'
import { DOC_PREFIX, FAST_RETRY, REGISTRY, VERSION, buildTarball, fakeRunner, listTree, platformDocument, serve, tarballPath, type FakeTarball, installSettled, useInstallSandbox } from './helpers.js'

const SPEC = `@openai/codex@${VERSION}-linux-x64`
const DOC_PATH = `${DOC_PREFIX}/${VERSION}-linux-x64`
const TARBALL_URL = `${REGISTRY}${tarballPath(VERSION, 'linux-x64')}`

interface SigningKey {
  keyid: string
  privateKey: KeyObject
  published: { keyid: string; keytype: string; scheme: string; key: string; expires: null }
}

function signingKey(keyid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const key = (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64')
  return { keyid, privateKey, published: { keyid, keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256', key, expires: null } }
}

function sign(key: SigningKey, message: string): { keyid: string; sig: string } {
  return { keyid: key.keyid, sig: createSign('SHA256').update(message).sign(key.privateKey, 'base64') }
}

let registryKey: SigningKey
let strangerKey: SigningKey
let good: FakeTarball
const sandbox = useInstallSandbox()

beforeAll(async () => {
  registryKey = signingKey('SHA256:registry-key-for-tests')
  strangerKey = signingKey('SHA256:someone-else')
  const scratch = await fakeRunner()
  try {
    good = await buildTarball(scratch.root)
  } finally {
    await scratch.restore()
  }
})


function serveSigned(signatures: { keyid: string; sig: string }[], keys: unknown[] | 'none', withTarball: boolean): void {
  serve(sandbox.log, REGISTRY, DOC_PATH, { status: 200, body: platformDocument(VERSION, 'linux-x64', { integrity: good.integrity, tarball: TARBALL_URL, signatures }) })
  serve(sandbox.log, REGISTRY, '/-/npm/v1/keys', keys === 'none' ? { status: 404, body: { error: 'Not found' } } : { status: 200, body: { keys } })
  if (withTarball) serve(sandbox.log, REGISTRY, tarballPath(VERSION, 'linux-x64'), { status: 200, body: good.bytes })
}

describe('registry signatures on the registry document path', () => {
  it('installs when the signature over name@version:integrity verifies with a published key, and says which key vouched', async () => {
    serveSigned([sign(registryKey, `${SPEC}:${good.integrity}`)], [registryKey.published], true)

    const codex = await installSettled({ codexVersion: VERSION, npmRegistry: REGISTRY, cache: false, retry: FAST_RETRY })

    expect(codex.source).toBe('registry')
    expect(sandbox.stdout.lines().join('\n')).toContain(`signed with its key ${registryKey.keyid}`)
  })

  it('refuses a signature over another integrity, before downloading anything', async () => {
    serveSigned([sign(registryKey, `${SPEC}:sha512-${Buffer.alloc(64).toString('base64')}`)], [registryKey.published], false)

    await expect(installSettled({ codexVersion: VERSION, npmRegistry: REGISTRY, cache: false, retry: FAST_RETRY })).rejects.toThrow(/no valid registry signature.*does not match/)
    expect(sandbox.log.exchanges.some((exchange) => exchange.path.endsWith('.tgz'))).toBe(false)
    expect((await listTree(sandbox.runner.toolCache)).filter((entry) => entry.includes(VERSION))).toEqual([])
  })

  it('refuses a signature by a key the registry does not publish', async () => {
    serveSigned([sign(strangerKey, `${SPEC}:${good.integrity}`)], [registryKey.published], false)

    await expect(installSettled({ codexVersion: VERSION, npmRegistry: REGISTRY, cache: false, retry: FAST_RETRY })).rejects.toThrow(
      /SHA256:someone-else is not among the registry's public keys/
    )
  })

  it('relies on the integrity alone, with a warning, where the registry signs but publishes no keys (a mirror)', async () => {
    serveSigned([sign(registryKey, `${SPEC}:${good.integrity}`)], 'none', true)

    const codex = await installSettled({ codexVersion: VERSION, npmRegistry: REGISTRY, cache: false, retry: FAST_RETRY })

    expect(codex.source).toBe('registry')
    expect(sandbox.stdout.lines().join('\n')).toMatch(/::warning::.*publishes no public keys/)
  })
})

describe('verifyRegistrySignature', () => {
  it('accepts when any one of several signatures verifies', () => {
    const message = `${SPEC}:${good.integrity}`
    expect(verifyRegistrySignature(SPEC, good.integrity, [sign(strangerKey, message), sign(registryKey, message)], [registryKey.published])).toBe(registryKey.keyid)
  })

  it('refuses a tampered signature and a garbage key with a SignatureError that lists each problem', () => {
    const message = `${SPEC}:${good.integrity}`
    const tampered = { ...sign(registryKey, message), sig: sign(registryKey, `${message}x`).sig }
    expect(() => verifyRegistrySignature(SPEC, good.integrity, [tampered], [registryKey.published])).toThrow(SignatureError)
    expect(() => verifyRegistrySignature(SPEC, good.integrity, [sign(registryKey, message)], [{ ...registryKey.published, key: 'bm90IGEga2V5' }])).toThrow(/could not be used/)
    expect(() => verifyRegistrySignature(SPEC, good.integrity, [], [registryKey.published])).toThrow(/no signatures/)
  })
})
