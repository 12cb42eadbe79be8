import { randomBytes } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, expect, it } from 'vitest'
import { Redactor, runSecrets, type StreamOptions } from '../../src/redact.js'

// Made afresh per run, so nothing on disk can hold them by accident.
const API_KEY = `sk-proj-${randomBytes(24).toString('hex')}`
const GITHUB_TOKEN = `ghs_${randomBytes(18).toString('hex')}`

/** Feeds `chunks` through a fresh redacting stream; returns every byte it wrote and whether it reported a change. */
async function throughStream(redactor: Redactor, chunks: Buffer[], options?: StreamOptions): Promise<{ output: Buffer; changed: boolean }> {
  const stream = redactor.stream(options)
  const out: Buffer[] = []
  await pipeline(
    Readable.from(chunks, { objectMode: false }),
    stream,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk)
        callback()
      }
    })
  )
  return { output: Buffer.concat(out), changed: stream.changed }
}

/** Splits `data` into pieces whose sizes come from a seeded generator, so a failure can be replayed. */
function randomChunks(data: Buffer, seed: number, largest: number): Buffer[] {
  let state = seed >>> 0 || 1
  const next = (): number => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
  const chunks: Buffer[] = []
  for (let at = 0; at < data.length; ) {
    const size = 1 + Math.floor(next() * largest)
    chunks.push(data.subarray(at, at + size))
    at += size
  }
  return chunks
}

/**
 * The base64 characters of `blob` (the encoding of prefix + secret + tail) whose six bits all come
 * from the secret's bytes: those are what must not survive. Worked out from bit positions, independently
 * of how the redactor computes its forms.
 */
function secretOnlyCharacters(prefixLength: number, secretLength: number, encoded: string): string {
  const first = 8 * prefixLength
  const last = 8 * (prefixLength + secretLength)
  let run = ''
  for (let i = 0; i < encoded.length; i++) if (6 * i >= first && 6 * i + 6 <= last) run += encoded[i]
  return run
}

/** Compares long outputs without printing megabytes: on a mismatch only the first difference is shown. */
function expectSame(actual: Buffer | string, expected: Buffer | string, label = ''): void {
  const a = Buffer.from(actual)
  const b = Buffer.from(expected)
  if (a.equals(b)) return
  let at = 0
  while (at < a.length && at < b.length && a[at] === b[at]) at++
  const around = (bytes: Buffer): string => JSON.stringify(bytes.subarray(Math.max(0, at - 40), at + 40).toString('latin1'))
  expect({ label, length: a.length, firstDifference: at, actual: around(a) }).toEqual({ label, length: b.length, firstDifference: at, actual: around(b) })
}

function windows(text: string, size: number): string[] {
  const result: string[] = []
  for (let i = 0; i + size <= text.length; i++) result.push(text.slice(i, i + size))
  return result
}

describe('Redactor.redact', () => {
  it('removes a literal secret wherever it occurs', () => {
    const redactor = new Redactor(['hunter2-is-my-password'])
    const text = 'before hunter2-is-my-password middle hunter2-is-my-password\nafter'
    const clean = redactor.redact(text)
    expect(clean).not.toContain('hunter2')
    expect(clean).toBe('before *** middle ***\nafter')
  })

  it('removes the JSON-escaped form of a secret holding quotes and backslashes', () => {
    const secret = 'pa"ss\\word-with\tstuff'
    const redactor = new Redactor([secret])
    const line = JSON.stringify({ type: 'item.completed', item: { text: `the value is ${secret}!` } })
    // The escaped form is what is in the line; the raw value is not.
    expect(line).not.toContain(secret)
    expect(line).toContain(JSON.stringify(secret).slice(1, -1))
    const clean = redactor.redact(line)
    expect(clean).not.toContain(JSON.stringify(secret).slice(1, -1))
    expect(clean).not.toContain('pa\\"ss')
    expect(clean).toContain('the value is ***!')
    expect(JSON.parse(clean).item.text).toBe('the value is ***!')
  })

  it('removes the URL-encoded form of a secret', () => {
    const secret = 'p@ss/word with space'
    const clean = new Redactor([secret]).redact(`https://host/?q=${encodeURIComponent(secret)}&x=1`)
    expect(clean).toBe('https://host/?q=***&x=1')
  })

  // '???' and '>>>' encode to '/' and '+' in base64 and '_' and '-' in base64url, so the two differ.
  const ENCODED_SECRETS = ['correct horse battery staple ???>>> 42', 'Ünïcödé-sëcret-välue-€€€', API_KEY]
  const PREFIXES = ['', 'x', 'xy', 'xyz', 'wxyz']
  const TAILS = ['', 't', 'ta', 'tail', '-and-a-longer-tail']
  for (const encoding of ['base64', 'base64url'] as const) {
    it(`leaves no 8-character run of a ${encoding}-encoded secret inside a longer blob, at every alignment`, () => {
      for (const secret of ENCODED_SECRETS) {
        const redactor = new Redactor([secret])
        for (const prefix of PREFIXES) {
          for (const tail of TAILS) {
            const blob = Buffer.from(prefix + secret + tail).toString(encoding)
            const secretChars = secretOnlyCharacters(Buffer.byteLength(prefix), Buffer.byteLength(secret), blob)
            expect(secretChars.length).toBeGreaterThan(16)
            const clean = redactor.redact(`payload: ${blob} end`)
            for (const window of windows(secretChars, 8)) {
              expect(clean, `${encoding} of ${JSON.stringify(prefix)}+secret+${JSON.stringify(tail)}`).not.toContain(window)
            }
            expect(clean).toContain('***')
            expect(clean.startsWith('payload: ')).toBe(true)
            expect(clean.endsWith(' end')).toBe(true)
          }
        }
      }
    })
  }

  const SHAPES: Record<string, string> = {
    'OpenAI project key': `sk-proj-${'Ab3_-'.repeat(10)}`,
    'OpenAI key': `sk-${'a1B2c3'.repeat(8)}`,
    'GitHub personal token': `ghp_${'A1b2C3d4'.repeat(5)}`,
    'GitHub installation token': `ghs_${'Z9y8X7w6'.repeat(5)}`,
    'GitHub OAuth token': `gho_${'q'.repeat(36)}`,
    'fine-grained PAT': `github_pat_11ABCDEFG0${'x1Y2z3'.repeat(4)}_${'K'.repeat(59)}`,
    JWT: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm8vciIsImF1ZCI6Imh0dHBzIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU'
  }
  for (const [kind, token] of Object.entries(SHAPES)) {
    it(`redacts a ${kind} it was never told about, alone, in prose and after an escaped newline in JSON`, () => {
      const redactor = new Redactor([])
      expect(redactor.redact(token)).toBe('***')
      expect(redactor.redact(`token=${token}; next`)).toBe('token=***; next')
      expect(redactor.redact(`(${token})`)).toBe('(***)')
      // As it stands in a JSONL event: the newline before it is the two characters \ and n.
      const line = JSON.stringify({ type: 'item.completed', item: { aggregated_output: `export X=1\n${token}\n\tdone` } })
      expect(line).toContain(`\\n${token}\\n`)
      const clean = redactor.redact(line)
      expect(clean).not.toContain(token.slice(0, 24))
      expect(JSON.parse(clean).item.aggregated_output).toBe('export X=1\n***\n\tdone')
      // After an escaped tab and carriage return too.
      expect(redactor.redact(`"a\\t${token}"`)).toBe('"a\\t***"')
      expect(redactor.redact(`"a\\r${token}"`)).toBe('"a\\r***"')
    })
  }

  it('does not redact words that merely contain a token prefix', () => {
    const redactor = new Redactor([])
    const text = [
      'risk-assessment_framework_version_two',
      'the task-scheduler_configuration_module_name is long',
      'highs_and_lows_of_the_quarterly_report_2024_edition',
      'sighp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      'sk-short',
      'ghp_tooShort',
      'subgithub_pat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
    ].join('\n')
    expect(redactor.redact(text)).toBe(text)
  })

  it('ignores secrets shorter than six characters, and empty or missing ones', () => {
    const redactor = new Redactor(['abc12', '', undefined, 'x'])
    const text = 'abc12 x and YWJjMTI= and more'
    expect(redactor.redact(text)).toBe(text)
  })

  it('removes a secret that contains another secret whole', () => {
    const redactor = new Redactor(['inner-secret', 'outer-inner-secret-value'])
    expect(redactor.redact('a outer-inner-secret-value b inner-secret c')).toBe('a *** b *** c')
  })

  it('leaves text without secrets exactly as it was', () => {
    const redactor = new Redactor([API_KEY, GITHUB_TOKEN])
    const text = 'plain text\nwith ünïcode ✓ and "quotes" and \\ backslashes\r\n'
    expect(redactor.redact(text)).toBe(text)
  })
})

describe('runSecrets', () => {
  const settings = {
    apiKey: API_KEY,
    githubToken: GITHUB_TOKEN,
    npmRegistryToken: 'npm_registry_token_value',
    envPassthrough: ['MY_SECRET_TOKEN', 'DB_PASSWORD', 'SSH_PRIVATE_KEY', 'AWS_CREDENTIALS', 'deploy_key', 'BUILD_FLAVOR', 'UNSET_TOKEN']
  }
  const env = {
    ACTIONS_RUNTIME_TOKEN: 'runtime-token-value',
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'id-token-request-value',
    ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.actions.example/request?x=1',
    ACTIONS_RESULTS_URL: 'https://results.actions.example/',
    GITHUB_TOKEN: 'env-github-token-value',
    GH_TOKEN: 'env-gh-token-value',
    MY_SECRET_TOKEN: 'my-secret-token-value',
    DB_PASSWORD: 'db-password-value',
    SSH_PRIVATE_KEY: '-----BEGIN KEY-----\nabc\n-----END KEY-----',
    AWS_CREDENTIALS: 'aws-credentials-value',
    deploy_key: 'deploy-key-value',
    BUILD_FLAVOR: 'release-flavor-value',
    UNRELATED_TOKEN: 'not-passed-through-value',
    PATH: '/usr/bin:/bin'
  }

  it('collects the inputs, the client token, the runner tokens and secret-looking passthroughs', () => {
    const secrets = runSecrets(settings, 'client-token-value', env)
    for (const value of [
      API_KEY,
      GITHUB_TOKEN,
      'npm_registry_token_value',
      'client-token-value',
      'runtime-token-value',
      'id-token-request-value',
      'env-github-token-value',
      'env-gh-token-value',
      'my-secret-token-value',
      'db-password-value',
      env.SSH_PRIVATE_KEY,
      'aws-credentials-value',
      'deploy-key-value'
    ]) {
      expect(secrets).toContain(value)
    }
    // A passthrough whose name does not look secret is context the user wants visible; others were never passed through.
    expect(secrets).not.toContain('release-flavor-value')
    expect(secrets).not.toContain('not-passed-through-value')
    expect(secrets).not.toContain('/usr/bin:/bin')
    expect(secrets.every((value) => typeof value === 'string' && value.length > 0)).toBe(true)
  })

  it('skips what is not set', () => {
    const secrets = runSecrets({ apiKey: API_KEY, envPassthrough: ['MISSING_TOKEN'] }, 'client-token-value', {})
    expect(secrets).toEqual([API_KEY, 'client-token-value'])
  })
})

describe('RedactingStream', () => {
  const SECRET = 'S3cr3t-Välue/with+bytes=?'
  const redactor = new Redactor([SECRET, API_KEY])

  it('never lets a secret through, fed one byte at a time', async () => {
    const filler = 'A'.repeat(9000)
    const input = Buffer.from(`${filler}${SECRET}${filler}\nline two ${API_KEY} end\n${'B'.repeat(5000)}${SECRET}`)
    const { output, changed } = await throughStream(redactor, [...input].map((byte) => Buffer.from([byte])))
    const text = output.toString()
    expect(text).not.toContain(SECRET)
    expect(text).not.toContain(API_KEY)
    expect(text).not.toContain(SECRET.slice(0, 8))
    expect(text).not.toContain(API_KEY.slice(0, 12))
    expectSame(text, `${filler}***${filler}\nline two *** end\n${'B'.repeat(5000)}***`)
    expect(changed).toBe(true)
  })

  it('never lets a secret through, whichever chunk boundary splits it', async () => {
    const input = Buffer.from(`${'x'.repeat(10_000)} ${SECRET} ${'y'.repeat(300)}`)
    const at = input.indexOf(Buffer.from(SECRET))
    // Every split point in and around the secret, with the rest in one piece and in small pieces.
    for (let split = at - 2; split <= at + Buffer.byteLength(SECRET) + 2; split++) {
      const { output } = await throughStream(redactor, [input.subarray(0, split), input.subarray(split)])
      expectSame(output, `${'x'.repeat(10_000)} *** ${'y'.repeat(300)}`, `split at ${split}`)
      // The stream itself writes out all but its hold-back: a first chunk this long puts its own cut at `split`.
      const cutThere = await throughStream(redactor, [input.subarray(0, split + redactor.holdBack), input.subarray(split + redactor.holdBack)])
      expectSame(cutThere.output, `${'x'.repeat(10_000)} *** ${'y'.repeat(300)}`, `stream cut at ${split}`)
    }
  })

  it('never lets a secret or a token shape through under random chunkings', async () => {
    const token = `ghp_${'A1b2C3d4'.repeat(5)}`
    const parts: string[] = []
    for (let i = 0; i < 60; i++) parts.push(`${randomBytes(200 + (i % 7) * 300).toString('hex')} ${i % 3 === 0 ? SECRET : i % 3 === 1 ? API_KEY : token}${i % 5 === 0 ? '\n' : ' '}`)
    const input = Buffer.from(parts.join(''))
    const expected = redactor.redact(input.toString())
    expect(expected.match(/\*\*\*/g)).toHaveLength(60)
    for (let seed = 1; seed <= 25; seed++) {
      const { output, changed } = await throughStream(redactor, randomChunks(input, seed, seed % 2 ? 17 : 9000))
      const text = output.toString()
      expectSame(text, expected, `seed ${seed}`)
      expect(changed).toBe(true)
    }
  })

  it('never lets a multi-line secret through, whichever line the stream cuts at', async () => {
    const pem = `-----BEGIN OPENSSH PRIVATE KEY-----\n${Array.from({ length: 12 }, () => randomBytes(36).toString('base64')).join('\n')}\n-----END OPENSSH PRIVATE KEY-----`
    const multi = new Redactor([pem])
    const input = Buffer.from(`${'log line\n'.repeat(1200)}${pem}\n${'more\n'.repeat(1500)}`)
    const expected = `${'log line\n'.repeat(1200)}***\n${'more\n'.repeat(1500)}`
    const start = input.indexOf(Buffer.from(pem))
    const lineStarts = [...pem.matchAll(/\n/g)].map((match) => start + (match.index as number) + 1)
    for (const at of lineStarts) {
      const first = at + multi.holdBack
      const { output } = await throughStream(multi, [input.subarray(0, first), input.subarray(first)])
      expectSame(output, expected, `stream cut at line start ${at}`)
    }
    for (let seed = 1; seed <= 5; seed++) expectSame((await throughStream(multi, randomChunks(input, seed, 300))).output, expected, `seed ${seed}`)
    expectSame((await throughStream(multi, [...input].map((byte) => Buffer.from([byte])))).output, expected, 'one byte at a time')
  })

  it('does not invent a token where the stream cuts inside a longer word', async () => {
    const word = 'risk-assessment_framework_version_two'
    const plain = new Redactor(['no-such-secret-anywhere'])
    const input = Buffer.from(`${'q'.repeat(9000)} ${word}${' tail'.repeat(4000)}`)
    const tokenStart = input.indexOf(Buffer.from(word)) + 2
    // The stream writes out all but its hold-back; first chunks of these sizes put its cut around 'sk-'.
    for (let first = tokenStart + plain.holdBack - 3; first <= tokenStart + plain.holdBack + 3; first++) {
      const { output, changed } = await throughStream(plain, [input.subarray(0, first), input.subarray(first)])
      expectSame(output, input, `first chunk ${first}`)
      expect(changed).toBe(false)
    }
    const { output } = await throughStream(plain, [...input].map((byte) => Buffer.from([byte])))
    expectSame(output, input, 'one byte at a time')
  })

  it('is byte-faithful when there is no secret: all 256 byte values and invalid UTF-8', async () => {
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    const invalid = Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0xff, 0xfe, 0x80, 0x0a, 0x0d])
    const input = Buffer.concat([every, invalid, randomBytes(20_000), every, Buffer.from('ä€𝄞\n'), invalid])
    for (const chunks of [[input], [...input].map((b) => Buffer.from([b])), randomChunks(input, 7, 999), randomChunks(input, 8, 5)]) {
      const { output, changed } = await throughStream(new Redactor(['no-such-secret-anywhere']), chunks)
      expectSame(output, input)
      expect(changed).toBe(false)
    }
  })

  it('keeps the bytes around a redacted secret exactly, even when they are binary', async () => {
    const secret = 'Ünïcödé-sëcret-välue'
    const before = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i))
    const after = Buffer.from([0x80, 0xff, 0x00, 0xc3])
    const input = Buffer.concat([before, Buffer.from(secret), after])
    const { output, changed } = await throughStream(new Redactor([secret]), randomChunks(input, 3, 11))
    expectSame(output, Buffer.concat([before, Buffer.from('***'), after]))
    expect(changed).toBe(true)
  })

  it('accepts strings written to it', async () => {
    const stream = new Redactor([SECRET]).stream()
    const out: Buffer[] = []
    stream.on('data', (chunk: Buffer) => out.push(chunk))
    stream.write(`a ${SECRET.slice(0, 5)}`)
    stream.write(`${SECRET.slice(5)} b`)
    stream.end()
    await new Promise((resolve) => stream.on('end', resolve))
    expect(Buffer.concat(out).toString()).toBe('a *** b')
    expect(stream.changed).toBe(true)
  })

  it('finds in bytes exactly the token shapes the expressions find in text, next to look-alikes and at every boundary', async () => {
    // Pieces that make shapes, near-shapes and the boundaries around them; the stream (a native search for the
    // byte each shape has at a fixed place, then the expression at that start) must agree with redact() on the text.
    const pieces = ['sk-', 'sk-proj-', 'ghp_', 'gho_', 'ghx_', 'github_pat_', 'github_', 'eyJ', '.eyJ', 'k-', 'h_', 'J', '\\n', '\\t', '\\', '-', '_', '.', ' ', 'x', 'A1b2C3d4E5', 'abcdefghij', '0123456789', 'Zz_-']
    const plain = new Redactor([])
    let state = 42
    const next = (n: number): number => {
      state = (state * 1103515245 + 12345) >>> 0
      return state % n
    }
    const text = (longest: number): string => Array.from({ length: 3000 }, () => (next(50) ? pieces[next(pieces.length)] : 'a'.repeat(next(longest)))).join('')
    for (let round = 0; round < 40; round++) {
      const input = text(1000)
      const expected = plain.redact(input)
      for (const chunks of [[Buffer.from(input)], randomChunks(Buffer.from(input), round + 1, 700)]) expectSame((await throughStream(plain, chunks)).output, expected, `round ${round}`)
    }
    // A token longer than the window a shape is first matched in is still removed whole when it is held whole.
    const long = `x sk-proj-${'A1b2'.repeat(2000)} y`
    expect((await throughStream(plain, [Buffer.from(long)])).output.toString()).toBe('x *** y')
  })

  it('keeps memory bounded: 50 MB without a newline flows out while it is still being written', async () => {
    const stream = new Redactor([SECRET, API_KEY, GITHUB_TOKEN]).stream()
    const chunk = Buffer.alloc(64 * 1024, 'abcdefgh')
    const total = 50 * 1024 * 1024
    let emitted = 0
    let emittedBeforeEnd = -1
    let largestBacklog = 0
    let written = 0
    const sink = new Writable({
      write(data: Buffer, _encoding, callback) {
        emitted += data.length
        largestBacklog = Math.max(largestBacklog, written - emitted)
        callback()
      }
    })
    async function* source(): AsyncGenerator<Buffer> {
      for (; written < total; ) {
        written += chunk.length
        yield chunk
      }
      emittedBeforeEnd = emitted
    }
    await pipeline(source(), stream, sink)
    expect(emitted).toBe(total)
    expect(emittedBeforeEnd).toBeGreaterThan(40 * 1024 * 1024)
    // What is held back (plus the stream's own buffers) stays small next to what passed through.
    expect(largestBacklog).toBeLessThan(2 * 1024 * 1024)
    expect(stream.changed).toBe(false)
  })
})

describe('Redactor.stream({ shapes: false }), for the patch', () => {
  // Token-shaped strings the action was never told about: in a patch they are the user's bytes (a test fixture,
  // a vendored file, the inside of a binary), and changing them would make the patch lie about the change.
  const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm8vciIsImF1ZCI6Imh0dHBzIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU'
  const SK = `sk-proj-${'A1b2C3d4'.repeat(6)}`
  const patch = (body: Buffer): Buffer =>
    Buffer.concat([Buffer.from(`diff --git a/fixture.txt b/fixture.txt\n--- a/fixture.txt\n+++ b/fixture.txt\n@@ -0,0 +1,3 @@\n`), body])

  it('passes a JWT-shaped and an sk-shaped string that are not known secrets through byte-exact, binary around them', async () => {
    const input = patch(Buffer.concat([Buffer.from(`+token: ${JWT}\n+key=${SK}\n+`), Buffer.from([0, 0xff, 0x80, 0xc3]), Buffer.from(`\\n${SK}\n`)]))
    for (const chunks of [[input], [...input].map((b) => Buffer.from([b])), randomChunks(input, 11, 17)]) {
      const { output, changed } = await throughStream(new Redactor([API_KEY, GITHUB_TOKEN]), chunks, { shapes: false })
      expectSame(output, input)
      expect(changed).toBe(false)
    }
  })

  it('still removes a known secret, in every encoded form, and reports it', async () => {
    const input = patch(Buffer.from(`+key=${API_KEY}\n+b64=${Buffer.from(GITHUB_TOKEN).toString('base64')}\n+jwt=${JWT}\n`))
    const { output, changed } = await throughStream(new Redactor([API_KEY, GITHUB_TOKEN]), randomChunks(input, 5, 13), { shapes: false })
    expect(changed).toBe(true)
    const text = output.toString('latin1')
    expect(text).not.toContain(API_KEY)
    expect(text).not.toContain(Buffer.from(GITHUB_TOKEN).toString('base64').slice(4, 20))
    expect(text).toContain('+key=***\n')
    expect(text).toContain(`+jwt=${JWT}\n`)
  })

  it('leaves the logs as they were: the default stream and redact() still remove both shapes', async () => {
    const input = Buffer.from(`{"aggregated_output":"${JWT}\\n${SK}"}\n`)
    const { output, changed } = await throughStream(new Redactor([]), [input])
    expect(output.toString()).toBe('{"aggregated_output":"***\\n***"}\n')
    expect(changed).toBe(true)
    expect(new Redactor([]).redact(`${JWT} ${SK}`)).toBe('*** ***')
  })
})
