import { cutDiffstat, cutText } from '../output-limits.js'
import type { Leg } from './download.js'
import type { Plan } from './check.js'

/** Links and names of this workflow run, from the runner's environment. */
export interface RunContext {
  runUrl: string
  workflow: string
  runNumber: string
  artifactUrl(leg: Leg): string
}

// GitHub takes 65536 characters in a pull request body or a comment; the agent's parts share half of it.
const AGENT_TEXT_BYTES = 32 * 1024
const DIFFSTAT_BYTES = 16 * 1024
const TITLE_LENGTH = 72

export function runContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com'
  const runUrl = `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
  return { runUrl, workflow: env.GITHUB_WORKFLOW ?? 'workflow', runNumber: env.GITHUB_RUN_NUMBER ?? '', artifactUrl: (leg) => `${runUrl}/artifacts/${leg.artifactId}` }
}

/**
 * Agent text as a fenced code block, longer-fenced than any backtick run inside it: GitHub shows it
 * as it is, and no line of it can become markup, a link, a mention or a closing fence.
 */
export function fenced(text: string, language = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((run) => run[0].length))
  const fence = '`'.repeat(longest + 1)
  return `${fence}${language}\n${text.replace(/\r\n?/g, '\n')}\n${fence}`
}

/** One line of plain text (a title or commit subject) from agent text: no control characters, cut at a word. */
export function plainLine(text: string, maxLength = TITLE_LENGTH): string {
  const line = (text.split('\n').find((candidate) => candidate.trim()) ?? '').replace(/[\x00-\x1f\x7f]/g, ' ').replace(/^[#>*\-\s]+/, '').trim()
  return line.length <= maxLength ? line : `${line.slice(0, maxLength - 1).replace(/\s+\S*$/, '')}…`
}

export function defaultTitle(legs: Leg[], run: RunContext): string {
  const first = legs.length === 1 ? plainLine(legs[0].finalMessage) : ''
  return first ? `Codex: ${first}` : `Codex: changes from ${run.workflow} run ${run.runNumber}`
}

export function commitMessage(title: string, legs: Leg[], run: RunContext): string {
  const legLines = legs.length > 1 ? `\n\nLegs:\n${legs.map((leg) => `- ${leg.name}${leg.slice.length ? ` (${leg.slice.join(', ')})` : ''}`).join('\n')}` : ''
  return `${title}${legLines}\n\nApplied by codex-action from ${run.runUrl}`
}

/** The pull request body: every leg with its slice, final message and usage, then the diffstat. */
export function pullRequestBody(legs: Leg[], plan: Plan, run: RunContext): string {
  const perLeg = Math.floor(AGENT_TEXT_BYTES / legs.length)
  const parts = [`Codex made these changes in [${escapeMarkdownText(run.workflow)} run ${run.runNumber}](${run.runUrl}); review them like any contribution.`]
  for (const leg of legs) {
    const files = plan.filesByLeg.get(leg.name)?.length ?? 0
    parts.push(
      `### ${legs.length > 1 ? 'Leg ' : ''}\`${leg.name.replace(/`/g, "'")}\` ([artifact](${run.artifactUrl(leg)}))`,
      `${leg.slice.length ? `Paths: ${leg.slice.map((glob) => `\`${glob.replace(/`/g, "'")}\``).join(', ')}. ` : ''}Conclusion: ${leg.conclusion.replace(/[^\w-]/g, '')}; ${files} files changed; ${usageLine(leg)}.`,
      leg.finalMessage.trim() ? fenced(cutText(leg.finalMessage.trim(), '\n…(cut; last-message.md in the artifact has all of it)', perLeg), 'markdown') : '_No final message._'
    )
  }
  parts.push('### Diffstat', fenced(cutDiffstat(plan.diffstat, DIFFSTAT_BYTES), 'text'))
  return parts.join('\n\n')
}

function usageLine(leg: Leg): string {
  const usage = leg.usage
  if (!usage) return 'usage unknown'
  const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0)
  return `${number(usage.requests)} model requests, ${number(usage.input_tokens)} input and ${number(usage.output_tokens)} output tokens`
}

/** Plain text from the runner (workflow names, branch names) inside Markdown link text. */
export function escapeMarkdownText(text: string): string {
  return text.replace(/[\\`*_{}[\]()<>#+!|@~-]/g, (c) => `\\${c}`)
}

/** What the sticky comment says about this run of apply. */
export interface Outcome {
  conclusion: 'landed' | 'no-changes' | 'refused' | 'fork' | 'failed'
  message: string
  legs: Leg[]
  plan?: Plan
  refusedPaths: string[]
  link?: { text: string; url: string }
}

export const COMMENT_MARKER = (runId: string) => `<!-- codex-action/apply run:${runId} -->`

export function commentBody(outcome: Outcome, run: RunContext, runId: string): string {
  const icon = { landed: '✅', 'no-changes': '➖', refused: '⛔', fork: '📝', failed: '❌' }[outcome.conclusion]
  const parts = [COMMENT_MARKER(runId), `### ${icon} Codex apply: ${outcome.conclusion}`, `[${escapeMarkdownText(run.workflow)} run ${run.runNumber}](${run.runUrl})`]
  // The message may name agent-chosen paths: shown as text.
  parts.push(fenced(cutText(outcome.message, '…', AGENT_TEXT_BYTES), 'text'))
  if (outcome.link) parts.push(`→ [${outcome.link.text}](${outcome.link.url})`)
  if (outcome.legs.length) parts.push(`Artifacts: ${outcome.legs.map((leg) => `[${leg.name.replace(/[[\]()`]/g, '-')}](${run.artifactUrl(leg)})`).join(', ')}`)
  if (outcome.plan?.diffstat) parts.push(fenced(cutDiffstat(outcome.plan.diffstat, DIFFSTAT_BYTES), 'text'))
  return parts.join('\n\n')
}
