import * as core from '@actions/core'
import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { cleanup } from './cleanup.js'
import { collectChanges, recordStart } from './collect.js'
import { configureCodex } from './configure.js'
import { estimateCost } from './cost.js'
import { locateRepository } from './git-dir.js'
import { requireEnforceable, startEgress, withEgressEnvironment, type Egress } from './egress/index.js'
import { checkGuard } from './guard.js'
import { readSettings } from './inputs.js'
import { installCodex } from './install/index.js'
import { chooseIdentity } from './isolation.js'
import { agentFolders, agentView, createAgentFolders, handBack, lendWorkspace } from './lend.js'
import { startModelProxy } from './model-proxy.js'
import { placeOutputSchema } from './output-schema.js'
import { checkEndpoint } from './preflight.js'
import { preloadArtifactClient, publish } from './publish.js'
import { Redactor, runSecrets } from './redact.js'
import { runCodex } from './run/index.js'
import { probeSandbox } from './sandbox-probe.js'
import { StageClock } from './stage-clock.js'
import { saveRunState, type RunState } from './state.js'
import { listTouched, markLent } from './touched.js'

async function main(): Promise<void> {
  const clock = new StageClock()
  const settings = await clock.time('inputs', readSettings)
  await clock.time('guard', () => checkGuard(settings))
  await clock.time('preflight', () => checkEndpoint(settings))
  const codex = await clock.time('install', () => installCodex(settings))
  core.setOutput('codex-version', codex.version)

  const identity = await clock.time('isolation', () => chooseIdentity(settings.isolation, runnerTemp()))
  requireEnforceable(settings.network, identity)
  const runRoot = await createRunRoot(runnerTemp())
  const folders = agentFolders(identity, runRoot)
  // What the post step must undo if this step dies: saved again whenever it grows.
  const state: RunState = { runRoot, isolation: identity.mode, agentUser: identity.userName, folders }
  saveRunState(state)
  const proxy = await startModelProxy(settings.baseUrl, settings.apiKey, settings)
  const redactor = new Redactor(runSecrets(settings, proxy.clientToken))
  let egress: Egress | undefined
  try {
    egress = await clock.time('egress', () => startEgress(settings, identity, proxy.url, path.join(runRoot, 'output'), (line) => redactor.redact(line), (firewall) => saveRunState(Object.assign(state, { firewall }))))
    await createAgentFolders(identity, folders)
    const gitDirs = await locateRepository(settings.workingDirectory, runRoot)
    // Saved before the real git dir is moved: a step killed at any point after can still have it put back.
    saveRunState(Object.assign(state, { gitDirs }))
    const start = await clock.time('record-start', () => recordStart(gitDirs, [runRoot]))
    const view = agentView(folders, start.dirs.top, settings.workingDirectory, codex.folder, codex.binary)
    const configuration = await clock.time('configure', () => configureCodex(settings, proxy, identity, folders, view, path.join(runRoot, 'output')))
    configuration.env = withEgressEnvironment(configuration.env, egress)
    configuration.outputSchemaFile = await placeOutputSchema(settings.outputSchema, identity, folders, runRoot)
    const withheld = await clock.time('lend', () => lendWorkspace(identity, folders, start.dirs.top, codex.folder))
    // From here the agent's changes are dated after this mark: collect reads again only what it touched.
    const lent = identity.mode === 'user' ? await markLent(start.dirs) : undefined

    const sandbox = await clock.time('sandbox-probe', () => probeSandbox(settings, view.binary, identity, configuration, (relaxedSysctl) => saveRunState(Object.assign(state, { relaxedSysctl }))))
    preloadArtifactClient(settings)
    const outcome = await clock.time('run', () => runCodex(view.binary, settings, configuration, identity, redactor, proxy))

    const survivors = await clock.time('stop', () => identity.stop())
    if (survivors.length) throw new Error(`The agent's processes ${survivors.join(', ')} could not be stopped; the repository is not read while they may still write to it.`)
    // Before hand-back: a link from the agent's home to its file in /tmp must not make that file the runner's.
    await clock.time('sweep', () => identity.sweep([start.dirs.top, runRoot]))
    // Before hand-back, whose chown moves every change time.
    const touched = await clock.time('list-touched', () => listTouched(identity.privilege, start.dirs.top, lent))
    const privateNow = await clock.time('hand-back', () => handBack(identity, folders, start.dirs.top))
    const changes = await clock.time('collect', () => collectChanges(start, configuration.directories.output, redactor, [...withheld, ...privateNow], identity.privilege, settings.paths, touched))
    const network = await egress.close()
    const cost = estimateCost(settings.model ?? proxy.model(), proxy.usage, settings.modelPrices)
    await publish({ settings, codex, identity, configuration, outcome, changes, usage: proxy.usage, clock, withheld, network, sandbox, budget: proxy.budget(), cost, structuredOutput: outcome.structuredOutput }, redactor)
    if (outcome.conclusion !== 'success') core.setFailed(`Codex ${outcome.conclusion}: ${outcome.failure}`)
  } finally {
    await egress?.close()
    await proxy.close()
    const complete = await cleanup(state, identity).then(
      (left) => left.length === 0,
      (error: Error) => core.warning(`Cleanup was incomplete (the post step tries again): ${error.message}`)
    )
    if (complete) saveRunState(Object.assign(state, { cleanedUp: true }))
    await codex.cacheSaved
  }
}

function runnerTemp(): string {
  const directory = process.env.RUNNER_TEMP
  if (!directory) throw new Error('RUNNER_TEMP is not set: is this running on a GitHub Actions runner?')
  return directory
}

/** The action's own folder for this run: the runner user's alone. */
async function createRunRoot(temp: string): Promise<string> {
  const root = path.join(temp, `codex-action-${randomUUID()}`)
  await mkdir(path.join(root, 'output'), { recursive: true, mode: 0o700 })
  return root
}

// A time-boxed cache call may still be retrying in the background: do not wait for it past a
// moment, but give stdout that moment to drain where pipes are asynchronous (macOS).
main()
  .catch((error: Error) => core.setFailed(error.message))
  .finally(() => setTimeout(() => process.exit(), 1000).unref())
