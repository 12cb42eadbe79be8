import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
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
  it('accepts plain http with a secret only to this machine: 127.0.0.0/8, ::1 and localhost', () => {
    input('npm-registry-token', 'npm-token-0123456789')
    for (const url of ['http://127.0.0.1:8080/v1', 'http://127.1.2.3/v1', 'http://localhost:11434/v1', 'http://[::1]:8000/v1', 'http://127.1/v1']) {
      input('base-url', url)
      input('npm-registry', url)
      const settings = readSettings({ GITHUB_WORKSPACE: workspace })
      expect(settings.baseUrl).toBe(url)
      expect(settings.npmRegistry).toBe(url)
    }
  })

  it('refuses plain http with a secret to any other host, however the name starts', () => {
    for (const url of ['http://10.0.0.1/v1', 'http://localhost.example.com/v1', 'http://127.0.0.1.nip.io/v1', 'http://[::ffff:8.8.8.8]/v1']) {
      input('base-url', url)
      expect(() => readSettings({ GITHUB_WORKSPACE: workspace }), url).toThrow(/^Input 'base-url' is '.*', plain HTTP to another machine/)
    }
  })

  it('accepts plain http for npm-registry when no token goes there', () => {
    input('npm-registry', 'http://mirror.example.com')
    expect(readSettings({ GITHUB_WORKSPACE: workspace }).npmRegistry).toBe('http://mirror.example.com')
  })

  it('resolves working-directory to its real path inside the workspace, through a link that stays inside', () => {
    mkdirSync(path.join(workspace, 'pkg'))
    symlinkSync(path.join(workspace, 'pkg'), path.join(workspace, 'alias'))
    input('working-directory', 'alias')
    expect(readSettings({ GITHUB_WORKSPACE: workspace }).workingDirectory).toBe(path.join(execFileSync('realpath', [workspace], { encoding: 'utf8' }).trim(), 'pkg'))
  })

  it("reads network-access and writable-roots (one per line) for 'sandbox: workspace-write'", () => {
    input('sandbox', 'workspace-write')
    expect(readSettings({ GITHUB_WORKSPACE: workspace })).toMatchObject({ networkAccess: false, writableRoots: [] })
    input('network-access', 'true')
    input('writable-roots', 'build/out\n  /var/cache/tool, with a comma  \n\n')
    expect(readSettings({ GITHUB_WORKSPACE: workspace })).toMatchObject({ sandbox: 'workspace-write', networkAccess: true, writableRoots: ['build/out', '/var/cache/tool, with a comma'] })
  })

  it("refuses network-access and writable-roots where Codex's workspace-write sandbox is not in use", () => {
    for (const sandbox of ['', 'bypass', 'read-only']) {
      input('sandbox', sandbox)
      for (const [name, value] of [['network-access', 'true'], ['writable-roots', 'build']]) {
        input(name, value)
        expect(() => readSettings({ GITHUB_WORKSPACE: workspace }), `${name} with sandbox '${sandbox}'`).toThrow(
          `Input '${name}' is set while 'sandbox' is '${sandbox || 'bypass'}', where it means nothing (it tunes Codex's workspace-write sandbox only). Expected '${name}' only with 'sandbox: workspace-write'.`
        )
        input(name, '')
      }
    }
  })

  it('takes a relative writable root that stays inside the repository, from a working-directory below the top', () => {
    mkdirSync(path.join(workspace, 'pkg'))
    input('working-directory', 'pkg')
    input('sandbox', 'workspace-write')
    input('writable-roots', '../docs\nbuild')
    expect(readSettings({ GITHUB_WORKSPACE: workspace }).writableRoots).toEqual(['../docs', 'build'])
    input('writable-roots', '../..')
    expect(() => readSettings({ GITHUB_WORKSPACE: workspace })).toThrow("Input 'writable-roots' names '../..', which leads out of the repository. Expected folders, one per line: relative ones inside the repository")
  })

  it('refuses a bad network-access and a writable root that is the whole file system or holds a control character', () => {
    input('sandbox', 'workspace-write')
    input('network-access', 'yes')
    expect(() => readSettings({ GITHUB_WORKSPACE: workspace })).toThrow("Input 'network-access' is 'yes'. Expected 'true' or 'false'.")
    input('network-access', '')
    for (const root of ['/', '//', '/./', '/..', 'a\tb']) {
      input('writable-roots', `build\n${root}`)
      expect(() => readSettings({ GITHUB_WORKSPACE: workspace }), JSON.stringify(root)).toThrow(/^Input 'writable-roots' names '.*', (the whole file system|which holds a control character)\. Expected folders, one per line: relative ones inside the repository \(from the working directory\), others absolute, and not \//)
    }
  })
})
