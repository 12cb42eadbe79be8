// Everything the agent writes or prints is read by the action after it is done: its text must never become a
// workflow command. The real Codex CLI runs each attack, driven by the scripted model.
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { message, shell } from '../../test-support/responses-server.js'
import { act, scratchRepository, startWorld, type World } from './harness.js'

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

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
      expect(linesReadAsCommands(step ? step.stdout + step.stderr : '').filter((line) => line.includes(tag) || line.includes('pwned') || line.includes('abc'))).toEqual([])
    }
    // The outputs and the state main hands to post are the action's own.
    expect(run.main.outputs.conclusion).toBe('success')
    expect(run.main.outputs['final-message']).toBe(finalMessage)
    expect(JSON.parse(run.main.state['codex-action-run']).runRoot).toMatch(/codex-action-/)
    expect(run.post?.exitCode, run.post?.stdout).toBe(0)
    expect(run.post?.stdout).toContain('Removed CODEX_HOME')
    // Still readable in the log: the command and the message, line by line.
    for (const line of injections) expect(log.split(line).length - 1, line).toBeGreaterThanOrEqual(2)
    expect(log).toContain(`::add-mask::after-cr-${tag}`)
  })
})
