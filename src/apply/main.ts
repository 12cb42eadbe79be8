import * as core from '@actions/core'
import { context } from '@actions/github'
import { checkLegs, type Plan } from './check.js'
import { downloadLegs, type Leg } from './download.js'
import { connect, readTrigger, upsertComment, type GitHub, type Trigger } from './github.js'
import { readApplySettings, type ApplySettings } from './inputs.js'
import { land } from './land.js'
import { commentBody, commitMessage, defaultTitle, escapeMarkdownText, pullRequestBody, runContext, type Outcome } from './messages.js'
import { Refusal } from './refusal.js'
import { createScratch, openRepository, type Scratch } from './repository.js'

/** The trusted landing job: download the agent's patch(es), check them, land them, and say so on the pull request or issue. */
async function main(): Promise<void> {
  const settings = readApplySettings()
  const github = connect(settings.githubToken)
  const trigger = await readTrigger(github)
  const outcome = await applyLegs(settings, github, trigger)
  await report(outcome, settings, github, trigger)
  if (outcome.conclusion === 'refused' || outcome.conclusion === 'fork' || outcome.conclusion === 'failed') core.setFailed(outcome.message)
}

async function applyLegs(settings: ApplySettings, github: GitHub, trigger: Trigger): Promise<Outcome> {
  const run = runContext()
  let legs: Leg[] = []
  let plan: Plan | undefined
  let scratch: Scratch | undefined
  try {
    legs = await downloadLegs(settings)
    const repository = await openRepository(settings.workingDirectory)
    scratch = await createScratch(repository)
    plan = await checkLegs(repository, legs, settings.policy, scratch)
    if (!plan.files.length) return { conclusion: 'no-changes', message: `Nothing to land: the patch${legs.length > 1 ? 'es change' : ' changes'} no file.`, legs, plan, refusedPaths: [] }
    if (settings.mode === 'push' && trigger.pullRequest?.fromFork) {
      return { conclusion: 'fork', message: `Not pushed: the pull request's branch lives in a fork, where apply never pushes. ${plan.files.length} files would change; the patch is in the artifact (git apply it on the branch).`, legs, plan, refusedPaths: [] }
    }
    const title = settings.title ?? defaultTitle(legs, run)
    const landing = await land(repository, scratch, github, {
      settings,
      plan,
      title,
      message: settings.commitMessage ?? commitMessage(title, legs, run),
      body: pullRequestBody(legs, plan, run),
      pullRequest: trigger.pullRequest,
      defaultBase: (context.payload.repository as { default_branch?: string } | undefined)?.default_branch
    })
    core.setOutput('landed', 'true')
    core.setOutput('commit-sha', landing.commitSha)
    core.setOutput('branch', landing.branch ?? '')
    core.setOutput('pull-request-number', landing.pullRequest ? String(landing.pullRequest.number) : '')
    core.setOutput('pull-request-url', landing.pullRequest?.url ?? '')
    const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com'
    const link = landing.pullRequest
      ? { text: `pull request #${landing.pullRequest.number}${landing.pullRequest.updated ? ' (updated)' : ''}`, url: landing.pullRequest.url }
      : { text: `commit ${landing.commitSha.slice(0, 12)}${settings.mode === 'push' ? ` on ${escapeMarkdownText(landing.branch ?? '')}` : ' (not pushed)'}`, url: `${server}/${process.env.GITHUB_REPOSITORY}/commit/${landing.commitSha}` }
    const how = { 'pull-request': 'opened as a pull request', push: `pushed to ${landing.branch}`, commit: 'committed (not pushed)' }[settings.mode]
    return { conclusion: 'landed', message: `${plan.files.length} files changed from ${legs.length} leg${legs.length > 1 ? 's' : ''}, ${how}.`, legs, plan, refusedPaths: [], link }
  } catch (error) {
    if (error instanceof Refusal) return { conclusion: 'refused', message: error.message, legs, plan, refusedPaths: error.paths }
    return { conclusion: 'failed', message: (error as Error).message, legs, plan, refusedPaths: [] }
  } finally {
    await scratch?.remove()
  }
}

async function report(outcome: Outcome, settings: ApplySettings, github: GitHub, trigger: Trigger): Promise<void> {
  if (outcome.conclusion !== 'landed') core.setOutput('landed', 'false')
  core.setOutput('refused-paths', JSON.stringify(outcome.refusedPaths))
  core.setOutput('legs', JSON.stringify(outcome.legs.map((leg) => ({ name: leg.name, artifactId: leg.artifactId, paths: leg.slice, files: outcome.plan?.filesByLeg.get(leg.name) ?? null }))))
  const runId = process.env.GITHUB_RUN_ID ?? '0'
  const body = commentBody(outcome, runContext(), runId)
  if (settings.comment && trigger.issueNumber) await upsertComment(github, trigger.issueNumber, runId, body)
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(body, true).write()
}

main().catch((error: Error) => core.setFailed(error.message))
