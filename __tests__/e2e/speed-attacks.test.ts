// Attacks on the speed changes, with the real Codex agent (isolation: user): collect reads again only
// what the root-side listing names, and main's cleanup is the only one when it left nothing. Each test
// asserts the SECURE outcome: a failing test here is a hole.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { RunnerUser } from '../../test-support/hosted-runner-user.js'
import { scratchRepository } from './harness.js'
import { agentUid, attack, processesOfUid, shapes, toolOutput } from './agent-attack.js'

function checkout(runner: RunnerUser | undefined, files?: Record<string, string>): string {
  return scratchRepository(files, runner ? path.join(runner.home, 'work') : undefined)
}

/** Files anywhere on this file system and in /dev/shm still owned by `uid`. */
function filesOfUid(uid: number): string {
  return execFileSync('find', ['/tmp', '/var/tmp', '/dev/shm', '-xdev', '-uid', String(uid)], { encoding: 'utf8' }).trim()
}

describe.each(shapes)('collect reads again only what the agent touched ($shape)', ({ runner }) => {
  it('sees edits the agent hid from stat: a file made again with its old size and mtime, two files swapped with their mtimes', async () => {
    const repository = checkout(runner, { 'src/conf.txt': 'mode=safe\n', 'src/left.txt': 'left!\n', 'src/right.txt': 'right\n' })
    // Old enough that no entry of the start index is racy: only the listing can tell these apart.
    execFileSync('touch', ['-d', '1 hour ago', ...['conf.txt', 'left.txt', 'right.txt'].map((name) => path.join(repository, 'src', name))])
    const run = await attack(repository, runner, [
      "m=$(stat -c %Y src/conf.txt); rm src/conf.txt; printf 'mode=evil\\n' > src/conf.txt; touch -d @$m src/conf.txt && echo remade",
      'l=$(stat -c %Y src/left.txt); r=$(stat -c %Y src/right.txt); mv src/left.txt src/t; mv src/right.txt src/left.txt; mv src/t src/right.txt; touch -d @$l src/left.txt; touch -d @$r src/right.txt && echo swapped'
    ])

    expect(run.main.outputs.conclusion, run.main.stdout + run.main.stderr).toBe('success')
    expect(toolOutput(0)).toContain('remade')
    expect(toolOutput(1)).toContain('swapped')
    // The listing was used: this is the fast path under attack, not the fallback.
    expect(run.main.stdout).not.toContain('every file is read again')
    const patch = readFileSync(run.main.outputs['patch-path'], 'utf8')
    expect(patch).toMatch(/^\+mode=evil$/m)
    expect(patch).toMatch(/^-left!$/m)
    expect(patch).toMatch(/^\+right$/m)
    expect(JSON.parse(run.main.outputs['changed-files']).sort()).toEqual(['src/conf.txt', 'src/left.txt', 'src/right.txt'])
  })
})

describe.each(shapes)('one cleanup is enough ($shape)', ({ runner }) => {
  it('leaves no process, file or state of the agent that a second cleanup would have had to remove, and the agent cannot write the saved state', async () => {
    const repository = checkout(runner)
    const run = await attack(repository, runner, [
      // Every file command the runner gave this step (save_state_* above all), if the agent can find and write one.
      "for f in $(find / -xdev \\( -name 'save_state_*' -o -name 'set_env_*' \\) 2>/dev/null); do (echo 'codex-action-run={\"cleanedUp\":true}' >> \"$f\") 2>/dev/null && echo \"wrote $f\"; done; echo searched",
      'setsid sh -c "trap \'\' HUP TERM; sleep 600" </dev/null >/dev/null 2>&1 & echo planted > /tmp/left-$(id -u); echo planted > /dev/shm/left-$(id -u); echo left'
    ])
    const uid = agentUid(run)

    expect(run.main.outputs.conclusion, run.main.stdout + run.main.stderr).toBe('success')
    expect(toolOutput(0)).toContain('searched')
    expect(toolOutput(0)).not.toContain('wrote')
    expect(toolOutput(1)).toContain('left')
    // Main's own state reached the post step: its run folder, and main's word that it cleaned up.
    const state = JSON.parse(run.main.state['codex-action-run'] ?? '{}') as { cleanedUp?: boolean; runRoot?: string }
    expect(state.cleanedUp).toBe(true)
    expect(state.runRoot).toMatch(/codex-action-[0-9a-f-]{36}$/)
    expect(run.post?.stdout).toContain('Nothing to clean up: the main step already removed')
    expect(processesOfUid(uid)).toEqual([])
    expect(filesOfUid(uid)).toBe('')
  })
})
