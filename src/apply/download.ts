import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { text } from 'node:stream/consumers'
import picomatch from 'picomatch'
import { AgentFileRefused, openAgentFile } from '../agent-files.js'
import { globProblem } from '../path-glob.js'
import type { ApplySettings } from './inputs.js'
import { Refusal } from './refusal.js'

/** One agent job's published work: a matrix leg, or the only one. Everything but the name is agent-influenced. */
export interface Leg {
  name: string
  artifactId: number
  patchFile: string
  patchBytes: number
  /** The agent job redacted a secret from the patch: its content is no longer the agent's. */
  redacted: boolean
  /** The leg's slice (input paths of the agent job); empty for the whole repository. */
  slice: string[]
  conclusion: string
  finalMessage: string
  usage?: { input_tokens?: number; output_tokens?: number; total_tokens?: number; requests?: number }
}

// run.json and last-message.md are small; an artifact that says otherwise is not read whole.
const RECORD_LIMIT_BYTES = 1024 * 1024

/** Downloads this run's artifact(s) named by `artifact-name` or matching `artifact-pattern`, and reads what apply needs from each. */
export async function downloadLegs(settings: ApplySettings): Promise<Leg[]> {
  // Loaded only here: the artifact client and its storage SDK are most of the bundle's start-up time.
  const { DefaultArtifactClient } = await import('@actions/artifact')
  const client = new DefaultArtifactClient()
  const { artifacts } = await client.listArtifacts({ latest: true })
  const wanted = settings.artifactName ? (name: string) => name === settings.artifactName : picomatch(settings.artifactPattern!, { dot: true })
  const chosen = artifacts.filter((artifact) => wanted(artifact.name)).sort((a, b) => a.name.localeCompare(b.name))
  if (!chosen.length) {
    const asked = settings.artifactName ? `named '${settings.artifactName}'` : `matching '${settings.artifactPattern}'`
    const present = artifacts.map((artifact) => artifact.name).join(', ') || 'none'
    throw new Refusal(`No artifact ${asked} in this workflow run (its artifacts: ${present}). Did the agent job upload one (upload-artifacts), and does apply run after it (needs:)?`, [])
  }
  const root = await mkdtemp(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'codex-apply-'))
  const legs: Leg[] = []
  for (const artifact of chosen) {
    const folder = path.join(root, String(artifact.id))
    await client.downloadArtifact(artifact.id, { path: folder })
    legs.push(await readLeg(artifact.name, artifact.id, folder, settings.policy.maxBytes))
  }
  return legs
}

async function readLeg(name: string, artifactId: number, folder: string, maxPatchBytes: number): Promise<Leg> {
  const record = await readRecordFile(name, path.join(folder, 'run.json'))
  let run: Record<string, unknown>
  try {
    run = JSON.parse(record) as Record<string, unknown>
  } catch {
    throw new Refusal(`The artifact '${name}' has a run.json that is not JSON: it was not made by codex-action.`, [])
  }
  const patchFile = path.join(folder, 'codex.patch')
  // Opened as a proven regular file; only its size is needed here, git reads it later.
  const patch = await openAgentFile(patchFile, { maxBytes: 1 }).catch((error: Error) => {
    throw new Refusal(`The artifact '${name}' has no readable codex.patch (${error.message}).`, [])
  })
  patch.stream.destroy()
  if (patch.size > maxPatchBytes) throw new Refusal(`The patch of '${name}' is ${patch.size} bytes, more than max-bytes (${maxPatchBytes}).`, [])
  // Shown in the commit message and the pull request: only what the agent job's input could have been, one line each.
  const slice = Array.isArray(run.slice) ? run.slice.filter((glob): glob is string => typeof glob === 'string' && !/[\x00-\x1f\x7f`]/.test(glob) && !globProblem(glob)) : []
  return {
    name,
    artifactId,
    patchFile,
    patchBytes: patch.size,
    redacted: run.patchRedacted !== false,
    slice,
    conclusion: typeof run.conclusion === 'string' ? run.conclusion : 'unknown',
    finalMessage: await readRecordFile(name, path.join(folder, 'last-message.md')).catch(() => ''),
    usage: typeof run.usage === 'object' && run.usage !== null ? (run.usage as Leg['usage']) : undefined
  }
}

async function readRecordFile(artifact: string, file: string): Promise<string> {
  try {
    const opened = await openAgentFile(file, { maxBytes: RECORD_LIMIT_BYTES })
    return await text(opened.stream)
  } catch (error) {
    const why = error instanceof AgentFileRefused ? error.message : (error as Error).message
    throw new Refusal(`The artifact '${artifact}' has no readable ${path.basename(file)} (${why}): it was not made by codex-action.`, [])
  }
}
