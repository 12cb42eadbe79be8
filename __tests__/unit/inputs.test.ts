import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readSettings } from '../../src/inputs.js'

let workspace: string
const set: string[] = []

function input(name: string, value: string): void {
  const variable = `INPUT_${name.toUpperCase()}`
  process.env[variable] = value
  set.push(variable)
}

beforeEach(() => {
  workspace = mkdtempSync(path.join(os.tmpdir(), 'inputs-workspace-'))
  execFileSync('git', ['init', '-q'], { cwd: workspace })
  input('prompt', 'Do it.')
  input('openai-api-key', 'sk-test-key-0123456789')
})

afterEach(() => {
  for (const variable of set.splice(0)) delete process.env[variable]
  rmSync(workspace, { recursive: true, force: true })
})

describe('readSettings', () => {
  it('accepts plain http with a secret only to this machine: 127.0.0.0/8, ::1 and localhost', async () => {
    input('npm-registry-token', 'npm-token-0123456789')
    for (const url of ['http://127.0.0.1:8080/v1', 'http://127.1.2.3/v1', 'http://localhost:11434/v1', 'http://[::1]:8000/v1', 'http://127.1/v1']) {
      input('base-url', url)
      input('npm-registry', url)
      const settings = await readSettings({ GITHUB_WORKSPACE: workspace })
      expect(settings.baseUrl).toBe(url)
      expect(settings.npmRegistry).toBe(url)
    }
  })

  it('refuses plain http with a secret to any other host, however the name starts', async () => {
    for (const url of ['http://10.0.0.1/v1', 'http://localhost.example.com/v1', 'http://127.0.0.1.nip.io/v1', 'http://[::ffff:8.8.8.8]/v1']) {
      input('base-url', url)
      await expect(readSettings({ GITHUB_WORKSPACE: workspace }), url).rejects.toThrow(/^Input 'base-url' is '.*', plain HTTP to another machine/)
    }
  })

  it('accepts plain http for npm-registry when no token goes there', async () => {
    input('npm-registry', 'http://mirror.example.com')
    expect((await readSettings({ GITHUB_WORKSPACE: workspace })).npmRegistry).toBe('http://mirror.example.com')
  })

  it('resolves working-directory to its real path inside the workspace, through a link that stays inside', async () => {
    mkdirSync(path.join(workspace, 'pkg'))
    symlinkSync(path.join(workspace, 'pkg'), path.join(workspace, 'alias'))
    input('working-directory', 'alias')
    expect((await readSettings({ GITHUB_WORKSPACE: workspace })).workingDirectory).toBe(path.join(execFileSync('realpath', [workspace], { encoding: 'utf8' }).trim(), 'pkg'))
  })

  it("reads network-access and writable-roots (one per line) for 'sandbox: workspace-write'", async () => {
    input('sandbox', 'workspace-write')
    expect(await readSettings({ GITHUB_WORKSPACE: workspace })).toMatchObject({ networkAccess: false, writableRoots: [] })
    input('network-access', 'true')
    input('writable-roots', 'build/out\n  /var/cache/tool, with a comma  \n\n')
    expect(await readSettings({ GITHUB_WORKSPACE: workspace })).toMatchObject({ sandbox: 'workspace-write', networkAccess: true, writableRoots: ['build/out', '/var/cache/tool, with a comma'] })
  })

  it("refuses network-access and writable-roots where Codex's workspace-write sandbox is not in use", async () => {
    for (const sandbox of ['', 'bypass', 'read-only']) {
      input('sandbox', sandbox)
      for (const [name, value] of [['network-access', 'true'], ['writable-roots', 'build']]) {
        input(name, value)
        await expect(readSettings({ GITHUB_WORKSPACE: workspace }), `${name} with sandbox '${sandbox}'`).rejects.toThrow(
          `Input '${name}' is set while 'sandbox' is '${sandbox || 'bypass'}', where it means nothing (it tunes Codex's workspace-write sandbox only). Expected '${name}' only with 'sandbox: workspace-write'.`
        )
        input(name, '')
      }
    }
  })

  it('takes a relative writable root that stays inside the repository, from a working-directory below the top', async () => {
    mkdirSync(path.join(workspace, 'pkg'))
    input('working-directory', 'pkg')
    input('sandbox', 'workspace-write')
    input('writable-roots', '../docs\nbuild')
    expect((await readSettings({ GITHUB_WORKSPACE: workspace })).writableRoots).toEqual(['../docs', 'build'])
    input('writable-roots', '../..')
    await expect(readSettings({ GITHUB_WORKSPACE: workspace })).rejects.toThrow("Input 'writable-roots' names '../..', which leads out of the repository. Expected folders, one per line: relative ones inside the repository")
  })

  it('refuses a bad network-access and a writable root that is the whole file system or holds a control character', async () => {
    input('sandbox', 'workspace-write')
    input('network-access', 'yes')
    await expect(readSettings({ GITHUB_WORKSPACE: workspace })).rejects.toThrow("Input 'network-access' is 'yes'. Expected 'true' or 'false'.")
    input('network-access', '')
    for (const root of ['/', '//', '/./', '/..', 'a\tb']) {
      input('writable-roots', `build\n${root}`)
      await expect(readSettings({ GITHUB_WORKSPACE: workspace }), JSON.stringify(root)).rejects.toThrow(/^Input 'writable-roots' names '.*', (the whole file system|which holds a control character)\. Expected folders, one per line: relative ones inside the repository \(from the working directory\), others absolute, and not \//)
    }
  })
})

describe('run control inputs', () => {
  const read = (): ReturnType<typeof readSettings> => readSettings({ GITHUB_WORKSPACE: workspace })

  it('reads max-tokens and max-model-requests as whole numbers, and no limit when empty', async () => {
    expect((await read()).maxTokens).toBeUndefined()
    expect((await read()).maxModelRequests).toBeUndefined()
    input('max-tokens', '250000')
    input('max-model-requests', '40')
    expect(await read()).toMatchObject({ maxTokens: 250000, maxModelRequests: 40 })
  })

  it.each(['0', '-1', '1.5', '1e6', 'lots', '12 tokens', '10000000000000000'])("refuses '%s' for max-tokens and max-model-requests", async (value) => {
    input('max-tokens', value)
    await expect(read()).rejects.toThrow(new RegExp(`^Input 'max-tokens' is '${value.replace(/[.+]/g, '\\$&')}'\\. Expected a whole number of tokens of 1 or more, or empty for no limit\\.$`))
    input('max-tokens', '')
    input('max-model-requests', value)
    await expect(read()).rejects.toThrow(/^Input 'max-model-requests' is '.*'\. Expected a whole number of requests of 1 or more/)
  })

  it('reads model-prices, and refuses what is not a price for each model', async () => {
    input('model-prices', '{"my-model": {"input": 1.25, "cached_input": 0.125, "output": 10}}')
    expect((await read()).modelPrices).toEqual({ 'my-model': { input: 1.25, cached_input: 0.125, output: 10 } })
    const accepted = /Expected a JSON object of model names to USD per 1M tokens/
    for (const [value, says] of [
      ['{"my-model": ', /^Input 'model-prices' is not JSON \(/],
      ['[1, 2]', /^Input 'model-prices' is not a JSON object\./],
      ['{"m": {"input": 1, "output": 2}}', /^Input 'model-prices' gives 'm' the price \{"input":1,"output":2\}\./],
      ['{"m": {"input": -1, "cached_input": 0, "output": 2}}', /gives 'm' the price/],
      ['{"m": {"input": "1", "cached_input": 0, "output": 2}}', /gives 'm' the price/],
      ['{"m": {"input": 1, "cached_input": 0, "output": 2, "reasoning": 3}}', /gives 'm' the price/]
    ] as const) {
      input('model-prices', value)
      await expect(read(), value).rejects.toThrow(says)
      await expect(read(), value).rejects.toThrow(accepted)
    }
  })

  it('reads output-schema inline or from a file inside the workspace', async () => {
    const schema = { type: 'object', properties: { verdict: { type: 'string' } }, required: ['verdict'] }
    input('output-schema', JSON.stringify(schema))
    expect((await read()).outputSchema).toEqual(schema)
    input('output-schema', '')
    writeFileSync(path.join(workspace, 'schema.json'), JSON.stringify(schema))
    input('output-schema-file', 'schema.json')
    expect((await read()).outputSchema).toEqual(schema)
  })

  it('refuses an output schema that is missing, outside the workspace, not JSON, not an object schema or not a JSON Schema', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['output-schema-file', 'missing.json', /^Input 'output-schema-file' points to '.*missing\.json', which is not a file\. Expected a path to a JSON Schema file, relative to the workspace\.$/],
      ['output-schema-file', '/etc/hostname', /^Input 'output-schema-file' resolves to '\/etc\/hostname', outside the workspace/],
      ['output-schema', '{"type": "object",', /^Input 'output-schema' is not JSON \(.*\)\. Expected a JSON Schema object with "type": "object"/],
      ['output-schema', '{"type": "string"}', /^Input 'output-schema' is not a schema of a JSON object \(the model answers with an object\)\./],
      ['output-schema', '[]', /is not a schema of a JSON object/],
      ['output-schema', '{"type": "object", "properties": {"a": {"type": "nonsense"}}}', /^Input 'output-schema' is not a valid JSON Schema: .*type must be equal to one of the allowed values/],
      ['output-schema', '{"type": "object", "$ref": "#/$defs/missing"}', /^Input 'output-schema' is not a valid JSON Schema: can't resolve reference/]
    ]
    for (const [name, value, says] of cases) {
      input('output-schema', '')
      input('output-schema-file', '')
      input(name, value)
      await expect(read(), `${name}: ${value}`).rejects.toThrow(says)
    }
    input('output-schema', '{"type": "object"}')
    input('output-schema-file', 'schema.json')
    await expect(read()).rejects.toThrow(/^Input 'output-schema' and 'output-schema-file' were both given\. Expected at most one of/)
  })

  it("refuses --output-schema in codex-args: the action places the schema where the agent cannot swap it", async () => {
    for (const value of ['--output-schema /tmp/s.json', '["--output-schema=/tmp/s.json"]']) {
      input('codex-args', value)
      await expect(read(), value).rejects.toThrow(/^Input 'codex-args' contains '--output-schema', which the action sets itself/)
    }
  })
})
