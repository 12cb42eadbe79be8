import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startResultsService } from './results-service.js'
import { parseKeyValueFile, parseWorkflowCommand, parseYamlSubset, runAction } from './runner.js'

let tmp: string
let actionDir: string

const ACTION_YML = `name: 'Fixture action'
description: >-
  A fixture with a folded
  description: and a colon.
author: test   # comment
inputs:
  token:
    description: 'GitHub token'
    default: \${{ github.token }}
  plain:
    description: A plain default  # comment
    default: plain value # trailing comment
  quoted:
    default: 'it''s: quoted'
  double:
    default: "tab\\there"
  block:
    description: |
      multi
      line
    default: |
      line one
      line two
  workspace-default:
    default: '\${{ github.workspace }}/sub'
  unknown-expr:
    default: 'x\${{ secrets.FOO }}y'
  no-default:
    description: none
    required: false
  given-empty:
    default: should not be used
  mode:
    default: ok
  exit-code:
    default: '0'
  with space:
    default: spaced
outputs:
  result:
    description: x
runs:
  using: node20
  main: dist/main.js
  post: dist/post.js
  # post-if: placeholder
branding:
  icon: check
  color: green
`

const MAIN_JS = `import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
const append = (v, s) => fs.appendFileSync(process.env[v], s)
fs.writeFileSync(path.join(process.env.GITHUB_WORKSPACE, 'main-env.json'), JSON.stringify({ env: process.env, cwd: process.cwd(), pid: process.pid }))
const mode = process.env.INPUT_MODE
append('GITHUB_OUTPUT', 'simple=value with = sign\\n')
append('GITHUB_OUTPUT', 'multi<<EOF_1\\nfirst\\nsecond=2\\n\\nEOF_1\\n')
append('GITHUB_OUTPUT', 'empty=\\n')
append('GITHUB_STATE', 'pid=' + process.pid + '\\n')
append('GITHUB_STATE', 'note<<X\\na\\nb\\nX\\n')
append('GITHUB_ENV', 'FROM_MAIN=yes\\n')
append('GITHUB_PATH', '/opt/fixture/bin\\n')
append('GITHUB_STEP_SUMMARY', '## main summary\\n')
console.log('::add-mask::s3cr3t')
console.log('::warning file=x,line=1::m%0Ax')
console.log('::error file=a%3Ab%2Cc.ts,line=3,title=T%25::broken%25 here')
console.error('::notice::from stderr')
console.log('::stop-commands::pause123')
console.log('::error::not a command while stopped')
console.log('::pause123::')
console.log('::debug::resumed')
console.log('::not-registered::ignored')
if (mode === 'fail') process.exitCode = Number(process.env['INPUT_EXIT-CODE'])
if (mode === 'bad-output') append('GITHUB_OUTPUT', 'line without separator\\n')
if (mode === 'wait') {
  process.on('SIGINT', () => {
    console.log('got SIGINT')
    append('GITHUB_OUTPUT', 'cancelled=true\\n')
    process.exit(3)
  })
  console.log('ready')
  setInterval(() => {}, 1000)
}
if (mode === 'hang') setInterval(() => {}, 1000)
if (mode === 'leak-stdout') {
  const child = spawn('sleep', ['8'], { stdio: ['ignore', 'inherit', 'inherit'], detached: true })
  console.log('grandchild=' + child.pid)
  child.unref()
}
`

const POST_JS = `import fs from 'node:fs'
import path from 'node:path'
fs.writeFileSync(path.join(process.env.GITHUB_WORKSPACE, 'post-env.json'), JSON.stringify({ env: process.env }))
console.log('post saw pid=' + process.env.STATE_pid)
fs.appendFileSync(process.env.GITHUB_OUTPUT, 'post-out=1\\n')
fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, '## post summary\\n')
`

async function writeFixture(dir: string, yml: string): Promise<void> {
  await mkdir(path.join(dir, 'dist'), { recursive: true })
  await writeFile(path.join(dir, 'package.json'), '{"type":"module"}\n')
  await writeFile(path.join(dir, 'action.yml'), yml)
  await writeFile(path.join(dir, 'dist', 'main.js'), MAIN_JS)
  await writeFile(path.join(dir, 'dist', 'post.js'), POST_JS)
}

async function readJson(file: string): Promise<{ env: Record<string, string>; cwd?: string; pid?: number }> {
  return JSON.parse(await readFile(file, 'utf8'))
}

async function freshWorkspace(): Promise<string> {
  return mkdtemp(path.join(tmp, 'ws-'))
}

/** Workspace, RUNNER_TEMP and RUNNER_TOOL_CACHE under this test's temp dir. */
async function dirs(): Promise<{ workspace: string; runnerTemp: string; toolCache: string }> {
  const root = await mkdtemp(path.join(tmp, 'run-'))
  return { workspace: path.join(root, 'ws'), runnerTemp: path.join(root, 'temp'), toolCache: path.join(root, 'tool-cache') }
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'runner-test-'))
  actionDir = path.join(tmp, 'action')
  await writeFixture(actionDir, ACTION_YML)
})

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('runAction', () => {
  it('runs main then post with inputs, file commands, workflow commands and state', async () => {
    process.env.RUNNER_EMULATION_LEAK_CHECK = 'must-not-leak'
    const workspace = await freshWorkspace()
    let run
    try {
      run = await runAction({
        actionDir,
        workspace,
        inputs: { 'given-empty': '', extra: 'undeclared' },
        env: { GITHUB_TOKEN: 'ghs_fake', CUSTOM: 'c' }
      })
    } finally {
      delete process.env.RUNNER_EMULATION_LEAK_CHECK
    }
    const { main, post } = run
    expect(main.exitCode).toBe(0)
    expect(main.signal).toBeNull()
    expect(main.succeeded).toBe(true)
    expect(main.fileCommandErrors).toEqual([])
    expect(main.durationMs).toBeGreaterThan(0)

    // inputs and defaults
    const { env, cwd, pid } = await readJson(path.join(workspace, 'main-env.json'))
    expect(cwd).toBe(workspace)
    expect(env.INPUT_TOKEN).toBe('ghs_fake')
    expect(env.INPUT_PLAIN).toBe('plain value')
    expect(env.INPUT_QUOTED).toBe("it's: quoted")
    expect(env.INPUT_DOUBLE).toBe('tab\there')
    expect(env.INPUT_BLOCK).toBe('line one\nline two\n')
    expect(env['INPUT_WORKSPACE-DEFAULT']).toBe(`${workspace}/sub`)
    expect(env['INPUT_UNKNOWN-EXPR']).toBe('xy')
    expect(env['INPUT_NO-DEFAULT']).toBe('')
    expect(env['INPUT_GIVEN-EMPTY']).toBe('')
    expect(env.INPUT_WITH_SPACE).toBe('spaced')
    expect(env.INPUT_EXTRA).toBe('undeclared')
    expect(run.inputs.plain).toBe('plain value')

    // a runner-like environment built from scratch
    expect(env).toMatchObject({
      GITHUB_ACTIONS: 'true',
      CI: 'true',
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      RUNNER_ENVIRONMENT: 'github-hosted',
      RUNNER_TEMP: run.runnerTemp,
      RUNNER_TOOL_CACHE: run.toolCache,
      GITHUB_WORKSPACE: workspace,
      GITHUB_ACTION_PATH: path.resolve(actionDir),
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_TOKEN: 'ghs_fake',
      CUSTOM: 'c'
    })
    for (const name of ['GITHUB_RUN_ID', 'GITHUB_RUN_ATTEMPT', 'GITHUB_RUN_NUMBER', 'GITHUB_JOB', 'GITHUB_REPOSITORY', 'GITHUB_SHA', 'GITHUB_REF', 'GITHUB_EVENT_NAME', 'GITHUB_ACTOR', 'GITHUB_API_URL', 'GITHUB_ACTION', 'RUNNER_NAME', 'PATH', 'HOME']) {
      expect(env[name], name).toBeTruthy()
    }
    expect(JSON.parse(await readFile(env.GITHUB_EVENT_PATH!, 'utf8'))).toMatchObject({ repository: { full_name: env.GITHUB_REPOSITORY } })
    expect(env.RUNNER_EMULATION_LEAK_CHECK).toBeUndefined()
    if (process.env.NODE_EXTRA_CA_CERTS) expect(env.NODE_EXTRA_CA_CERTS).toBe(process.env.NODE_EXTRA_CA_CERTS)
    for (const f of ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_ENV', 'GITHUB_PATH', 'GITHUB_STEP_SUMMARY']) {
      expect(env[f]!.startsWith(path.join(run.runnerTemp, '_runner_file_commands'))).toBe(true)
    }

    // file commands
    expect(main.outputs).toEqual({ simple: 'value with = sign', multi: 'first\nsecond=2\n', empty: '' })
    expect(main.state).toEqual({ pid: String(pid), note: 'a\nb' })
    expect(main.env).toEqual({ FROM_MAIN: 'yes' })
    expect(main.path).toEqual(['/opt/fixture/bin'])

    // workflow commands, from stdout and stderr, with the runner's unescaping
    expect(main.masks).toEqual(['s3cr3t'])
    // stdout and stderr are separate pipes: their relative order is not deterministic
    expect(main.commands.filter(c => c.command !== 'notice')).toEqual([
      { command: 'add-mask', properties: {}, message: 's3cr3t' },
      { command: 'warning', properties: { file: 'x', line: '1' }, message: 'm\nx' },
      { command: 'error', properties: { file: 'a:b,c.ts', line: '3', title: 'T%' }, message: 'broken% here' },
      { command: 'debug', properties: {}, message: 'resumed' }
    ])
    expect(main.commands.filter(c => c.command === 'notice')).toEqual([{ command: 'notice', properties: {}, message: 'from stderr' }])
    expect(main.stdout).toContain('::error::not a command while stopped')
    expect(main.stderr).toContain('::notice::from stderr')

    // post: same env plus STATE_*, and main's GITHUB_ENV / GITHUB_PATH like any later step
    expect(post).toBeDefined()
    expect(post!.exitCode).toBe(0)
    expect(post!.stdout).toContain(`post saw pid=${pid}`)
    expect(post!.outputs).toEqual({ 'post-out': '1' })
    const postEnv = (await readJson(path.join(workspace, 'post-env.json'))).env
    expect(postEnv.STATE_pid).toBe(String(pid))
    expect(postEnv.STATE_note).toBe('a\nb')
    expect(postEnv.FROM_MAIN).toBe('yes')
    expect(postEnv.PATH!.split(path.delimiter)[0]).toBe('/opt/fixture/bin')
    expect(postEnv.INPUT_PLAIN).toBe('plain value')
    expect(postEnv.GITHUB_OUTPUT).not.toBe(env.GITHUB_OUTPUT)
    expect(run.summary).toBe('## main summary\n## post summary\n')
    // default RUNNER_TEMP / RUNNER_TOOL_CACHE are fresh temp dirs the caller owns
    expect(path.dirname(run.runnerTemp)).toBe(os.tmpdir())
    await rm(run.runnerTemp, { recursive: true, force: true })
    await rm(run.toolCache, { recursive: true, force: true })
  })

  it('defaults ${{ github.token }} to empty without a GITHUB_TOKEN, and skips post when asked', async () => {
    const d = await dirs()
    const workspace = d.workspace
    const run = await runAction({ actionDir, ...d, inputs: {}, post: false })
    const { env } = await readJson(path.join(workspace, 'main-env.json'))
    expect(env.INPUT_TOKEN).toBe('')
    expect(env.GITHUB_TOKEN).toBeUndefined()
    expect(run.post).toBeUndefined()
  })

  it('reports a failing main and still runs post (post-if defaults to always())', async () => {
    const run = await runAction({ actionDir, ...(await dirs()), inputs: { mode: 'fail', 'exit-code': '2' } })
    expect(run.main.exitCode).toBe(2)
    expect(run.main.succeeded).toBe(false)
    expect(run.post?.exitCode).toBe(0)
  })

  it('honours post-if: success()', async () => {
    const dir = path.join(tmp, 'action-success-only')
    await writeFixture(dir, ACTION_YML.replace('  # post-if: placeholder', "  post-if: 'success()'"))
    const failed = await runAction({ actionDir: dir, ...(await dirs()), inputs: { mode: 'fail', 'exit-code': '1' } })
    expect(failed.main.exitCode).toBe(1)
    expect(failed.post).toBeUndefined()
    const ok = await runAction({ actionDir: dir, ...(await dirs()), inputs: {} })
    expect(ok.post?.exitCode).toBe(0)
  })

  it('delivers a signal to main (cancellation) and runs post afterwards', async () => {
    const run = await runAction({
      actionDir,
      ...(await dirs()),
      inputs: { mode: 'wait' },
      // Long enough for node to start and install its handler on a loaded machine.
      signalAfterMs: { signal: 'SIGINT', afterMs: 1500 }
    })
    expect(run.main.stdout).toContain('ready')
    expect(run.main.stdout).toContain('got SIGINT')
    expect(run.main.exitCode).toBe(3)
    expect(run.main.outputs.cancelled).toBe('true')
    expect(run.main.durationMs).toBeGreaterThanOrEqual(1450)
    expect(run.post?.exitCode).toBe(0)
  })

  it('reports death by an unhandled signal', async () => {
    const run = await runAction({
      actionDir,
      ...(await dirs()),
      inputs: { mode: 'hang' },
      signalAfterMs: { signal: 'SIGTERM', afterMs: 300 }
    })
    expect(run.main.exitCode).toBeNull()
    expect(run.main.signal).toBe('SIGTERM')
    expect(run.main.timedOut).toBe(false)
    expect(run.main.succeeded).toBe(false)
    expect(run.post?.exitCode).toBe(0)
  })

  it('kills a step that outlives timeoutMs', async () => {
    const run = await runAction({ actionDir, ...(await dirs()), inputs: { mode: 'hang' }, timeoutMs: 500, post: false })
    expect(run.main.timedOut).toBe(true)
    expect(run.main.signal).toBe('SIGKILL')
  })

  it('fails the step on a malformed file-command line', async () => {
    const run = await runAction({ actionDir, ...(await dirs()), inputs: { mode: 'bad-output' }, post: false })
    expect(run.main.exitCode).toBe(0)
    expect(run.main.fileCommandErrors).toEqual(["GITHUB_OUTPUT: invalid format 'line without separator'"])
    expect(run.main.succeeded).toBe(false)
  })

  it('stops waiting 5 s after exit when a descendant holds stdout open', async () => {
    const run = await runAction({ actionDir, ...(await dirs()), inputs: { mode: 'leak-stdout' }, post: false })
    const grandchild = Number(/grandchild=(\d+)/.exec(run.main.stdout)?.[1])
    try {
      expect(run.main.exitCode).toBe(0)
      expect(run.main.outputHeldOpen).toBe(true)
      expect(run.main.durationMs).toBeGreaterThanOrEqual(4900)
      expect(run.main.durationMs).toBeLessThan(7900)
    } finally {
      if (grandchild > 0) {
        try { process.kill(grandchild, 'SIGKILL') } catch { /* already gone */ }
      }
    }
  }, 20_000)
})

describe('runAction with the fake results service', () => {
  it('lets the real @actions/artifact and @actions/cache work from inside the action', async () => {
    const service = await startResultsService()
    try {
      const dir = path.join(tmp, 'action-toolkit')
      const modules = path.resolve('node_modules/@actions')
      await mkdir(path.join(dir, 'dist'), { recursive: true })
      await writeFile(path.join(dir, 'package.json'), '{"type":"module"}\n')
      await writeFile(path.join(dir, 'action.yml'), 'name: toolkit\nruns:\n  using: node20\n  main: dist/main.js\n')
      await writeFile(path.join(dir, 'dist', 'main.js'), `
import fs from 'node:fs'
import path from 'node:path'
import { DefaultArtifactClient } from '${pathToFileURL(path.join(modules, 'artifact/lib/artifact.js')).href}'
import * as cache from '${pathToFileURL(path.join(modules, 'cache/lib/cache.js')).href}'
const ws = process.env.GITHUB_WORKSPACE
fs.mkdirSync(path.join(ws, 'out'), { recursive: true })
fs.writeFileSync(path.join(ws, 'out', 'patch.diff'), 'diff\\n')
const up = await new DefaultArtifactClient().uploadArtifact('patch', [path.join(ws, 'out', 'patch.diff')], path.join(ws, 'out'))
const id = await cache.saveCache([path.join(ws, 'out')], 'k1')
fs.appendFileSync(process.env.GITHUB_OUTPUT, 'artifact-id=' + up.id + '\\ncache-id=' + id + '\\n')
`)
      const run = await runAction({ actionDir: dir, ...(await dirs()), inputs: {}, env: service.env })
      expect(run.main.stderr).toBe('')
      expect(run.main.exitCode).toBe(0)
      expect(run.main.outputs).toEqual({ 'artifact-id': String(service.artifacts[0]!.id), 'cache-id': String(service.caches[0]!.id) })
      expect(service.artifacts[0]!.files.get('patch.diff')!.toString()).toBe('diff\n')
      expect(service.caches[0]!.key).toBe('k1')
      expect(run.main.masks.length).toBeGreaterThan(0) // the clients mask the signed URLs' sig
    } finally {
      await service.close()
    }
  })
})

describe('parsers', () => {
  it('parses workflow commands like the runner', () => {
    expect(parseWorkflowCommand('  ::warning file=x,line=1::m%0Ax')).toEqual({ command: 'warning', properties: { file: 'x', line: '1' }, message: 'm\nx' })
    expect(parseWorkflowCommand('::error::%250A stays literal %3A')).toEqual({ command: 'error', properties: {}, message: '%0A stays literal %3A' })
    expect(parseWorkflowCommand('no command')).toBeUndefined()
    expect(parseWorkflowCommand('::unterminated')).toBeUndefined()
  })

  it('parses file commands like the runner', () => {
    const errors: string[] = []
    expect(parseKeyValueFile('a=1\n\nb<<E\nx\n\ny\nE\nc=\nd<<Q\nQ\n', 'GITHUB_OUTPUT', errors)).toEqual({ a: '1', b: 'x\n\ny', c: '', d: '' })
    expect(errors).toEqual([])
    parseKeyValueFile('k<<EOF\nno end\n', 'GITHUB_ENV', errors)
    expect(errors).toEqual(["GITHUB_ENV: matching delimiter not found 'EOF'"])
  })

  it('reads the YAML subset used by action.yml', () => {
    const doc = parseYamlSubset(ACTION_YML)
    expect(doc.description).toBe('A fixture with a folded description: and a colon.')
    expect(doc.author).toBe('test')
    expect(doc.runs).toEqual({ using: 'node20', main: 'dist/main.js', post: 'dist/post.js' })
    const y = parseYamlSubset('a:\n  list:\n    - one\n    - two\n  after: "x"\nkeep: |+\n  k\n\nstrip: >-\n  s\n  t\n')
    expect(y).toEqual({ a: { list: undefined, after: 'x' }, keep: 'k\n\n', strip: 's t' })
  })
})
