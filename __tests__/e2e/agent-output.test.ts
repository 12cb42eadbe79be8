// Everything the agent writes or prints is read by the action after it is done: its text must never become a
// workflow command, links it leaves in CODEX_HOME must not be followed, the model proxy must forward none of
// its headers, and what it produces in bulk must stay within the runner's limits. The real Codex CLI runs
// each attack, driven by the scripted model.
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { message, shell } from '../../test-support/responses-server.js'
import type { ActionRun } from '../../test-support/runner.js'
import { API_KEY, act, scratchFolder, scratchRepository, startWorld, type World } from './harness.js'

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

function uploadedText(world: World): string {
  return world.results.artifacts.flatMap((artifact) => [...artifact.files.values()].map((bytes) => bytes.toString('latin1'))).join('\n')
}

function uploadedFile(world: World, name: string): Buffer {
  const file = world.results.artifacts[0]?.files.get(name)
  if (!file) throw new Error(`the artifact holds no ${name}`)
  return file
}

/**
 * The lines of a step's output the runner would read as workflow commands: every line that starts (after
 * blanks) with `::` or the older `##[`, outside `::stop-commands::<token>` … `::<token>::` blocks. Stricter
 * than the runner emulation, which does not parse the `##[` form.
 */
function linesReadAsCommands(output: string): string[] {
  const read: string[] = []
  let stopToken: string | undefined
  for (const line of output.split(/\r\n|\r|\n/)) {
    const trimmed = line.trimStart()
    if (stopToken !== undefined) {
      if (trimmed === `::${stopToken}::`) stopToken = undefined
      continue
    }
    const stop = /^::stop-commands::(.+)$/.exec(trimmed)
    if (stop) stopToken = stop[1]
    else if (trimmed.startsWith('::') || trimmed.startsWith('##[')) read.push(line)
  }
  return read
}

describe("the agent's text in the job log", () => {
  it('never becomes a workflow command, in its messages or its commands, and is still shown', async () => {
    const tag = randomBytes(6).toString('hex')
    const injections = [
      `::add-mask::mask-${tag}`,
      '::set-output name=conclusion::pwned',
      '::save-state name=codex-action-run::{}',
      `::warning::warning-${tag}`,
      `::error::error-${tag}`,
      '::stop-commands::abc',
      '::abc::',
      `::add-mask::after-resume-${tag}`,
      `##[add-mask]legacy-${tag}`,
      `   ::add-mask::indented-${tag}`,
      `\t::warning::tabbed-${tag}`
    ]
    const text = injections.join('\n')
    const finalMessage = `Finished.\n${text}\r::add-mask::after-cr-${tag}\nBye.`
    world = await startWorld([
      // A command whose own text spans lines, each one an injection.
      { output: [shell(`: '\n${text}\n' && echo ran-${tag}`)] },
      { output: [message(finalMessage)] }
    ])

    const run = await act(world, scratchRepository())

    const log = run.main.stdout + run.main.stderr
    expect(run.main.exitCode, log).toBe(0)
    expect(world.model.requests[1].toolOutputs.at(-1)).toContain(`ran-${tag}`)
    for (const step of [run.main, run.post]) {
      expect(step?.masks.filter((mask) => mask.includes(tag))).toEqual([])
      expect(step?.commands.filter((command) => ['set-output', 'save-state'].includes(command.command))).toEqual([])
      expect(step?.commands.filter((command) => JSON.stringify(command).includes(tag) || JSON.stringify(command).includes('pwned'))).toEqual([])
      expect(linesReadAsCommands(step ? step.stdout + step.stderr : '').filter((line) => line.includes(tag) || line.includes('pwned') || line.includes('::abc'))).toEqual([])
    }
    // The outputs and the state main hands to post are the action's own.
    expect(run.main.outputs.conclusion).toBe('success')
    expect(run.main.outputs['final-message']).toBe(finalMessage)
    expect(JSON.parse(run.main.state['codex-action-run']).runRoot).toMatch(/codex-action-/)
    expect(run.post?.exitCode, run.post?.stdout).toBe(0)
    expect(run.post?.stdout).toContain('Nothing to clean up: the main step already removed the agent user, its folders and its processes.')
    // Still readable in the log: the command and the message, line by line.
    for (const line of injections) expect(log.split(line).length - 1, line).toBeGreaterThanOrEqual(2)
    expect(log).toContain(`::add-mask::after-cr-${tag}`)
  })
})

interface LinkAttack {
  name: string
  /**
   * The shell command that plants it: `$NEWEST` is Codex's newest transcript, `$NEWER` a name that sorts after
   * it, `$PRIVATE…` the runner user's own files. It prints `not-planted` when the kernel refused it.
   */
  command: string
  /** Whether Codex's real transcript stays where the action looks for the newest one. */
  transcriptKept: boolean
}

const LINK_ATTACKS: LinkAttack[] = [
  { name: 'a symlink to a file only the runner user can read', command: 'ln -sf "$PRIVATE" "$NEWEST"', transcriptKept: false },
  { name: 'a symlink to /proc/self/environ', command: 'ln -sf /proc/self/environ "$NEWEST"', transcriptKept: false },
  // Codex puts a regular file back where it finds a FIFO, so this one goes where it sorts newest.
  { name: 'a FIFO', command: 'mkfifo "$NEWER"', transcriptKept: false },
  // The agent user may not link a file it cannot write (protected_hardlinks); as the runner user it can.
  { name: 'a hard link to a file only the runner user can read', command: 'ln "$PRIVATE" "$NEWER" 2>&1 || echo not-planted', transcriptKept: false },
  {
    name: 'a sessions folder that is a symlink to another folder',
    command: 'cd "$CODEX_HOME/sessions" && year=$(ls | sort | tail -1) && mv "$year" 0000 && ln -s "$PRIVATE_SESSIONS" "$year"',
    transcriptKept: true
  }
]

describe.each([
  { isolation: 'none', label: 'isolation: none' },
  { isolation: undefined, label: 'the default isolation' }
])('links the agent leaves in CODEX_HOME, with $label', ({ isolation }) => {
  it.for(LINK_ATTACKS)('$name: not followed; the final message comes from the event stream', { timeout: 120_000 }, async (attack) => {
    const marker = `runner-private-${randomBytes(12).toString('hex')}`
    const awsSecret = `aws/${randomBytes(20).toString('base64url')}`
    const runnerTemp = scratchFolder('agent-links-temp-')
    const privateFile = path.join(runnerTemp, 'runner-private.txt')
    const privateMessage = path.join(runnerTemp, 'runner-private-message.txt')
    const privateSessions = path.join(runnerTemp, 'runner-private-sessions')
    for (const file of [privateFile, privateMessage]) writeFileSync(file, `${marker}\n`, { mode: 0o600 })
    mkdirSync(path.join(privateSessions, '12', '31'), { recursive: true })
    writeFileSync(path.join(privateSessions, '12', '31', 'rollout-2999-12-31T23-59-59-private.jsonl'), JSON.stringify({ marker }) + '\n', { mode: 0o600 })
    chmodSync(privateSessions, 0o700)

    const plant = [
      `PRIVATE=${privateFile}`,
      `PRIVATE_SESSIONS=${privateSessions}`,
      `NEWEST=$(find "$CODEX_HOME/sessions" -name 'rollout-*.jsonl' | sort | tail -1)`,
      'test -f "$NEWEST" || { echo no-transcript-to-replace; exit 1; }',
      'NEWER="$(dirname "$NEWEST")/rollout-9999-12-31T23-59-59-planted.jsonl"',
      // A link where Codex once wrote its last message: a trap for any reader of CODEX_HOME.
      `ln -sf ${privateMessage} "$CODEX_HOME/last-message.md"`,
      `(${attack.command})`,
      'echo attack-in-place'
    ].join('\n')
    world = await startWorld([{ output: [shell(plant)] }, { output: [message('Left some links behind.')] }])

    const run = await act(world, scratchRepository(), {
      runnerTemp,
      // A FIFO that the action opened for reading would hang main; the net is far below the runner's own.
      timeoutMs: 45_000,
      inputs: isolation ? { isolation } : {},
      env: { AWS_SECRET_ACCESS_KEY: awsSecret }
    })

    const log = run.main.stdout + run.main.stderr
    // Codex itself may fail the run over its spoiled transcript; main must still finish, not hang.
    expect(run.main.timedOut, log).toBe(false)
    expect(run.main.exitCode, log).not.toBeNull()
    const planted = world.model.requests[1].toolOutputs.at(-1) ?? ''
    expect(planted).toContain('attack-in-place')
    expect(run.main.outputs['final-message']).toBe('Left some links behind.')
    expect(uploadedFile(world, 'last-message.md').toString()).toBe('Left some links behind.')

    const published = { artifact: uploadedText(world), outputs: JSON.stringify(run.main.outputs), summary: run.summary, log: log + (run.post?.stdout ?? '') }
    for (const [where, text] of Object.entries(published)) {
      expect(text.includes(marker), `the runner's private file in the ${where}`).toBe(false)
      expect(text.includes(awsSecret), `the action's environment in the ${where}`).toBe(false)
    }
    const names = [...(world.results.artifacts[0]?.files.keys() ?? [])]
    if (attack.transcriptKept || planted.includes('not-planted')) {
      expect(uploadedFile(world, 'transcript.jsonl').toString()).toContain('Left some links behind.')
    } else {
      expect(names).not.toContain('transcript.jsonl')
      expect(log).toMatch(/Codex's transcript was not published: .*rollout-[^ ]*\.jsonl (is a symbolic link|is a named pipe \(FIFO\)|has 2 names)/)
    }
    expect(run.post?.exitCode, run.post?.stdout).toBe(0)
  })
})

describe('the model proxy', () => {
  it("forwards none of the agent's own headers, even with the per-run token stolen from Codex", async () => {
    const steal = [
      // The token is in Codex's environment; a process of the same user can read it there.
      `token=$(for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < "$f" 2>/dev/null; done | grep -m1 '^CODEX_ACTION_MODEL_TOKEN=' | cut -d= -f2-)`,
      `url=$(grep base_url "$CODEX_HOME/config.toml" | cut -d'"' -f2)`,
      'test -n "$token" || { echo no-token; exit 1; }',
      `curl -s -o /dev/null -w 'proxy-status=%{http_code}\\n' -X POST "$url/responses" -H "Authorization: Bearer $token" ` +
        `-H 'OpenAI-Organization: org-agent' -H 'OpenAI-Project: proj_agent' -H 'X-HTTP-Method-Override: DELETE' -H 'Cookie: session=agent' ` +
        `-H 'X-Forwarded-For: 203.0.113.7' -H 'X-Forwarded-Host: evil.example' -H 'api-key: agent-key' -H 'Accept-Encoding: gzip' ` +
        `-H 'Content-Type: application/json' -d '{"model":"gpt-5.5","input":[],"stream":true}'`
    ].join('\n')
    // The agent's request arrives while its command runs, between Codex's first and second.
    world = await startWorld([{ output: [shell(steal)] }, { output: [message('for the agent')] }, { output: [message('done')] }])

    const run = await act(world, scratchRepository())

    expect(run.main.outputs.conclusion, run.main.stdout).toBe('success')
    expect(world.model.requests[2].toolOutputs.at(-1)).toContain('proxy-status=200')
    expect(world.model.requests).toHaveLength(3)
    const [codexFirst, agent, codexSecond] = world.model.requests
    expect(agent.headers.authorization).toBe(`Bearer ${API_KEY}`)
    for (const name of ['openai-organization', 'openai-project', 'x-http-method-override', 'cookie', 'x-forwarded-for', 'x-forwarded-host', 'api-key', 'accept-encoding']) {
      expect(agent.headers[name], name).toBeUndefined()
    }
    // Codex's own headers still reach the model.
    for (const request of [codexFirst, codexSecond]) {
      expect(request.headers.originator).toBe('codex_exec')
      expect(request.headers['session-id']).toMatch(/\S/)
      expect(request.headers['x-codex-turn-metadata']).toMatch(/^\{/)
    }
  })
})

const FILE_COUNT = 20_000
const KIB = 1024

describe('an agent that changes 20,000 files', () => {
  it('gets outputs and a job summary cut to size, with valid JSON and a pointer to the artifact, which lists them all', async () => {
    const folder = 'generated/a-folder-with-a-rather-long-name'
    const make = `mkdir -p ${folder} && cd ${folder} && for i in $(seq -w 1 ${FILE_COUNT}); do echo "$i" > "file-with-a-long-descriptive-name-$i.txt"; done && echo made`
    world = await startWorld([{ output: [shell(make)] }, { output: [message('Generated the files.')] }])

    const run = await act(world, scratchRepository(), { inputs: { isolation: 'none' } })

    const outputs = run.main.outputs
    const sizes = Object.fromEntries(['changed-files', 'diffstat', 'final-message'].map((name) => [name, Buffer.byteLength(outputs[name] ?? '')]))
    console.log(`20,000 changed files: output sizes ${JSON.stringify(sizes)}, job summary ${Buffer.byteLength(run.summary)} bytes`)
    expect(run.main.succeeded, run.main.stdout + run.main.fileCommandErrors.join('\n')).toBe(true)
    expect(outputs.conclusion).toBe('success')

    const listed = JSON.parse(outputs['changed-files']) as string[]
    expect(listed.length).toBeGreaterThan(0)
    expect(listed.length).toBeLessThanOrEqual(1000)
    expect(sizes['changed-files']).toBeLessThanOrEqual(64 * KIB)
    for (const name of listed) expect(name).toMatch(new RegExp(`^${folder}/file-with-a-long-descriptive-name-\\d{5}\\.txt$`))
    expect(outputs['changed-files-truncated']).toBe('true')

    expect(sizes.diffstat).toBeLessThanOrEqual(64 * KIB)
    const diffstat = outputs.diffstat.split('\n')
    expect(diffstat.at(-1)).toBe(` ${FILE_COUNT} files changed, ${FILE_COUNT} insertions(+)`)
    expect(diffstat.at(-2)).toMatch(/more files; the patch in the artifact has every change/)
    expect(Buffer.byteLength(run.summary)).toBeLessThan(1024 * KIB)

    const record = JSON.parse(uploadedFile(world, 'run.json').toString())
    expect(record.changedFiles).toHaveLength(FILE_COUNT)
    expect(record.changedFiles.slice(0, listed.length)).toEqual(listed)
    expect(outputs['patch-redacted']).toBe('false')
  })
})

describe('a patch that held a secret', () => {
  it("says so in the 'patch-redacted' output and in run.json, so a landing step can refuse it", async () => {
    const secret = `passthrough-secret-${randomBytes(12).toString('hex')}`
    world = await startWorld([{ output: [shell('printf "%s\\n" "$MY_SECRET_TOKEN" > leaked.txt')] }, { output: [message('Wrote it down.')] }])

    const run: ActionRun = await act(world, scratchRepository(), { inputs: { 'env-passthrough': 'MY_SECRET_TOKEN' }, env: { MY_SECRET_TOKEN: secret } })

    expect(run.main.outputs.conclusion, run.main.stdout).toBe('success')
    expect(run.main.outputs['patch-redacted']).toBe('true')
    expect(JSON.parse(uploadedFile(world, 'run.json').toString()).patchRedacted).toBe(true)
    expect(readFileSync(run.main.outputs['patch-path'], 'utf8')).not.toContain(secret)
    expect(uploadedText(world)).not.toContain(secret)
  })
})
