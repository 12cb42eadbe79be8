// The fake GitHub REST API answers the real client (@actions/github's Octokit) as GitHub does.
import { getOctokit } from '@actions/github'
import { afterEach, describe, expect, it } from 'vitest'
import { startGitHubApi, type GitHubApi } from './github-api.js'

let api: GitHubApi | undefined
afterEach(async () => {
  await api?.close()
  api = undefined
})

const repo = { owner: 'octo-org', repo: 'octo-repo' }

describe('the fake GitHub API', () => {
  it('keeps the collaborator permission check as it was', async () => {
    api = await startGitHubApi({ octocat: 'maintain' })
    const github = getOctokit('t0ken', { baseUrl: api.url })
    const { data } = await github.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'octocat' })
    expect(data).toMatchObject({ permission: 'write', role_name: 'maintain' })
    await expect(github.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'stranger' })).rejects.toMatchObject({ status: 404 })
    expect(api.authorizations).toEqual(['token t0ken', 'token t0ken'])
  })

  it('creates, lists, gets and updates pull requests; a second one for the same branch is a 422', async () => {
    api = await startGitHubApi()
    const github = getOctokit('t', { baseUrl: api.url })
    const { data: created } = await github.rest.pulls.create({ ...repo, head: 'codex/x', base: 'main', title: 'One', body: 'b' })
    expect(created).toMatchObject({ number: 101, html_url: 'https://github.com/octo-org/octo-repo/pull/101', head: { ref: 'codex/x', repo: { full_name: 'octo-org/octo-repo' } } })
    const duplicate = await github.rest.pulls.create({ ...repo, head: 'codex/x', base: 'main', title: 'Two' }).catch((error: { status: number; message: string }) => error)
    expect(duplicate).toMatchObject({ status: 422 })
    expect((duplicate as unknown as Error).message).toContain('A pull request already exists for octo-org:codex/x.')
    expect((await github.rest.pulls.list({ ...repo, head: 'octo-org:codex/x', state: 'open' })).data.map((pull) => pull.number)).toEqual([101])
    expect((await github.rest.pulls.list({ ...repo, head: 'octo-org:other' })).data).toEqual([])
    await github.rest.pulls.update({ ...repo, pull_number: 101, title: 'Renamed' })
    expect((await github.rest.pulls.get({ ...repo, pull_number: 101 })).data.title).toBe('Renamed')
    await github.rest.issues.addLabels({ ...repo, issue_number: 101, labels: ['codex'] })
    await github.rest.pulls.requestReviewers({ ...repo, pull_number: 101, reviewers: ['octocat'] })
    expect(api.pulls[0]).toMatchObject({ title: 'Renamed', body: 'b', labels: ['codex'], reviewers: ['octocat'] })
    await expect(github.rest.pulls.get({ ...repo, pull_number: 7 })).rejects.toMatchObject({ status: 404 })
  })

  it('creates, lists and updates issue comments', async () => {
    api = await startGitHubApi()
    const github = getOctokit('t', { baseUrl: api.url })
    const { data: comment } = await github.rest.issues.createComment({ ...repo, issue_number: 7, body: 'first' })
    await github.rest.issues.updateComment({ ...repo, comment_id: comment.id, body: 'second' })
    expect((await github.rest.issues.listComments({ ...repo, issue_number: 7 })).data.map((c) => c.body)).toEqual(['second'])
    expect((await github.rest.issues.listComments({ ...repo, issue_number: 8 })).data).toEqual([])
  })

  it('answers 403 to what the token may not do', async () => {
    api = await startGitHubApi()
    api.forbidden.push(/^POST .*\/pulls$/)
    const github = getOctokit('t', { baseUrl: api.url })
    await expect(github.rest.pulls.create({ ...repo, head: 'x', base: 'main', title: 't' })).rejects.toMatchObject({ status: 403, message: expect.stringContaining('Resource not accessible by integration') })
    expect(api.pulls).toEqual([])
  })
})
