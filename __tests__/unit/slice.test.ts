import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { globProblem, pathMatcher } from '../../src/path-glob.js'
import { changesOutsideSlice, slicePrompt } from '../../src/slice.js'

const folders: string[] = []
afterAll(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })))

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e.st', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e.st' } })
}

describe('pathMatcher', () => {
  it('matches globs, dot files, and everything below a folder a glob names', () => {
    const matches = pathMatcher(['packages/api', 'docs/*.md', '**/.npmrc'])
    expect(['packages/api/src/index.ts', 'packages/api', 'docs/a.md', '.npmrc', 'tools/deep/.npmrc'].every(matches)).toBe(true)
    expect(['packages/api2/x', 'docs/sub/a.md', 'npmrc', 'packages/web/api/x'].some(matches)).toBe(false)
  })

  it('matches nothing without globs', () => {
    expect(pathMatcher([])('anything')).toBe(false)
  })
})

describe('globProblem', () => {
  it('refuses what cannot name a path inside the repository', () => {
    expect(globProblem('/etc/**')).toBe('is absolute')
    expect(globProblem('src/../..')).toBe("has a '.' or '..' segment")
    expect(globProblem('./src')).toBe("has a '.' or '..' segment")
    expect(globProblem('src\\win')).toBe('holds a backslash')
    expect(globProblem('src/**/*.{ts,tsx}')).toBeUndefined()
    expect(globProblem('..cache/x')).toBeUndefined()
  })
})

describe('slice', () => {
  it('tells the agent its paths, and leaves the prompt alone without a slice', () => {
    expect(slicePrompt('Refactor.', [])).toBe('Refactor.')
    expect(slicePrompt('Refactor.', ['packages/a', 'docs/**'])).toBe('Refactor.\n\nWork only on these paths of the repository (globs): packages/a, docs/**. Other runners work on the rest in parallel; changes outside these paths are discarded.')
  })

  it('lists changes outside the slice, both sides of a rename included', async () => {
    const top = mkdtempSync(path.join(os.tmpdir(), 'codex-action-slice-'))
    folders.push(top)
    git(top, 'init', '-q')
    mkdirSync(path.join(top, 'in'))
    writeFileSync(path.join(top, 'in/moved.txt'), 'same content, long enough to be a rename\n')
    writeFileSync(path.join(top, 'out.txt'), 'x\n')
    git(top, 'add', '-A')
    const before = git(top, 'write-tree').trim()
    git(top, 'mv', 'in/moved.txt', 'elsewhere.txt')
    writeFileSync(path.join(top, 'in/new.txt'), 'new\n')
    writeFileSync(path.join(top, 'out.txt'), 'y\n')
    git(top, 'add', '-A')
    const dirs = { home: path.join(top, '.git'), top }
    const index = path.join(top, '.git', 'index')
    expect(await changesOutsideSlice(dirs, before, index, ['in'])).toEqual(['elsewhere.txt', 'out.txt'])
    expect(await changesOutsideSlice(dirs, before, index, [])).toEqual([])
  })
})
