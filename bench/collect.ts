// Collect benchmark: what the action spends around the agent on a repository of 1k, 10k and 100k
// files with 1% changed (edits, adds, deletes, a mode change, binaries), against raw git doing the
// same job (`git add -A && git diff --cached --binary --full-index -M` with a temporary index copied from the
// real one). Both start from the same checkout, in alternation; the action's side runs the real
// stages: record-start, lend (chown to an agent uid, bind mounts), the changes made as the agent,
// hand-back and collect. Needs root (or the runner's sudo) for lend. See bench/README.md.
//
//   npx tsx bench/collect.ts [--rounds 3] [--sizes 1000,10000,100000]
import { execFile as execFileCallback } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync, chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { collectChanges, recordStart } from '../src/collect.js'
import { locateRepository } from '../src/git-dir.js'
import { findPrivilege, type AgentIdentity } from '../src/isolation.js'
import { handBack, lendWorkspace, type AgentFolders } from '../src/lend.js'
import { Redactor } from '../src/redact.js'
import { median } from './measure.js'

const execFile = promisify(execFileCallback)
// An agent uid with no user behind it: chown and find need only the number.
const AGENT_ID = 64_123
const FILES_PER_FOLDER = 100

export async function benchCollect(rounds: number, sizes: number[]): Promise<string[]> {
  const privilege = await findPrivilege()
  if (!privilege) throw new Error('bench/collect.ts lends the repository to another uid: run it as root or with passwordless sudo')
  if (process.env.BENCH_TRACE) {
    const asRoot = privilege.asRoot
    privilege.asRoot = async (command, args) => {
      const t = performance.now()
      try {
        return await asRoot(command, args)
      } finally {
        process.stderr.write(`  ${(performance.now() - t).toFixed(0)} ms: ${command} ${args.join(' ').slice(0, 160)}\n`)
      }
    }
  }
  const identity = { privilege, uid: AGENT_ID, gid: AGENT_ID } as AgentIdentity
  const redactor = new Redactor(['sk-proj-' + 'a'.repeat(40), 'ghs_' + 'b'.repeat(36)])
  const rows: string[] = []
  for (const size of sizes) {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'codex-collect-bench-'))
    try {
      const top = path.join(scratch, 'repo')
      const t0 = performance.now()
      await makeRepository(top, size)
      const made = performance.now() - t0
      const times = { git: [] as number[], recordStart: [] as number[], lend: [] as number[], handBack: [] as number[], collect: [] as number[] }
      let patchBytes = 0
      let changed = 0
      for (let round = 0; round < rounds; round++) {
        // The floor: the same changes on the same checkout, read by plain git with a temporary index.
        await resetRepository(top)
        changeAsAgent(top, size, round)
        const index = path.join(scratch, 'floor-index')
        copyFileSync(path.join(top, '.git', 'index'), index)
        const { atime, mtime } = statSync(path.join(top, '.git', 'index'))
        utimesSync(index, atime, mtime)
        const env = { ...process.env, GIT_INDEX_FILE: index }
        let t = performance.now()
        await execFile('git', ['add', '-A'], { cwd: top, env })
        const { stdout } = await execFile('git', ['diff', '--cached', '--binary', '--full-index', '-M'], { cwd: top, env, maxBuffer: 1 << 30, encoding: 'buffer' })
        times.git.push(performance.now() - t)
        rmSync(index)

        // The action, stage by stage.
        await resetRepository(top)
        const runRoot = path.join(scratch, `run-${round}`)
        mkdirSync(path.join(runRoot, 'output'), { recursive: true, mode: 0o700 })
        const folders = agentFolders(scratch, round)
        t = performance.now()
        const start = await recordStart(await locateRepository(top, runRoot), [runRoot])
        times.recordStart.push(performance.now() - t)
        t = performance.now()
        const withheld = await lendWorkspace(identity, folders, top, folders.codexMount!.replace(/codex$/, 'codex-source'))
        times.lend.push(performance.now() - t)
        changeAsAgent(top, size, round, AGENT_ID)
        t = performance.now()
        const privateNow = await handBack(identity, folders, top)
        times.handBack.push(performance.now() - t)
        t = performance.now()
        const changes = await collectChanges(start, path.join(runRoot, 'output'), redactor, [...withheld, ...privateNow], privilege)
        times.collect.push(performance.now() - t)
        const patch = statSync(changes.patchFile).size
        if (patch !== stdout.length) throw new Error(`the action's patch has ${patch} bytes, raw git's ${stdout.length}: they must describe the same change`)
        patchBytes = patch
        changed = changes.changedFiles.length
      }
      const action = times.recordStart.map((ms, round) => ms + times.collect[round]!)
      const ratio = median(action) / median(times.git)
      rows.push(
        `| ${size.toLocaleString('en')} | ${changed} | ${(patchBytes / 1024).toFixed(0)} | ${median(times.git).toFixed(0)} | ${median(times.recordStart).toFixed(0)} | ${median(times.collect).toFixed(0)} | **${ratio.toFixed(2)}** | ${median(times.lend).toFixed(0)} | ${median(times.handBack).toFixed(0)} |`
      )
      process.stderr.write(`collect ${size}: repository made in ${(made / 1000).toFixed(1)} s; ${rows.at(-1)}\n`)
    } finally {
      await execFile('umount', ['--recursive', '--lazy', scratch]).catch(() => undefined)
      rmSync(scratch, { recursive: true, force: true })
    }
  }
  return [
    '| files | changed | patch KiB | raw git ms | record-start ms | collect ms | (record-start + collect) / git | lend ms | hand-back ms |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows
  ]
}

function agentFolders(scratch: string, round: number): AgentFolders {
  const root = path.join(scratch, `agent-${round}`)
  const folders = { root, home: path.join(root, 'home'), codexHome: path.join(root, 'codex-home'), workspaceMount: path.join(root, 'workspace'), codexMount: path.join(root, 'codex') }
  for (const folder of [folders.home, folders.codexHome, folders.workspaceMount, folders.codexMount, path.join(root, 'codex-source')]) mkdirSync(folder, { recursive: true })
  return folders
}

/** `size` small text files, 100 to a folder, and a few binaries, committed and packed. */
async function makeRepository(top: string, size: number): Promise<void> {
  for (let i = 0; i < size; i++) {
    const folder = path.join(top, `src${Math.floor(i / FILES_PER_FOLDER)}`)
    if (i % FILES_PER_FOLDER === 0) mkdirSync(folder, { recursive: true })
    if (i % 500 === 7) writeFileSync(path.join(folder, `blob${i}.bin`), randomBytes(4096))
    else writeFileSync(path.join(folder, `file${i}.ts`), `// file ${i}\n${`export const value${i} = ${i}\n`.repeat(20)}`)
  }
  await execFile('git', ['init', '-q', '-b', 'main'], { cwd: top })
  await execFile('git', ['add', '-A'], { cwd: top })
  await execFile('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '-q', '-m', 'start'], { cwd: top, maxBuffer: 1 << 26 })
  // A fetched checkout keeps its objects in a pack, not as one loose file each.
  await execFile('git', ['repack', '-adq'], { cwd: top })
  await execFile('git', ['prune-packed'], { cwd: top })
}

/** Back to the commit, with an index whose stat data is not racy (older than a second), as a checkout step leaves it. */
async function resetRepository(top: string): Promise<void> {
  await execFile('git', ['reset', '-q', '--hard'], { cwd: top })
  await execFile('git', ['clean', '-qfdx'], { cwd: top })
  await new Promise((resolve) => setTimeout(resolve, 1100))
  await execFile('git', ['status', '--porcelain'], { cwd: top, maxBuffer: 1 << 26 })
}

/** 1% of the files: 0.6% edited, 0.2% added (some binary), 0.15% deleted, one made executable. Owned by `uid` where made or edited. */
function changeAsAgent(top: string, size: number, round: number, uid?: number): void {
  const file = (i: number): string => path.join(top, `src${Math.floor(i / FILES_PER_FOLDER)}`, i % 500 === 7 ? `blob${i}.bin` : `file${i}.ts`)
  const own = (target: string): void => (uid === undefined ? undefined : chownSync(target, uid, uid))
  const every = Math.max(1, Math.floor(size / (size * 0.01)))
  let picked = 0
  for (let i = round; i < size; i += every, picked++) {
    const target = file(i)
    const kind = picked % 20
    if (kind < 12) appendFileSync(target, `export const changed${round} = ${i}\n`)
    else if (kind < 16) {
      const added = path.join(path.dirname(target), `added${i}${kind === 15 ? '.bin' : '.ts'}`)
      writeFileSync(added, kind === 15 ? randomBytes(2048) : `export const added = ${i}\n`)
      own(added)
    } else if (kind < 19) unlinkSync(target)
    else chmodSync(target, 0o755)
    if (kind < 12 || kind === 19) own(target)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, sizes: { type: 'string', default: '1000,10000,100000' } } })
  console.log((await benchCollect(Number(values.rounds), values.sizes!.split(',').map(Number))).join('\n'))
}
