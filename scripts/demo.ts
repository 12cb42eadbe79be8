// Runs the built action end to end on this machine, the way a GitHub runner would, and prints where
// the patch and logs went.
//
//   npm run demo                          the scripted local model edits a scratch repository (no key)
//   OPENAI_API_KEY=sk-… npm run demo -- --repo ../my-project --prompt "Fix the failing test"
//                                         the real model works on a scratch clone of your repository
//
// Options: --repo DIR (default: a new scratch repository), --prompt TEXT, --model NAME,
// --base-url URL (default https://api.openai.com/v1 with a key), --isolation auto|user|none,
// --network open|allow-list|none (default open: the other two add iptables rules to this machine
// for the length of the run; the egress tests run them in a namespace of their own instead).
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { startGitHubApi } from '../test-support/github-api.js'
import { applyPatch, message, shell, startResponsesServer } from '../test-support/responses-server.js'
import { startResultsService } from '../test-support/results-service.js'
import { runAction } from '../test-support/runner.js'

const ACTION_DIR = path.resolve(import.meta.dirname, '..')
const ACTOR = 'demo-user'

const { values: options } = parseArgs({
  options: {
    repo: { type: 'string' },
    prompt: { type: 'string' },
    model: { type: 'string' },
    'base-url': { type: 'string' },
    isolation: { type: 'string', default: 'auto' },
    network: { type: 'string', default: 'open' }
  }
})

const realKey = process.env.OPENAI_API_KEY
const scratch = mkdtempSync(path.join(os.tmpdir(), 'codex-action-demo-'))
const workspace = path.join(scratch, 'repo')
prepareWorkspace()

const model = realKey
  ? undefined
  : await startResponsesServer({
      apiKey: 'sk-demo-local-key-not-a-real-one-000000',
      script: [
        { output: [shell('git log --oneline && ls')] },
        { output: [applyPatch('*** Begin Patch\n*** Add File: GREETING.md\n+# Hello from Codex\n+\n+Written by the scripted demo model.\n*** End Patch\n')] },
        { output: [shell("sed -i 's/^# demo$/# demo (edited by Codex)/' README.md && rm obsolete.txt")] },
        { output: [message('Added GREETING.md, retitled README.md and removed obsolete.txt.')] }
      ]
    })
const results = await startResultsService()
const github = await startGitHubApi({ [ACTOR]: 'write' })
const toolCache = path.join(ACTION_DIR, '.cache', 'tool-cache')
mkdirSync(toolCache, { recursive: true })

try {
  console.log(`Running the action (dist/main.js, then dist/post.js) on ${workspace} with ${realKey ? 'the real model' : 'the scripted local model'}…`)
  const run = await runAction({
    actionDir: ACTION_DIR,
    workspace,
    toolCache,
    runnerTemp: path.join(scratch, 'runner-temp'),
    inputs: {
      prompt: options.prompt ?? (realKey ? 'Describe this repository in NOTES.md.' : 'Greet the reader and tidy up.'),
      'openai-api-key': realKey ?? 'sk-demo-local-key-not-a-real-one-000000',
      'base-url': options['base-url'] ?? model?.url ?? 'https://api.openai.com/v1',
      ...(options.model || !realKey ? { model: options.model ?? 'gpt-5.5' } : {}),
      isolation: options.isolation ?? 'auto',
      network: options.network ?? 'open'
    },
    env: { ...results.env, GITHUB_TOKEN: 'ghs_demoTokenNotReal000000000000000000', GITHUB_API_URL: github.url, GITHUB_ACTOR: ACTOR, GITHUB_TRIGGERING_ACTOR: ACTOR }
  })

  const outputs = run.main.outputs
  for (const line of (run.main.stdout + run.main.stderr).split('\n')) {
    if (/^::(error|warning)/.test(line) || /^(codex:|\$ |files:|Isolation:)/.test(line)) console.log(`  ${line}`)
  }
  console.log('')
  console.log(`conclusion:    ${outputs.conclusion ?? '(none)'}  (main exit ${run.main.exitCode}, post exit ${run.post?.exitCode})`)
  console.log(`final message: ${outputs['final-message'] ?? ''}`)
  console.log(`changed files: ${outputs['changed-files'] ?? '[]'}`)
  if (outputs.diffstat) console.log(outputs.diffstat.replace(/^/gm, '               '))
  console.log(`patch:         ${outputs['patch-path'] ?? '(none)'}`)
  console.log(`logs:          ${outputs['patch-path'] ? path.dirname(outputs['patch-path']) : '(none)'}  (events.jsonl, codex.log, last-message.md, run.json)`)
  const artifact = results.artifacts[0]
  if (artifact) {
    const zip = path.join(scratch, `${artifact.name}.zip`)
    writeFileSync(zip, artifact.zip)
    console.log(`artifact:      '${artifact.name}' (id ${artifact.id}, ${artifact.zip.length} bytes) saved as ${zip}`)
  }
  if (outputs['patch-path']) {
    const record = JSON.parse(readFileSync(path.join(path.dirname(outputs['patch-path']), 'run.json'), 'utf8'))
    console.log(
      `timing:        main step ${Math.round(run.main.durationMs)} ms wall (node start included); codex exec ${record.codexDurationMs} ms; ` +
        `the action's own work ${record.actionDurationMs - record.codexDurationMs} ms; install from ${record.codexSource}`
    )
    console.log(`stages (ms):   ${Object.entries(record.stageMs as Record<string, number>).map(([stage, ms]) => `${stage} ${ms}`).join(', ')}`)
  }
  if (outputs['patch-path'] && outputs['has-changes'] === 'true') {
    console.log(`apply it:      git -C <a clean clone> apply --binary ${outputs['patch-path']}`)
  }
  process.exitCode = run.main.exitCode === 0 ? 0 : 1
} finally {
  await Promise.all([model?.close(), results.close(), github.close()])
}

/** A scratch repository: new, or a clone of --repo so the user's own checkout is never touched. */
function prepareWorkspace(): void {
  const git = (cwd: string, ...args: string[]): void => {
    execFileSync('git', ['-c', 'user.name=demo', '-c', 'user.email=demo@example.invalid', ...args], { cwd, stdio: 'ignore' })
  }
  if (options.repo) {
    git(scratch, 'clone', '--quiet', '--no-local', path.resolve(options.repo), workspace)
    return
  }
  mkdirSync(workspace)
  git(workspace, 'init', '-q', '-b', 'main')
  writeFileSync(path.join(workspace, 'README.md'), '# demo\n\nA scratch repository for the codex-action demo.\n')
  writeFileSync(path.join(workspace, 'obsolete.txt'), 'remove me\n')
  git(workspace, 'add', '-A')
  git(workspace, 'commit', '-q', '-m', 'demo start')
}
