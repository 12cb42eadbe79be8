import { createVerify } from 'node:crypto'

/** One entry of a registry document's `dist.signatures`. */
export interface RegistrySignature {
  keyid: string
  sig: string
}

/** One public key from the registry's `/-/npm/v1/keys`. */
export interface RegistryKey {
  keyid: string
  key: string
  expires?: string | null
}

export class SignatureError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SignatureError'
  }
}

/**
 * Checks the registry's ECDSA signature over `<name>@<version>:<integrity>`, the message npm signs
 * for every package version. One valid signature from a listed key is enough; an unknown key or a
 * bad signature is refused. A key's `expires` is not checked: it bounds when the key could sign,
 * and the per-version document carries no publish time to compare it with.
 * Returns the key id that vouched.
 */
export function verifyRegistrySignature(packageSpec: string, integrity: string, signatures: RegistrySignature[], keys: RegistryKey[]): string {
  const message = `${packageSpec}:${integrity}`
  const problems: string[] = []
  for (const signature of signatures) {
    const key = keys.find((candidate) => candidate.keyid === signature.keyid)
    if (!key) {
      problems.push(`key ${signature.keyid} is not among the registry's public keys`)
      continue
    }
    const pem = `-----BEGIN PUBLIC KEY-----\n${key.key}\n-----END PUBLIC KEY-----`
    let valid = false
    try {
      valid = createVerify('SHA256').update(message).verify(pem, signature.sig, 'base64')
    } catch (error) {
      problems.push(`key ${signature.keyid} could not be used (${(error as Error).message})`)
      continue
    }
    if (valid) return signature.keyid
    problems.push(`the signature by ${signature.keyid} does not match ${message}`)
  }
  throw new SignatureError(`Refusing ${packageSpec}: no valid registry signature (${problems.join('; ') || 'no signatures'}).`)
}
