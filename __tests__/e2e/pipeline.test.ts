// The whole action, end to end: the real Codex CLI, driven by the scripted model, changes a scratch
// repository; the uploaded patch must rebuild the agent's tree exactly on a fresh clone.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { applyPatch, message, shell } from '../../test-support/responses-server.js'
import { API_KEY, act, git, scratchRepository, startWorld, type World, scratchFolder } from './harness.js'

const BINARY = Buffer.from([0, 1, 2, 3, 255, 254, 0, 10, 13, 0, 128])

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

function treeOf(repository: string): string {
  // The tree git would commit for the work tree as it stands, without touching the real index.
  const index = path.join(scratchFolder('idx-'), 'index')
  const env = { ...process.env, GIT_INDEX_FILE: index }
  execFileSync('git', ['add', '-A'], { cwd: repository, env })
  return execFileSync('git', ['write-tree'], { cwd: repository, env, encoding: 'utf8' }).trim()
}

describe('a run that changes files', () => {
  it('publishes a patch that rebuilds the agent tree on a fresh clone, and sets every output', async () => {
    const repository = scratchRepository({
      'README.md': '# scratch\n',
      'src/keep.txt': 'keep me\n',
      'src/remove.txt': 'delete me\n',
      'run.sh': '#!/bin/sh\necho hi\n'
    })
    world = await startWorld([
      { output: [shell(`printf '%s' "$(cat README.md)" > /dev/null && rm src/remove.txt && chmod +x run.sh && printf '\\000\\001\\002\\003\\377\\376\\000\\n\\r\\000\\200' > data.bin && echo untracked > notes.txt`)] },
      { output: [applyPatch('*** Begin Patch\n*** Update File: src/keep.txt\n@@\n-keep me\n+kept and changed\n*** End Patch\n')] },
      { output: [message('Removed a file, added notes, made run.sh executable.')] }
    ])

    const run = await act(world, repository)

    expect(run.main.exitCode, run.main.stdout + run.main.stderr).toBe(0)
    const outputs = run.main.outputs
    expect(outputs.conclusion).toBe('success')
    expect(outputs['has-changes']).toBe('true')
    expect(JSON.parse(outputs['changed-files']).sort()).toEqual(['data.bin', 'notes.txt', 'run.sh', 'src/keep.txt', 'src/remove.txt'])
    expect(outputs['final-message']).toBe('Removed a file, added notes, made run.sh executable.')
    expect(outputs['codex-version']).toMatch(/^\d+\.\d+\.\d+$/)
    expect(outputs['exit-code']).toBe('0')
    expect(JSON.parse(outputs.usage).requests).toBe(3)
    expect(outputs.diffstat).toContain('src/keep.txt')
    expect(outputs['changed-files-truncated']).toBe('false')
    expect(outputs['patch-redacted']).toBe('false')

    // The artifact holds the patch and logs.
    expect(world.results.artifacts).toHaveLength(1)
    const artifact = world.results.artifacts[0]
    expect(outputs['artifact-id']).toBe(String(artifact.id))
    expect([...artifact.files.keys()].sort()).toEqual(['codex.log', 'codex.patch', 'events.jsonl', 'last-message.md', 'run.json', 'transcript.jsonl'])
    // Codex's own session log, handed back from the agent user and redacted like the rest.
    expect(String(artifact.files.get('transcript.jsonl'))).toContain('Removed a file, added notes')
    const patch = artifact.files.get('codex.patch') as Buffer
    expect(patch.equals(readFileSync(outputs['patch-path']))).toBe(true)
    const events = (artifact.files.get('events.jsonl') as Buffer).toString().trim().split('\n').map((line) => JSON.parse(line))
    expect(events.some((event) => event.type === 'turn.completed')).toBe(true)
    const record = JSON.parse((artifact.files.get('run.json') as Buffer).toString())
    expect(record.conclusion).toBe('success')
    // The proxy counted every response; Codex's own events agree when nothing was retried.
    expect(record.usage.input_tokens).toBeGreaterThan(0)
    expect(record.usageReportedByCodex).toEqual({ input_tokens: record.usage.input_tokens, cached_input_tokens: record.usage.cached_input_tokens, output_tokens: record.usage.output_tokens })

    // The agent's tree, rebuilt from the patch on a fresh clone, is the same tree, bytes and modes.
    const agentTree = treeOf(repository)
    const clone = path.join(scratchFolder('clone-'), 'repo')
    git(os.tmpdir(), 'clone', '-q', repository, clone)
    const patchFile = path.join(path.dirname(clone), 'codex.patch')
    writeFileSync(patchFile, patch)
    git(clone, 'apply', '--binary', patchFile)
    expect(treeOf(clone)).toBe(agentTree)
    expect(readFileSync(path.join(clone, 'data.bin')).equals(BINARY)).toBe(true)
    expect(existsSync(path.join(clone, 'src/remove.txt'))).toBe(false)
    expect(statSync(path.join(clone, 'run.sh')).mode & 0o111).not.toBe(0)

    // Isolation user: collect used the listing of what the agent touched, it did not fall back to reading every file.
    expect(run.main.stdout).toContain('Isolation: ')
    expect(run.main.stdout).not.toContain('every file is read again')

    // The user's index is as the agent left it: nothing staged by the action.
    expect(git(repository, 'diff', '--cached', '--name-only')).toBe('')

    // The model saw the key only in the proxy's Authorization header.
    for (const request of world.model.requests) expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`)

    // Post removed CODEX_HOME and left the patch.
    expect(run.post?.exitCode).toBe(0)
    const runRoot = path.dirname(path.dirname(outputs['patch-path']))
    expect(existsSync(path.join(runRoot, 'codex-home'))).toBe(false)
    expect(existsSync(outputs['patch-path'])).toBe(true)
  })
})

describe('the runtime action.yml declares', () => {
  it('runs main and post on Node 24 as well as on Node 20', async () => {
    const node24 = inject('node24Binary')
    expect(execFileSync(node24, ['--version'], { encoding: 'utf8' })).toMatch(/^v24\./)
    const repository = scratchRepository()
    world = await startWorld([{ output: [shell('echo on-node-24 > runtime.txt')] }, { output: [message('done on 24')] }])

    const run = await act(world, repository, { nodeBinary: node24 })

    expect(run.main.exitCode, run.main.stdout + run.main.stderr).toBe(0)
    expect(run.main.outputs.conclusion).toBe('success')
    expect(JSON.parse(run.main.outputs['changed-files'])).toEqual(['runtime.txt'])
    expect(world.results.artifacts).toHaveLength(1)
    expect(run.post?.exitCode).toBe(0)
  })
})

describe('a run that changes nothing', () => {
  it('says so and publishes an empty patch; the job summary shows the agent text as text', async () => {
    const repository = scratchRepository()
    world = await startWorld([{ output: [shell('ls')] }, { output: [message('Nothing to do. </code></pre><img src=x onerror=alert(1)>')] }])

    const run = await act(world, repository)

    expect(run.main.exitCode, run.main.stdout + run.main.stderr).toBe(0)
    expect(run.main.outputs['has-changes']).toBe('false')
    expect(run.main.outputs['changed-files']).toBe('[]')
    expect(readFileSync(run.main.outputs['patch-path'], 'utf8')).toBe('')
    expect(world.results.artifacts[0].files.get('codex.patch')?.length).toBe(0)
    expect(run.summary).toContain('No files changed.')
    expect(run.summary).toContain('Nothing to do. &lt;/code&gt;&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;')
    expect(run.summary).not.toContain('<img')
  })
})

describe('repositories as users have them', () => {
  it('an unborn repository, unicode and spaces in names, and an agent that commits: the patch still holds everything since the start', async () => {
    const root = scratchFolder('codex-action-unborn-')
    const repository = path.join(root, 'repo')
    mkdirSync(repository)
    git(repository, 'init', '-q')
    world = await startWorld([
      { output: [shell('mkdir -p "dir with space" && echo héllo > "dir with space/ünïcode ✓.txt" && git add -A && git -c user.name=a -c user.email=a@b commit -qm agent && echo second > two.txt')] },
      { output: [message('done')] }
    ])

    const run = await act(world, repository)

    expect(run.main.outputs.conclusion, run.main.stdout).toBe('success')
    expect(JSON.parse(run.main.outputs['changed-files'])).toEqual(['dir with space/ünïcode ✓.txt', 'two.txt'])
    expect(run.main.outputs.diffstat).toContain('dir with space/ünïcode ✓.txt')
    const clone = path.join(root, 'clone')
    mkdirSync(clone)
    git(clone, 'init', '-q')
    git(clone, 'apply', '--binary', run.main.outputs['patch-path'])
    expect(readFileSync(path.join(clone, 'dir with space/ünïcode ✓.txt'), 'utf8')).toBe('héllo\n')
    expect(treeOf(clone)).toBe(treeOf(repository))
  })

  it('a working-directory below the top and a prompt-file: the agent starts there, the patch covers the whole repository', async () => {
    const repository = scratchRepository({ 'pkg/a.txt': 'a\n', 'prompts/task.md': 'Do the task from the file.\n' })
    world = await startWorld([{ output: [shell('pwd && echo b > b.txt && echo top > ../top.txt')] }, { output: [message('ok')] }])

    const run = await act(world, repository, { inputs: { prompt: '', 'prompt-file': 'prompts/task.md', 'working-directory': 'pkg' } })

    expect(run.main.outputs.conclusion, run.main.stdout).toBe('success')
    // The agent sees the repository where it was lent: mounted at a path of its own.
    expect(world.model.requests[1].toolOutputs.at(-1)).toMatch(/^\/var\/lib\/codex-action\/codex-agent-[0-9a-z]+\/workspace\/pkg$/m)
    expect(JSON.stringify(world.model.requests[0].body)).toContain('Do the task from the file.')
    expect(JSON.parse(run.main.outputs['changed-files']).sort()).toEqual(['pkg/b.txt', 'top.txt'])
  })
})
