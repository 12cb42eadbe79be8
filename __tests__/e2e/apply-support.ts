// What apply's e2e tests share: a remote and checkouts of it, artifacts shaped like the agent
// job's (uploaded with the real artifact client to the fake results service), an apply run, and
// the state of both repositories, to show a refusal changed nothing.
import { DefaultArtifactClient } from '@actions/artifact'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { expect } from 'vitest'
import { runAction, type ActionRun } from '../../test-support/runner.js'
import { ACTION_DIR, GITHUB_TOKEN, git, scratchFolder, scratchRepository, type World } from './harness.js'

export function remoteWith(files: Record<string, string>): string {
  const seed = scratchRepository(files)
  const origin = path.join(path.dirname(seed), 'origin.git')
  git(path.dirname(seed), 'clone', '-q', '--bare', seed, origin)
  return origin
}

export function checkout(origin: string, ref = 'main'): string {
  const workspace = path.join(scratchFolder('codex-action-apply-job-'), 'repo')
  git(path.dirname(workspace), 'clone', '-q', '--branch', ref, origin, workspace)
  return workspace
}

/** The binary patch of what `edit` does to a checkout of origin, as the agent job computes it. */
export function patchOf(origin: string, edit: (top: string) => void): string {
  const top = checkout(origin)
  edit(top)
  git(top, 'add', '-A')
  return git(top, 'diff', '--cached', '--binary', '--full-index', 'HEAD')
}

/** Uploads an artifact shaped like the agent job's, with the real client. */
export async function uploadLeg(w: World, name: string, patch: string, record: Record<string, unknown> = {}): Promise<void> {
  const folder = scratchFolder('codex-action-leg-')
  writeFileSync(path.join(folder, 'codex.patch'), patch)
  writeFileSync(path.join(folder, 'last-message.md'), `Leg ${name}.`)
  writeFileSync(path.join(folder, 'run.json'), JSON.stringify({ conclusion: 'success', patchRedacted: false, slice: [], usage: { requests: 1, input_tokens: 10, output_tokens: 5 }, ...record }))
  const saved = { ...process.env }
  Object.assign(process.env, w.results.env)
  try {
    await new DefaultArtifactClient().uploadArtifact(name, ['codex.patch', 'last-message.md', 'run.json'].map((file) => path.join(folder, file)), folder)
  } finally {
    process.env = saved
  }
}

export function applyJob(w: World, workspace: string, inputs: Record<string, string>, options: { event?: Record<string, unknown>; env?: Record<string, string>; nodeBinary?: string } = {}): Promise<ActionRun> {
  return runAction({
    nodeBinary: options.nodeBinary,
    actionDir: path.join(ACTION_DIR, 'apply'),
    workspace,
    runnerTemp: scratchFolder('codex-action-apply-temp-'),
    inputs,
    event: options.event,
    env: { ...w.results.env, GITHUB_TOKEN, GITHUB_API_URL: w.github.url, ...options.env }
  })
}

export function treeOf(repository: string): string {
  const index = path.join(scratchFolder('idx-'), 'index')
  const env = { ...process.env, GIT_INDEX_FILE: index }
  execFileSync('git', ['add', '-A'], { cwd: repository, env })
  return execFileSync('git', ['write-tree'], { cwd: repository, env, encoding: 'utf8' }).trim()
}

export function stateOf(workspace: string, origin: string): string {
  // count-objects: not even an unreferenced object is left in either repository.
  return [git(origin, 'for-each-ref'), git(origin, 'count-objects', '-v'), git(workspace, 'count-objects', '-v'), git(workspace, 'for-each-ref'), git(workspace, 'rev-parse', 'HEAD'), git(workspace, 'status', '--porcelain', '--untracked-files=all'), treeOf(workspace)].join('\n')
}

export const START = { 'README.md': 'top\n', 'src/a.txt': 'a\n', 'docs/guide.md': 'guide\n' }
export const ISSUE_EVENT = { issue: { number: 12 }, repository: { full_name: 'octo-org/octo-repo', default_branch: 'main' } }

/** Runs apply on a fresh checkout and asserts the refusal: the message, a failed step, nothing changed anywhere. */
export async function expectRefusal(world: World, origin: string, inputs: Record<string, string>, message: string | RegExp, refusedPaths: string[] = []): Promise<ActionRun> {
  const workspace = checkout(origin)
  const before = stateOf(workspace, origin)
  const run = await applyJob(world, workspace, inputs, { event: ISSUE_EVENT })
  expect(run.main.exitCode, run.main.stdout).toBe(1)
  const errors = run.main.commands.filter((command) => command.command === 'error').map((command) => command.message)
  expect(errors).toHaveLength(1)
  if (typeof message === 'string') expect(errors[0]).toContain(message)
  else expect(errors[0]).toMatch(message)
  expect(run.main.outputs.landed).toBe('false')
  expect(JSON.parse(run.main.outputs['refused-paths'])).toEqual(refusedPaths)
  expect(stateOf(workspace, origin)).toBe(before)
  expect(world.github.pulls).toHaveLength(0)
  // The refusal is said on the triggering issue too.
  expect(world.github.comments.at(-1)?.body).toContain('Codex apply: refused')
  return run
}
