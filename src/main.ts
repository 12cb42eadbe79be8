import * as core from '@actions/core'
import { randomUUID } from 'node:crypto'
import { collectChanges, recordStart } from './collect.js'
import { configureCodex } from './configure.js'
import { checkGuard } from './guard.js'
import { readSettings } from './inputs.js'
import { installCodex } from './install/index.js'
import { chooseIdentity } from './isolation.js'
import { startModelProxy } from './model-proxy.js'
import { publish } from './publish.js'
import { Redactor, runSecrets } from './redact.js'
import { runCodex } from './run/index.js'
import { StageClock } from './stage-clock.js'
import { saveRunState, type RunState } from './state.js'

async function main(): Promise<void> {
  const clock = new StageClock()
  const settings = await clock.time('inputs', readSettings)
  await clock.time('guard', () => checkGuard(settings))
  const codex = await clock.time('install', () => installCodex(settings))
  core.setOutput('codex-version', codex.version)

  const runId = randomUUID()
  const identity = await clock.time('isolation', () => chooseIdentity(settings.isolation, runId))
  await identity.allowToRun(codex.binary)
  const proxy = await startModelProxy(settings.baseUrl, settings.apiKey)
  const redactor = new Redactor(runSecrets(settings, proxy.clientToken))
  try {
    const configuration = await clock.time('configure', () => configureCodex(settings, proxy, identity, runnerTemp(), runId))
    const { directories } = configuration
    // What the post step must undo if this step dies: saved again whenever it changes.
    const state: RunState = { runRoot: directories.root, codexHome: directories.codexHome, agentHome: directories.agentHome, isolation: identity.mode, agentUser: identity.userName, lent: [] }
    const remember = (): void => saveRunState({ ...state, lent: identity.lentDirectories() })
    remember()
    const start = await clock.time('record-start', () => recordStart(settings.workingDirectory, [directories.root], directories.gitConfigBackup))
    Object.assign(state, { gitConfigFile: start.gitConfigFile, gitConfigBackup: directories.gitConfigBackup })
    remember()
    await clock.time('lend-workspace', () => identity.lend(start.repository))
    remember()

    const outcome = await clock.time('run', () => runCodex(codex.binary, settings, configuration, identity, redactor))

    await clock.time('hand-back', () => identity.handBack())
    remember()
    const changes = await clock.time('collect', () => collectChanges(start, [directories.root], directories.output, redactor))
    await publish({ settings, codex, identity, configuration, outcome, changes, usage: proxy.usage, clock }, redactor)
    if (outcome.conclusion !== 'success') core.setFailed(`Codex ${outcome.conclusion}: ${outcome.failure}`)
  } finally {
    await proxy.close()
    await codex.cacheSaved
  }
}

function runnerTemp(): string {
  const directory = process.env.RUNNER_TEMP
  if (!directory) throw new Error('RUNNER_TEMP is not set: is this running on a GitHub Actions runner?')
  return directory
}

// A time-boxed cache call may still be retrying in the background: do not wait for it past a
// moment, but give stdout that moment to drain where pipes are asynchronous (macOS).
main()
  .catch((error: Error) => core.setFailed(error.message))
  .finally(() => setTimeout(() => process.exit(), 1000).unref())
