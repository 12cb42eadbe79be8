// `codex-path`: the user's own binary is asked for its version and used as is, without any
// download; anything that does not answer like Codex 0.39.0 or newer is refused naming the input.
// First: nock must patch `http` before @actions/http-client (via src/install) imports it.
import nock from 'nock'
import { chmod, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { installCodex, type InstallRequest } from '../../../src/install/index.js'
import { REGISTRY, captureStdout, countUnmatched, fakeRunner, listTree } from './helpers.js'

let runner: Awaited<ReturnType<typeof fakeRunner>>
let stdout: ReturnType<typeof captureStdout>
let unmatched: ReturnType<typeof countUnmatched>

beforeEach(async ({ onTestFailed }) => {
  runner = await fakeRunner()
  stdout = captureStdout()
  onTestFailed(() => stdout.dump())
  nock.disableNetConnect()
  unmatched = countUnmatched()
})

afterEach(async () => {
  // codex-path never touches the network, the tool cache or the Actions cache.
  const requests = unmatched.count()
  unmatched.stop()
  stdout.restore()
  nock.enableNetConnect()
  const toolCache = await listTree(runner.toolCache)
  await runner.restore()
  expect(requests).toBe(0)
  expect(toolCache).toEqual([])
})

async function script(name: string, body: string): Promise<string> {
  const file = path.join(runner.root, name)
  await writeFile(file, `#!/bin/sh\n${body}\n`)
  await chmod(file, 0o755)
  return file
}

const request = (codexPath: string): InstallRequest => ({ codexVersion: '0.169.0', codexPath, npmRegistry: REGISTRY, cache: true })

describe('codex-path', () => {
  it("a binary answering 'codex-cli 0.50.0' is used as is", async () => {
    const binary = await script('my-codex', 'echo "codex-cli 0.50.0"')

    const codex = await installCodex(request(binary))

    expect(codex).toEqual({ binary, folder: path.dirname(binary), version: '0.50.0', source: 'codex-path' })
    expect(stdout.lines().some((l) => l.includes('it was not verified by this action'))).toBe(true)
  })

  it('the version it reports wins over codex-version, pre-releases included', async () => {
    const binary = await script('my-codex', 'echo "codex-cli 0.200.0-alpha.3"')
    expect(await installCodex(request(binary))).toEqual({ binary, folder: path.dirname(binary), version: '0.200.0-alpha.3', source: 'codex-path' })
  })

  it.each([
    ['answers nothing', 'exit 0'],
    ['answers something else', 'echo "ripgrep 14.1.0"'],
    ['answers a version that is not x.y.z', 'echo "codex-cli banana"'],
    ['fails', 'echo "codex-cli 0.50.0"; exit 3']
  ])("a binary that %s is refused naming 'codex-path'", async (_label, body) => {
    const binary = await script('not-codex', body)

    await expect(installCodex(request(binary))).rejects.toThrow(
      `Input 'codex-path' points to '${binary}', which did not answer '--version' like the Codex CLI`
    )
  })

  it("a binary answering 'codex-cli 0.38.0' is refused as too old, naming 'codex-path'", async () => {
    const binary = await script('old-codex', 'echo "codex-cli 0.38.0"')

    await expect(installCodex(request(binary))).rejects.toThrow("Input 'codex-path' points to Codex 0.38.0, older than 0.39.0; refusing it.")
  })

  it("a path that does not exist is refused naming 'codex-path'", async () => {
    const missing = path.join(runner.root, 'nowhere', 'codex')
    await expect(installCodex(request(missing))).rejects.toThrow(`Input 'codex-path' points to '${missing}'`)
  })
})
