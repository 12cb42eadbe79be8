import { describe, expect, it } from 'vitest'
import { followLink } from '../../src/apply/links.js'

const leaves = (link: string, links: Record<string, string>) => followLink(link, new Map(Object.entries(links))).leaves

describe('followLink', () => {
  it('stays: targets inside the repository, through other links too', () => {
    expect(leaves('src/fine', { 'src/fine': 'a.txt' })).toBe(false)
    expect(leaves('docs/up', { 'docs/up': '../src/a.txt' })).toBe(false)
    expect(leaves('p', { q: 'src', p: 'q/../README.md' })).toBe(false)
    // A target that does not exist yet stays where its name says.
    expect(leaves('d/x', { 'd/x': 'missing/../../README.md' })).toBe(false)
  })

  it('leaves: absolute, above the top, into .git in any case or depth', () => {
    expect(leaves('abs', { abs: '/etc/shadow' })).toBe(true)
    expect(leaves('src/up', { 'src/up': '../../etc/passwd' })).toBe(true)
    expect(leaves('src/git', { 'src/git': '../.git/config' })).toBe(true)
    expect(leaves('g', { g: './.GIT/hooks' })).toBe(true)
    expect(leaves('g', { g: 'sub/.git' })).toBe(true)
  })

  it('leaves when a link in the way makes `..` climb from where it leads (the lexical check said "inside")', () => {
    // q -> . ; p -> q/src/../.. : q/src is src, .. the top, .. above it. Written as a string, "q/src/../.." is ".".
    expect(leaves('p', { q: '.', p: 'q/src/../..' })).toBe(true)
    // Through two links: a -> b, b -> deep/er ; x -> a/../../.. is deep/er/../../.. = above.
    expect(leaves('x', { a: 'b', b: 'deep/er', x: 'a/../../..' })).toBe(true)
    // Into .git through a link to the top.
    expect(leaves('src/cfg', { 'src/top': '..', 'src/cfg': 'top/.git/config' })).toBe(true)
    // A link whose target is another link that leaves.
    expect(leaves('one', { one: 'two', two: '/etc' })).toBe(true)
  })

  it('leaves when the chain has no end (a loop), and says which paths it went through', () => {
    expect(leaves('a', { a: 'b', b: 'a' })).toBe(true)
    expect(followLink('x', new Map(Object.entries({ q: '.', x: 'q/src/file' })))).toEqual({ leaves: false, through: ['x', 'q', 'src', 'src/file'] })
  })
})
