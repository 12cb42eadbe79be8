/**
 * Unsigned JWTs for the fake Actions runtime. The toolkit clients decode the
 * runtime token (jwt-decode) but never verify it, so `alg: none` is enough.
 */

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url')
}

/** Build `header.payload.` with `alg: none` and an empty signature. */
export function makeUnsignedJwt(payload: Record<string, unknown>): string {
  const header = { typ: 'JWT', alg: 'none' }
  return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}.`
}

/** Decode the payload of a JWT without verifying it. Throws on a malformed token. */
export function decodeJwtPayload(token: string): Record<string, unknown> {
  const parts = token.split('.')
  if (parts.length < 2 || !parts[1]) throw new Error('malformed JWT')
  const json: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error('JWT payload is not an object')
  }
  return json as Record<string, unknown>
}

/**
 * A runtime token shaped like the one the runner hands to actions: its `scp`
 * claim holds `Actions.Results:<runBackendId>:<jobBackendId>` among other scopes.
 */
export function makeRuntimeToken(runBackendId: string, jobBackendId: string, lifetimeSeconds = 6 * 3600): string {
  const now = Math.floor(Date.now() / 1000)
  return makeUnsignedJwt({
    iss: 'https://token.actions.example.invalid',
    aud: 'vso:fake-results-service',
    nbf: now - 60,
    iat: now - 60,
    exp: now + lifetimeSeconds,
    scp: `Actions.ExampleScope Actions.Results:${runBackendId}:${jobBackendId}`
  })
}

/** The `[runBackendId, jobBackendId]` from a token's `Actions.Results` scope, or undefined. */
export function resultsScopeIds(token: string): [string, string] | undefined {
  let payload: Record<string, unknown>
  try {
    payload = decodeJwtPayload(token)
  } catch {
    return undefined
  }
  if (typeof payload.scp !== 'string') return undefined
  for (const scope of payload.scp.split(' ')) {
    const parts = scope.split(':')
    if (parts[0] === 'Actions.Results' && parts.length === 3 && parts[1] && parts[2]) {
      return [parts[1], parts[2]]
    }
  }
  return undefined
}
