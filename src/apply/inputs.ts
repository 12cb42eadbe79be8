import * as core from '@actions/core'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { InputError, readBoolean, readChoice, readList, readSecret } from '../inputs.js'
import { globProblem } from '../path-glob.js'
import { relativeInside } from '../path-inside.js'

export type LandingMode = 'pull-request' | 'push' | 'commit'

/** Which paths a patch may not change unless `allowed-paths` names them. */
export interface PathPolicy {
  protectedPaths: string[]
  allowedPaths: string[]
  maxFiles: number
  maxBytes: number
}

/** Everything the apply action was asked to do, read and validated once. */
export interface ApplySettings {
  /** Exactly one of name and pattern. */
  artifactName?: string
  artifactPattern?: string
  mode: LandingMode
  githubToken: string
  workingDirectory: string
  policy: PathPolicy
  branch: string
  base?: string
  title?: string
  commitMessage?: string
  labels: string[]
  reviewers: string[]
  author: { name: string; email: string }
  comment: boolean
}

/**
 * Refused by default: what runs with the repository's rights or credentials (workflows, actions,
 * hooks of package managers and their credential files), and what changes how git reads the tree.
 */
export const DEFAULT_PROTECTED_PATHS = [
  '.github/**',
  '**/action.yml',
  '**/action.yaml',
  '.gitmodules',
  '**/.gitattributes',
  '.lfsconfig',
  '**/CODEOWNERS',
  '**/.npmrc',
  '**/.yarnrc',
  '**/.yarnrc.yml',
  '**/.pypirc',
  '**/pip.conf',
  '**/.netrc',
  '**/.gem/credentials',
  '**/.cargo/credentials',
  '**/.cargo/credentials.toml',
  '**/.docker/config.json',
  '**/.m2/settings.xml',
  '**/.gradle/gradle.properties',
  '**/.nuget/NuGet.Config',
  '**/nuget.config'
]

const DEFAULT_MAX_FILES = 300
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024
const DEFAULT_BRANCH = 'codex/{workflow}-{run-id}'
const DEFAULT_AUTHOR = 'github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>'

export function readApplySettings(env: NodeJS.ProcessEnv = process.env): ApplySettings {
  const artifactName = core.getInput('artifact-name') || undefined
  const artifactPattern = core.getInput('artifact-pattern') || undefined
  if (Boolean(artifactName) === Boolean(artifactPattern)) {
    throw new InputError('artifact-name', `and 'artifact-pattern' are ${artifactName ? 'both given' : 'both empty'}`, "exactly one: 'artifact-name' (one agent job's artifact) or 'artifact-pattern' (a glob over this run's artifact names, for matrix legs)")
  }
  if (artifactPattern && globProblem(artifactPattern)) {
    throw new InputError('artifact-pattern', `is '${artifactPattern}', which ${globProblem(artifactPattern)}`, "a glob over artifact names such as 'codex-fanout-*'")
  }
  const githubToken = readSecret('github-token')
  if (!githubToken) throw new InputError('github-token', 'is empty', 'a token with contents: write (and pull-requests: write to open pull requests), e.g. ${{ github.token }} or a GitHub App token')
  return {
    artifactName,
    artifactPattern,
    mode: readChoice('mode', ['pull-request', 'push', 'commit'] as const) ?? 'pull-request',
    githubToken,
    workingDirectory: readWorkingDirectory(env),
    policy: {
      protectedPaths: [...DEFAULT_PROTECTED_PATHS, ...readGlobs('protected-paths')],
      allowedPaths: readGlobs('allowed-paths'),
      maxFiles: readPositiveInteger('max-files', DEFAULT_MAX_FILES),
      maxBytes: readPositiveInteger('max-bytes', DEFAULT_MAX_BYTES)
    },
    branch: readBranch(env),
    base: readRefName('base'),
    title: oneLine(core.getInput('title')) || undefined,
    commitMessage: core.getInput('commit-message').trim() || undefined,
    labels: readList('labels'),
    reviewers: readList('reviewers'),
    author: readAuthor(),
    comment: readBoolean('comment', true)
  }
}

function readGlobs(input: string): string[] {
  const globs = readList(input)
  for (const glob of globs) {
    const problem = globProblem(glob)
    if (problem) throw new InputError(input, `names '${glob}', which ${problem}`, "globs relative to the repository's top ('docs/**', '.github/workflows/ci.yml'), separated by commas or new lines")
  }
  return globs
}

function readPositiveInteger(input: string, fallback: number): number {
  const value = core.getInput(input)
  if (!value) return fallback
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1) throw new InputError(input, `is '${value}'`, 'a whole number of at least 1')
  return Number(value)
}

function readWorkingDirectory(env: NodeJS.ProcessEnv): string {
  const workspace = env.GITHUB_WORKSPACE || process.cwd()
  const directory = path.resolve(workspace, core.getInput('working-directory') || '.')
  if (relativeInside(workspace, directory) === undefined) {
    throw new InputError('working-directory', `is '${directory}', outside the workspace '${workspace}'`, 'a folder of the checked-out repository, relative to the workspace')
  }
  return directory
}

/** The branch template with its placeholders filled, checked by git as a branch name. */
function readBranch(env: NodeJS.ProcessEnv): string {
  const template = core.getInput('branch') || DEFAULT_BRANCH
  const workflow = (env.GITHUB_WORKFLOW ?? 'workflow').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'workflow'
  const values: Record<string, string> = { 'run-id': env.GITHUB_RUN_ID ?? '0', 'run-number': env.GITHUB_RUN_NUMBER ?? '0', 'run-attempt': env.GITHUB_RUN_ATTEMPT ?? '1', workflow, job: env.GITHUB_JOB ?? 'job' }
  const branch = template.replace(/\{([a-z-]+)\}/g, (whole, name: string) => values[name] ?? whole)
  if (!isBranchName(branch)) {
    throw new InputError('branch', `is '${template}' (${branch})`, 'a branch name, optionally with {workflow}, {run-id}, {run-number}, {run-attempt} or {job}, such as codex/{workflow}-{run-id}')
  }
  return branch
}

function readRefName(input: string): string | undefined {
  const value = core.getInput(input)
  if (value && !isBranchName(value)) throw new InputError(input, `is '${value}'`, 'a branch name such as main')
  return value || undefined
}

function isBranchName(name: string): boolean {
  if (/[\s\x00-\x1f\x7f]|^-/.test(name)) return false
  try {
    execFileSync('git', ['check-ref-format', '--branch', name], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function readAuthor(): { name: string; email: string } {
  const value = core.getInput('author') || DEFAULT_AUTHOR
  const match = /^([^<>\n]+?)\s*<([^<>\s]+@[^<>\s]+)>$/.exec(value.trim())
  if (!match) throw new InputError('author', `is '${value}'`, "'Name <email>', such as 'github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>'")
  return { name: match[1], email: match[2] }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}
