import * as core from '@actions/core'
import { stat } from 'node:fs/promises'
import { escapeHtml } from './agent-text.js'
import { networkSummary } from './egress/summary.js'
import { SUMMARY_PART_BYTES, cutEscapedText } from './output-limits.js'
import type { Publication, Report } from './publish.js'
import type { CommandRecord } from './run/commands.js'

// The runner refuses a step summary over 1 MiB (actions/runner: SetStepSummaryCommand, AttachmentSizeLimit = 1024 * 1024 bytes) and shows none of it.
export const RUNNER_SUMMARY_LIMIT_BYTES = 1024 * 1024
// Kept free for what the post step's cleanup may add to the same file.
const RESERVED_BYTES = 8 * 1024
// One command's cell after escaping; the table shows what ran, events.jsonl has all of it.
const COMMAND_CELL_BYTES = 600
// More rows than anyone reads in a diffstat; the patch has every file.
const DIFFSTAT_ROWS = 300
const ICONS: Record<string, string> = { success: '✅', failure: '❌', timeout: '⏱️', cancelled: '🚫', 'budget-exceeded': '💸' }

interface Section {
  /** What the pointer names when the section is left out for size. */
  name: string
  html: string
}

/** Appends the run's job summary to GITHUB_STEP_SUMMARY, within the runner's size limit. */
export async function writeSummary(report: Report, publication: Publication): Promise<void> {
  const file = process.env.GITHUB_STEP_SUMMARY
  if (!file) return
  const already = (await stat(file).catch(() => undefined))?.size ?? 0
  const text = renderSummary(report, publication, RUNNER_SUMMARY_LIMIT_BYTES - RESERVED_BYTES - already)
  await core.summary.emptyBuffer().addRaw(text).write()
}

/**
 * The job summary as GitHub-flavoured Markdown with HTML, at most `maxBytes` long: every part the
 * agent wrote (messages, commands, file names, failures) is escaped and shown as text, each cut to
 * its size; a part that does not fit whole is left out and named in a pointer to the artifact.
 */
export function renderSummary(report: Report, publication: Publication, maxBytes = RUNNER_SUMMARY_LIMIT_BYTES - RESERVED_BYTES): string {
  const sections: Section[] = [
    { name: 'conclusion', html: conclusionSection(report) },
    { name: 'final message', html: finalMessageSection(report) },
    { name: 'changes', html: changesSection(report) },
    { name: 'commands', html: commandsSection(report) },
    { name: 'usage and budget', html: usageSection(report) },
    { name: 'structured output', html: structuredOutputSection(report) },
    { name: 'isolation and sandbox', html: isolationSection(report) },
    { name: 'stage times', html: stagesSection(report) },
    { name: 'network', html: networkSection(report) }
  ].filter((section) => section.html)
  const link = publication.artifactUrl ? `\n<a href="${escapeHtml(publication.artifactUrl)}">Patch and logs (artifact)</a>\n` : ''
  const pointer = (names: string[]): string =>
    `\n<b>Left out to stay within GitHub's step summary limit:</b> ${names.join(', ')}. The artifact has all of it (events.jsonl, run.json, last-message.md, codex.patch).\n`
  const names = sections.map((section) => section.name)
  const room = maxBytes - Buffer.byteLength(link) - Buffer.byteLength(pointer(names))
  let used = 0
  const kept: string[] = []
  const left: string[] = []
  for (const section of sections) {
    const size = Buffer.byteLength(section.html)
    if (used + size <= room) {
      kept.push(section.html)
      used += size
    } else left.push(section.name)
  }
  return kept.join('') + (left.length ? pointer(left) : '') + link
}

function conclusionSection({ outcome, codex, budget }: Report): string {
  let html = `<h2>${ICONS[outcome.conclusion] ?? ''} Codex: ${outcome.conclusion}</h2>\nCodex ${escapeHtml(codex.version)} ran for ${seconds(outcome.durationMs)}.\n`
  if (budget?.exceeded) {
    const limit = budget.exceeded === 'max-tokens' ? `max-tokens (${budget.maxTokens ?? '?'} tokens)` : `max-model-requests (${budget.maxModelRequests ?? '?'} requests)`
    html += `\n<b>Stopped by the budget:</b> ${limit} was reached.\n`
  }
  // In a code block, not as Markdown: a failure can quote the agent, and its text must not become a link or an image.
  if (outcome.failure) html += `\n<b>Why:</b>\n${codeBlock(outcome.failure, ' …(cut; events.jsonl and codex.log in the artifact have all of it)')}`
  return html
}

function finalMessageSection({ outcome }: Report): string {
  if (!outcome.finalMessage) return ''
  return `<h3>Final message</h3>\n${codeBlock(outcome.finalMessage, '\n\n…(cut; the whole message is last-message.md in the artifact)', 'markdown')}`
}

function changesSection({ changes, withheld }: Report): string {
  let html = '<h3>Changes</h3>\n'
  if (!changes.hasChanges) html += 'No files changed.\n'
  const leftOut = [
    withheld.length ? `${withheld.length} private entries of earlier steps were not lent to the agent and are not in the patch` : '',
    changes.nestedRepositories.length ? `${changes.nestedRepositories.length} git repositories inside the work tree are not in the patch` : '',
    changes.outsideSlice.length ? `${changes.outsideSlice.length} changed paths outside this leg's paths are not in the patch` : ''
  ].filter(Boolean)
  if (leftOut.length) html += `${leftOut.join('; ')} (run.json in the artifact lists them).\n`
  if (changes.hasChanges) html += diffstatTable(changes.diffstat)
  return html
}

/** `git diff --stat` as a table: one row per file, then its closing totals line. */
function diffstatTable(diffstat: string): string {
  const lines = diffstat.split('\n')
  const total = /^\s*\d+ files? changed/.test(lines.at(-1) ?? '') ? (lines.pop() as string).trim() : ''
  const rows = lines.slice(0, DIFFSTAT_ROWS).map((line) => {
    // The file name comes first and may hold ' | ' itself; the counts after the last one never do.
    const bar = line.lastIndexOf(' | ')
    const [name, counts] = bar < 0 ? [line.trim(), ''] : [line.slice(0, bar).trim(), line.slice(bar + 3).trim()]
    const [count, graph] = /^(\d+|Bin [^\n]*)(?: ([+-]*))?$/.exec(counts)?.slice(1) ?? [counts, '']
    return `<tr><td>${cell(name, COMMAND_CELL_BYTES)}</td><td>${escapeHtml(count)}</td><td><code>${escapeHtml(graph ?? '')}</code></td></tr>`
  })
  const more = lines.length > DIFFSTAT_ROWS ? `<tr><td colspan="3">… ${lines.length - DIFFSTAT_ROWS} more files; the patch in the artifact has every change</td></tr>` : ''
  return `<table><tr><th>file</th><th>lines</th><th></th></tr>${rows.join('')}${more}</table>\n${total ? `${escapeHtml(total)}\n` : ''}`
}

function commandsSection({ outcome }: Report): string {
  const log = outcome.commands
  if (!log || log.total === 0) return ''
  const shown = log.failures.length + log.others.length
  const counts = `${log.total} run, ${log.failedTotal} failed${shown < log.total ? `; showing the first ${log.failures.length} failures and the last ${log.others.length} others, events.jsonl has them all` : ''}`
  const rows = [...log.failures, ...log.others].map(commandRow).join('')
  return `<h3>Commands</h3>\n<details><summary>${counts}</summary>\n\n<table><tr><th>command</th><th>exit</th><th>time</th></tr>${rows}</table>\n\n</details>\n`
}

function commandRow(command: CommandRecord): string {
  const exit = command.exitCode === null ? '—' : String(command.exitCode)
  return `<tr><td>${command.failed ? '❌ ' : ''}${cell(command.command, COMMAND_CELL_BYTES)}</td><td>${exit}</td><td>${command.durationMs === undefined ? '—' : seconds(command.durationMs)}</td></tr>`
}

function usageSection({ usage, budget, cost }: Report): string {
  const header = ['requests', 'input tokens', 'cached input', 'output tokens', 'total'].map((name) => `<th>${name}</th>`).join('')
  const values = [usage.requests, usage.input_tokens, usage.cached_input_tokens, usage.output_tokens, usage.total_tokens].map((value) => `<td>${value}</td>`).join('')
  let html = `<h3>Usage</h3>\n<table><tr>${header}</tr><tr>${values}</tr></table>\n`
  const limits = [
    budget?.maxTokens !== undefined ? `${usage.total_tokens} of ${budget.maxTokens} tokens (max-tokens)` : '',
    budget?.maxModelRequests !== undefined ? `${usage.requests} of ${budget.maxModelRequests} model requests (max-model-requests)` : ''
  ].filter(Boolean)
  if (limits.length) html += `Budget: ${limits.join('; ')}${budget?.exceeded ? `; <b>${budget.exceeded} was reached and stopped the run</b>` : ''}.\n`
  if (cost) {
    const source = cost.source === 'built-in' ? "the action's built-in price list" : "the 'model-prices' input"
    html += `Estimated cost: about $${cost.estimatedUsd.toFixed(4)} for ${escapeHtml(cost.model)} (an estimate from ${source}; your provider's bill is what counts).\n`
  }
  return html
}

function structuredOutputSection({ structuredOutput }: Report): string {
  if (!structuredOutput) return ''
  const errors = structuredOutput.errors ?? []
  if (errors.length === 0) return '<h3>Structured output</h3>\nThe final message matched the output schema.\n'
  return `<h3>Structured output</h3>\nThe final message did not match the output schema:\n${codeBlock(errors.join('\n'), '\n…(cut)')}`
}

function isolationSection({ identity, settings, sandbox }: Report): string {
  const codexSandbox =
    settings.sandbox === 'bypass'
      ? "bypass (Codex's own sandbox is off; the isolation above and the network proxy are what contain the agent)"
      : `${settings.sandbox} (Codex's own sandbox${sandbox ? `; ${escapeHtml(sandbox.summary)}` : ''})`
  return `<h3>Isolation</h3>\nIsolation: ${identity.mode} (${escapeHtml(identity.reason)}).<br>\nSandbox: ${codexSandbox}.\n`
}

function stagesSection({ clock }: Report): string {
  const rows = Object.entries(clock.milliseconds)
    .map(([stage, ms]) => `<tr><td>${escapeHtml(stage)}</td><td>${seconds(ms)}</td></tr>`)
    .join('')
  if (!rows) return ''
  return `<details><summary>Time of each stage</summary>\n\n<table><tr><th>stage</th><th>time</th></tr>${rows}</table>\n\n</details>\n`
}

function networkSection({ network }: Report): string {
  return network ? networkSummary(network) : ''
}

/**
 * Agent text as a `<pre>` block: escaped, cut after escaping so no entity is split. It follows a blank line, so it is
 * an HTML block of its own that only `</pre>` ends; right after another line it would belong to that line's block,
 * which a blank line of the text ends, and the rest would render as Markdown.
 */
function codeBlock(text: string, cutNote: string, lang?: string): string {
  return `\n<pre${lang ? ` lang="${lang}"` : ''}><code>${cutEscapedText(escapeHtml(beyond(text, SUMMARY_PART_BYTES)), cutNote, SUMMARY_PART_BYTES)}</code></pre>\n`
}

/**
 * As much of `text` as can show in `maxBytes` once escaped, and a character more so the cut is
 * still seen: escaping never shrinks text, and escaping megabytes of `<&>` takes seconds.
 */
function beyond(text: string, maxBytes: number): string {
  return text.length > maxBytes + 1 ? text.slice(0, maxBytes + 1) : text
}

/**
 * Agent text in one table cell: escaped as HTML, with `|` and backticks as entities too (so no
 * Markdown table or code span can form around it) and line breaks shown as ⏎, since a blank line
 * would end the HTML block and let the rest render as Markdown.
 */
function cell(text: string, maxBytes: number): string {
  const escaped = escapeHtml(beyond(text, maxBytes).replace(/\r\n|\r|\n/g, '⏎')).replace(/\|/g, '&#124;').replace(/`/g, '&#96;')
  return `<code>${cutEscapedText(escaped, '…', maxBytes).replace(/&#?[0-9a-z]*…$/, '…')}</code>`
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}
