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
import { saveRunState } from './state.js'

async function main(): Promise<void> {
  const actionStartedAt = new Date()
  const settings = readSettings()
  await checkGuard(settings)
  const codex = await installCodex(settings)
  core.setOutput('codex-version', codex.version)

  const identity = await chooseIdentity(settings.isolation)
  const proxy = await startModelProxy(settings.baseUrl, settings.apiKey)
  const redactor = new Redactor(runSecrets(settings, proxy.clientToken))
  try {
    const configuration = await configureCodex(settings, proxy, identity, runnerTemp(), randomUUID())
    const { directories } = configuration
    const state = { runRoot: directories.root, codexHome: directories.codexHome, agentHome: directories.agentHome, isolation: identity.mode }
    const start = await recordStart(settings.workingDirectory, [directories.root], directories.gitConfigBackup)
    saveRunState({ ...state, lent: identity.lentDirectories(), gitConfigFile: start.gitConfigFile, gitConfigBackup: directories.gitConfigBackup })
    await identity.lend(start.repository)
    saveRunState({ ...state, lent: identity.lentDirectories(), gitConfigFile: start.gitConfigFile, gitConfigBackup: directories.gitConfigBackup })

    const outcome = await runCodex(codex.binary, settings, configuration, identity, redactor)

    await identity.handBack()
    saveRunState({ ...state, lent: [] })
    const changes = await collectChanges(start, [directories.root], directories.output, redactor)
    await publish({ settings, codex, identity, configuration, outcome, changes, usage: proxy.usage, actionStartedAt }, redactor)
    if (outcome.conclusion !== 'success') core.setFailed(`Codex ${outcome.conclusion}: ${outcome.failure}`)
  } finally {
    await proxy.close()
  }
}

function runnerTemp(): string {
  const directory = process.env.RUNNER_TEMP
  if (!directory) throw new Error('RUNNER_TEMP is not set: is this running on a GitHub Actions runner?')
  return directory
}

main().catch((error: Error) => core.setFailed(error.message))
