// The install of the pinned Codex CLI on a fresh runner, through the bundle users run: the first job
// streams the real 0.169.0 tarball from registry.npmjs.org (Node 24, the runtime action.yml declares)
// and keeps the installed tree in the Actions cache (the fake results service); a second job on
// another fresh runner restores that tree (Node 20), checks every file against the pin table, and
// its agent runs the restored binary as its own user through the read-only mount.
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { message } from '../../test-support/responses-server.js'
import { act, scratchFolder, scratchRepository, startWorld, type World } from './harness.js'

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

describe('a fresh runner', () => {
  it('streams the registry tarball and saves the tree; the next fresh runner restores and verifies it', { timeout: 240_000 }, async () => {
    // One HOME for both jobs, as the same path on every hosted runner: the cache entry is keyed by it.
    const home = scratchFolder('codex-action-home-')
    world = await startWorld([{ output: [message('first job')] }, { output: [message('second job')] }])

    const first = await act(world, scratchRepository(), { nodeBinary: inject('node24Binary'), toolCache: scratchFolder('codex-action-tool-cache-'), env: { HOME: home } })

    expect(first.main.exitCode, first.main.stdout + first.main.stderr).toBe(0)
    expect(first.main.outputs.conclusion).toBe('success')
    expect(first.main.outputs['codex-version']).toBe('0.169.0')
    expect(first.main.stdout).toContain('Downloaded and unpacked https://registry.npmjs.org/@openai/codex/-/codex-0.169.0-linux-x64.tgz')
    expect(first.main.stdout).toContain('sha512 matches the integrity table shipped with this action')
    expect(world.results.caches).toHaveLength(1)
    expect(world.results.caches[0]!.key).toMatch(/^codex-action-tree-0\.169\.0-linux-x64-[0-9a-f]{16}-/)
    // The copy the save was made from is gone; only the private folder it lived in is left.
    expect(readdirSync(path.join(home, '.cache', 'codex-action'))).toEqual([])
    expect(statSync(path.join(home, '.cache', 'codex-action')).mode & 0o777).toBe(0o700)

    const toolCache = scratchFolder('codex-action-tool-cache-')
    const second = await act(world, scratchRepository(), { toolCache, env: { HOME: home } })

    expect(second.main.exitCode, second.main.stdout + second.main.stderr).toBe(0)
    expect(second.main.outputs.conclusion).toBe('success')
    expect(second.main.outputs['final-message']).toBe('second job')
    expect(second.main.stdout).toContain('Codex 0.169.0 restored from the Actions cache; all 5 files match the sha256 digests in the pin table')
    expect(second.main.stdout).not.toContain('Downloaded and unpacked')
    expect(world.results.caches).toHaveLength(1)
    const folder = path.join(toolCache, 'codex', '0.169.0', 'x64')
    expect(existsSync(`${folder}.complete`)).toBe(true)
    expect(readdirSync(folder).sort()).toEqual(['bin', 'codex-package.json', 'codex-path', 'codex-resources'])
    expect(readdirSync(path.join(home, '.cache', 'codex-action'))).toEqual([])
  })
})
