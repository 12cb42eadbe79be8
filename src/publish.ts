import * as core from '@actions/core'
import { createWriteStream } from 'node:fs'
import { stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { findAgentFiles, openAgentFile, type AgentFile } from './agent-files.js'
import type { Changes } from './collect.js'
import type { NetworkReport } from './egress/index.js'
import type { AgentConfiguration } from './configure.js'
import type { Settings } from './inputs.js'
import type { InstalledCodex } from './install/index.js'
import type { AgentIdentity } from './isolation.js'
import type { Usage } from './model-proxy.js'
import { OUTPUT_LIMIT_BYTES, cutDiffstat, cutFileList, cutText } from './output-limits.js'
import type { Redactor } from './redact.js'
import type { StageClock } from './stage-clock.js'
import type { RunOutcome } from './run/index.js'
import type { SandboxProbe } from './sandbox-probe.js'
import { writeSummary } from './summary.js'

export interface Report {
  settings: Settings
  codex: InstalledCodex
  identity: AgentIdentity
  configuration: AgentConfiguration
  outcome: RunOutcome
  changes: Changes
  usage: Usage
  clock: StageClock
  /** Workspace entries an earlier step made private, which the agent was not lent. */
  withheld: string[]
  /** What the agent's network was limited to, and what it was refused. */
  network?: NetworkReport
  /** What Codex's own sandbox probe found, when a sandbox mode ran. */
  sandbox?: SandboxProbe
  /** The limits the model proxy enforced, and which one stopped the run. */
  budget?: { maxTokens?: number; maxModelRequests?: number; exceeded?: 'max-tokens' | 'max-model-requests' }
  /** What the run cost by the listed prices: an estimate, never the bill. */
  cost?: { model: string; estimatedUsd: number; source: 'built-in' | 'model-prices' }
  /** The final message read against the output schema, when one was given. */
  structuredOutput?: { value?: unknown; errors?: string[] }
}

export interface Publication {
  artifactId?: number
  artifactUrl?: string
}

const NAME_CONFLICT_RETRIES = 4
// Far more than any real session writes; a transcript the agent inflated is cut here, not held whole.
const TRANSCRIPT_LIMIT_BYTES = 256 * 1024 * 1024
const MESSAGE_CUT_NOTE = '\n\n…(cut; the whole message is last-message.md in the artifact)'

/** Writes the run's small files, uploads them with the patch and logs, and reports outputs and the job summary. */
export async function publish(report: Report, redactor: Redactor): Promise<Publication> {
  const output = report.configuration.directories.output
  await writeFile(path.join(output, 'last-message.md'), report.outcome.finalMessage, { mode: 0o644 })
  // Publish runs after hand-back: what the agent wrote is the runner user's now, and anything else (a link to root's file) is refused.
  const transcript = await copyTranscript(report.configuration.directories.codexHome, process.getuid?.(), output, redactor)
  await writeFile(path.join(output, 'run.json'), JSON.stringify(runRecord(report), null, 2) + '\n', { mode: 0o644 })

  const files = ['codex.patch', 'events.jsonl', 'codex.log', 'last-message.md', 'run.json', ...(transcript ? [transcript] : []), ...(report.network?.logFile ? ['network.jsonl'] : [])].map((name) =>
    path.join(output, name)
  )
  const publication = report.settings.uploadArtifacts ? await uploadArtifact(report.settings, files, output) : {}

  setOutputs(report, publication)
  await writeSummary(report, publication)
  return publication
}

function runRecord(report: Report): Record<string, unknown> {
  const { outcome, codex, settings, changes, identity } = report
  return {
    conclusion: outcome.conclusion,
    failure: outcome.failure ?? null,
    exitCode: outcome.exitCode,
    codexVersion: codex.version,
    codexSource: codex.source,
    model: settings.model ?? null,
    sandbox: settings.sandbox,
    sandboxProbe: report.sandbox ?? null,
    isolation: identity.mode,
    startedAt: outcome.startedAt.toISOString(),
    codexDurationMs: outcome.durationMs,
    // From the start of main to this file: everything but the upload and the summary.
    actionDurationMs: Date.now() - report.clock.startedAt.getTime(),
    stageMs: report.clock.milliseconds,
    usage: report.usage,
    budget: report.budget ?? null,
    costEstimate: report.cost ?? null,
    structuredOutput: report.structuredOutput ?? null,
    // Codex's own count from its turn.completed events, beside the proxy's; they differ when requests were retried.
    usageReportedByCodex: report.outcome.events.usage,
    changedFiles: changes.changedFiles,
    patchRedacted: changes.redacted,
    nestedRepositories: changes.nestedRepositories,
    oversizedFiles: changes.oversizedFiles,
    // The leg's slice (input paths), so apply can name the legs it combines.
    slice: settings.paths,
    outsideSlice: changes.outsideSlice,
    withheld: report.withheld,
    network: report.network ? { mode: report.network.mode, enforcement: report.network.enforcement, attempts: report.network.attempts, refusedHosts: report.network.refusedHosts } : null
  }
}

/** Codex's own transcript of the session (sessions/…/rollout-*.jsonl), redacted, as one more log. */
async function copyTranscript(codexHome: string, owner: number | undefined, output: string, redactor: Redactor): Promise<string | undefined> {
  // The agent owns CODEX_HOME: a link there would make the action read, with its own rights, whatever the agent chose.
  const rollouts = await findAgentFiles(path.join(codexHome, 'sessions'), /^rollout-.*\.jsonl$/)
  const newest = rollouts.sort().at(-1)
  if (!newest) return undefined
  let transcript: AgentFile
  try {
    transcript = await openAgentFile(newest, { owner, maxBytes: TRANSCRIPT_LIMIT_BYTES })
  } catch (error) {
    // A warning, not an info line: the agent chose the folder names, and a warning cannot carry a line break.
    core.warning(redactor.redact(`Codex's transcript was not published: ${(error as Error).message}`))
    return undefined
  }
  if (transcript.truncated) core.warning(redactor.redact(`Codex's transcript ${newest} is ${transcript.size} bytes; only its first ${TRANSCRIPT_LIMIT_BYTES} are published.`))
  await pipeline(transcript.stream, redactor.stream(), createWriteStream(path.join(output, 'transcript.jsonl'), { mode: 0o644 }))
  return 'transcript.jsonl'
}

let artifactModule: Promise<typeof import('@actions/artifact')> | undefined

/**
 * Starts loading the artifact client while the agent works, so the upload does not wait for it:
 * with its storage SDK it is most of the bundle, and a run that uploads nothing never loads it.
 */
export function preloadArtifactClient(settings: Pick<Settings, 'uploadArtifacts'>): void {
  if (!settings.uploadArtifacts || artifactModule) return
  artifactModule = import('@actions/artifact')
  // A failure to load is reported by the upload that awaits it; until then it is not an unhandled rejection.
  artifactModule.catch(() => undefined)
}

async function uploadArtifact(settings: Settings, files: string[], rootDirectory: string): Promise<Publication> {
  const { DefaultArtifactClient } = await (artifactModule ??= import('@actions/artifact'))
  const client = new DefaultArtifactClient()
  const baseName = settings.artifactName ?? defaultArtifactName()
  for (let attempt = 0; ; attempt++) {
    const name = attempt === 0 ? baseName : `${baseName}-${attempt + 1}`
    try {
      const { id } = await client.uploadArtifact(name, files, rootDirectory, { retentionDays: settings.retentionDays })
      const size = (await Promise.all(files.map((file) => stat(file)))).reduce((sum, s) => sum + s.size, 0)
      core.info(`Uploaded artifact '${name}' (${size} bytes before compression, id ${id}).`)
      return { artifactId: id, artifactUrl: id ? artifactUrl(id) : undefined }
    } catch (error) {
      const message = (error as Error).message
      // Matrix legs share the job name: on a clash, take the next free name rather than losing the logs.
      if (/already exists|conflict|409/i.test(message) && attempt < NAME_CONFLICT_RETRIES && !settings.artifactName) continue
      core.warning(`The artifact '${name}' could not be uploaded (${message}). The patch is still at ${path.join(rootDirectory, 'codex.patch')}.`)
      return {}
    }
  }
}

function defaultArtifactName(): string {
  const job = (process.env.GITHUB_JOB || 'job').replace(/["':<>|*?\\/\r\n]/g, '-')
  return `codex-${job}-attempt-${process.env.GITHUB_RUN_ATTEMPT || '1'}`
}

function artifactUrl(id: number): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: run } = process.env
  return server && repository && run ? `${server}/${repository}/actions/runs/${run}/artifacts/${id}` : undefined
}

function setOutputs(report: Report, publication: Publication): void {
  const { outcome, changes, codex } = report
  const changedFiles = cutFileList(changes.changedFiles)
  core.setOutput('conclusion', outcome.conclusion)
  core.setOutput('final-message', cutText(outcome.finalMessage, MESSAGE_CUT_NOTE, OUTPUT_LIMIT_BYTES))
  core.setOutput('has-changes', String(changes.hasChanges))
  core.setOutput('changed-files', changedFiles.json)
  core.setOutput('changed-files-truncated', String(changedFiles.truncated))
  core.setOutput('diffstat', cutDiffstat(changes.diffstat, OUTPUT_LIMIT_BYTES))
  core.setOutput('patch-path', changes.patchFile)
  core.setOutput('patch-redacted', String(changes.redacted))
  core.setOutput('artifact-id', publication.artifactId === undefined ? '' : String(publication.artifactId))
  core.setOutput('artifact-url', publication.artifactUrl ?? '')
  core.setOutput('codex-version', codex.version)
  core.setOutput('usage', JSON.stringify({ ...report.usage, ...(report.cost ? { estimated_cost_usd: report.cost.estimatedUsd, cost_model: report.cost.model } : {}) }))
  core.setOutput('structured-output', structuredOutput(report))
  core.setOutput('exit-code', outcome.exitCode === null ? '' : String(outcome.exitCode))
  core.setOutput('refused-hosts', JSON.stringify(report.network?.refusedHosts ?? []))
}

/** The final message's JSON when it matched output-schema; empty when there was none or it did not match, or when it is over the output limit (run.json has it). */
function structuredOutput(report: Report): string {
  const value = report.structuredOutput?.value
  if (value === undefined) return ''
  const json = JSON.stringify(value)
  if (Buffer.byteLength(json) <= OUTPUT_LIMIT_BYTES) return json
  core.warning(`The structured output is ${Buffer.byteLength(json)} bytes, over the ${OUTPUT_LIMIT_BYTES} bytes of an output: 'structured-output' is empty; run.json in the artifact has it.`)
  return ''
}
