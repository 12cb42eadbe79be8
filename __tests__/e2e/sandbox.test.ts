// Codex's own sandbox (`sandbox: workspace-write` / `read-only`), proven with the real binary: the
// agent's commands write where the mode allows and nowhere else, reach the network only with
// `network-access: true`, and the probe stops the step with the cause when the sandbox cannot start.
// Runs with the action as root and as a runner-shaped user with passwordless sudo (GitHub-hosted).
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { message, shell } from '../../test-support/responses-server.js'
import { attack, shapes, toolOutput } from './agent-attack.js'
import { act, scratchFolder, scratchRepository, startWorld } from './harness.js'

let server: Server
let url = ''
beforeAll(async () => {
  server = createServer((_request, response) => response.end('reached'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

/** A folder anyone may write (so only the sandbox can refuse a write there), outside the workspace, /tmp and the folders the agent's files are swept from. */
function openFolder(): string {
  const folder = path.join('/opt', `codex-action-sandbox-e2e-${randomBytes(6).toString('hex')}`)
  mkdirSync(folder)
  chmodSync(folder, 0o1777)
  return folder
}

const WRITE_INSIDE = 'echo inside > inside.txt && echo wrote-inside'
const writeTo = (folder: string): string => `echo x > ${folder}/agent.txt && echo wrote-there`
const CALL = () => `curl --noproxy '*' -s -m 5 ${url}; echo " curl=$?"`

describe.each(shapes)("Codex's own sandbox ($shape)", ({ runner }) => {
  const repository = (): string => scratchRepository(undefined, runner ? path.join(runner.home, 'work') : undefined)

  it('workspace-write: a write in the workspace works; a write outside its roots and a network call are refused', async () => {
    const folder = openFolder()
    try {
      const run = await attack(repository(), runner, [WRITE_INSIDE, writeTo(folder), CALL()], { inputs: { sandbox: 'workspace-write' } })
      const log = run.main.stdout + run.main.stderr
      expect(run.main.outputs.conclusion, log).toBe('success')
      expect(log).toMatch(/Codex's sandbox \(workspace-write\) started here and refused a write to \/\S+\/\.codex-action-sandbox-probe-[0-9a-f]{12}\./)
      expect(toolOutput(0)).toContain('wrote-inside')
      expect(toolOutput(1)).toContain('Read-only file system')
      expect(toolOutput(1)).not.toContain('wrote-there')
      expect(existsSync(path.join(folder, 'agent.txt'))).toBe(false)
      expect(toolOutput(2)).not.toContain('reached')
      expect(toolOutput(2)).toMatch(/curl=[1-9]/)
      expect(JSON.parse(run.main.outputs['changed-files'])).toEqual(['inside.txt'])
      expect(run.summary).toContain("Sandbox: workspace-write (Codex's own sandbox; started here and refused a write to")
      expect(run.post?.exitCode).toBe(0)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })

  it('workspace-write with network-access and writable-roots: the network call and the write in the extra root work', async () => {
    const folder = openFolder()
    try {
      const run = await attack(repository(), runner, [writeTo(folder), CALL()], { inputs: { sandbox: 'workspace-write', 'network-access': 'true', 'writable-roots': folder } })
      expect(run.main.outputs.conclusion, run.main.stdout).toBe('success')
      expect(toolOutput(0)).toContain('wrote-there')
      expect(readFileSync(path.join(folder, 'agent.txt'), 'utf8')).toBe('x\n')
      expect(toolOutput(1)).toContain('reached curl=0')
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })

  it('read-only: even a write in the workspace is refused, and nothing changes', async () => {
    const run = await attack(repository(), runner, [WRITE_INSIDE, CALL()], { inputs: { sandbox: 'read-only' } })
    const log = run.main.stdout + run.main.stderr
    expect(run.main.outputs.conclusion, log).toBe('success')
    expect(log).toMatch(/Codex's sandbox \(read-only\) started here and refused a write to \/\S+\/\.codex-action-sandbox-probe-[0-9a-f]{12}\./)
    expect(toolOutput(0)).toContain('Read-only file system')
    expect(toolOutput(0)).not.toContain('wrote-inside')
    expect(toolOutput(1)).not.toContain('reached')
    expect(run.main.outputs['has-changes']).toBe('false')
  })
})

describe('a runner where the sandbox cannot start', () => {
  it('fails the step before Codex starts, naming the kernel setting and the fix', async () => {
    // The kernel's own refusal, made in a user namespace of this test's alone: inside it no further user
    // namespace may be made (user.max_user_namespaces=0 there), so bubblewrap fails as it does on a runner
    // that forbids them. The machine's setting is never touched.
    const before = readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')
    const wrapper = path.join(scratchFolder('codex-action-no-userns-'), 'node')
    // bash, not sh: dash drops the INPUT_* variables whose names hold a dash.
    writeFileSync(wrapper, `#!/bin/bash\nexec unshare --user --map-root-user bash -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" "$@"' ${process.execPath} "$@"\n`, { mode: 0o755 })
    const world = await startWorld([{ output: [shell('echo should-never-run')] }, { output: [message('should never be asked')] }])
    try {
      // A user namespace has no real root to make an agent user with: the runner user's shape.
      const run = await act(world, scratchRepository(), { nodeBinary: wrapper, inputs: { sandbox: 'workspace-write', isolation: 'none' } })
      const log = run.main.stdout + run.main.stderr
      const errors = run.main.commands.filter((command) => command.command === 'error').map((command) => command.message)
      expect(run.main.exitCode, log).not.toBe(0)
      expect(errors).toEqual([
        "Codex's sandbox (sandbox: workspace-write) cannot start on this runner: user.max_user_namespaces is 0: the kernel allows no new user namespaces, which the sandbox needs (a container or a hardened host). Fix: allow user namespaces on this runner, or use 'sandbox: bypass' with 'isolation: user' (the separate agent user and the network proxy then contain the agent)."
      ])
      expect(world.model.requests).toEqual([])
      expect(run.main.outputs.conclusion).toBeUndefined()
      expect(run.post?.exitCode, run.post?.stdout).toBe(0)
    } finally {
      await world.close()
    }
    expect(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')).toBe(before)
    expect(execFileSync('sh', ['-c', 'unshare --user --map-root-user true && echo ok'], { encoding: 'utf8' })).toBe('ok\n')
  })
})
