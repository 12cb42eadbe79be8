// Collect benchmark: what the action spends around the agent on a repository of 1k, 10k and 100k
// files with 1% changed (edits, adds, deletes, a mode change, binaries), against raw git doing the
// same job (`git add -A && git diff --cached --binary --full-index -M` with a temporary index copied from the
// real one). Each round clones two fresh checkouts of the same commit, one for each side; the
// action's side runs the real stages: record-start, lend (chown to an agent uid, bind mounts), the
// changes made as the agent, the listing of what it touched, hand-back and collect. The two patches
// must be the same bytes. Needs root (or the runner's sudo) for lend. See bench/README.md.
//
//   npx tsx bench/collect.ts [--rounds 3] [--sizes 1000,10000,100000]
import { execFile as execFileCallback, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { appendFileSync, chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
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
import { listTouched, markLent } from '../src/touched.js'
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
      const seed = path.join(scratch, 'seed.git')
      let t = performance.now()
      await makeSeed(seed, size)
      const made = performance.now() - t
      const top = path.join(scratch, 'repo')
      t = performance.now()
      await execFile('git', ['clone', '-q', seed, top])
      const cloned = performance.now() - t
      let restores = 0
      const times = { git: [] as number[], recordStart: [] as number[], lend: [] as number[], listTouched: [] as number[], handBack: [] as number[], collect: [] as number[] }
      let patchBytes = 0
      let changed = 0
      for (let round = 0; round < rounds; round++) {
        // The floor: the changes read by plain git with a temporary index copied from the real one.
        t = performance.now()
        await restore(top, round > 0)
        restores += performance.now() - t
        changeAsAgent(top, size, round)
        const index = path.join(scratch, 'floor-index')
        copyFileSync(path.join(top, '.git', 'index'), index)
        const { atime, mtime } = statSync(path.join(top, '.git', 'index'))
        utimesSync(index, atime, mtime)
        const env = { ...process.env, GIT_INDEX_FILE: index }
        t = performance.now()
        await execFile('git', ['add', '-A'], { cwd: top, env })
        const { stdout: floorPatch } = await execFile('git', ['diff', '--cached', '--binary', '--full-index', '-M'], { cwd: top, env, maxBuffer: 1 << 30, encoding: 'buffer' })
        times.git.push(performance.now() - t)
        rmSync(index)

        // The action, stage by stage, on the same checkout made clean again.
        t = performance.now()
        await restore(top, false)
        restores += performance.now() - t
        const runRoot = path.join(scratch, `run-${round}`)
        mkdirSync(path.join(runRoot, 'output'), { recursive: true, mode: 0o700 })
        const folders = agentFolders(scratch, round)
        t = performance.now()
        const start = await recordStart(await locateRepository(top, runRoot), [runRoot])
        times.recordStart.push(performance.now() - t)
        t = performance.now()
        const withheld = await lendWorkspace(identity, folders, top, folders.codexMount!.replace(/codex$/, 'codex-source'))
        const lent = await markLent(start.dirs)
        times.lend.push(performance.now() - t)
        changeAsAgent(top, size, round, AGENT_ID)
        t = performance.now()
        const touched = await listTouched(privilege, top, lent)
        times.listTouched.push(performance.now() - t)
        if (!touched) throw new Error('the listing of what the agent touched failed: collect would read every file')
        t = performance.now()
        const privateNow = await handBack(identity, folders, top)
        times.handBack.push(performance.now() - t)
        t = performance.now()
        const changes = await collectChanges(start, path.join(runRoot, 'output'), redactor, [...withheld, ...privateNow], privilege, [], touched)
        times.collect.push(performance.now() - t)
        const patch = readFileSync(changes.patchFile)
        if (!patch.equals(floorPatch)) throw new Error(`the action's patch (${patch.length} bytes) differs from raw git's (${floorPatch.length} bytes): they must be the same bytes`)
        patchBytes = patch.length
        changed = changes.changedFiles.length
      }
      const action = times.recordStart.map((ms, round) => ms + times.listTouched[round]! + times.collect[round]!)
      const ratio = median(action) / median(times.git)
      const ms = (values: number[]): string => median(values).toFixed(0)
      rows.push(
        `| ${size.toLocaleString('en')} | ${changed} | ${(patchBytes / 1024).toFixed(0)} | ${ms(times.git)} | ${ms(times.recordStart)} | ${ms(times.listTouched)} | ${ms(times.collect)} | **${ratio.toFixed(2)}** | ${ms(times.lend)} | ${ms(times.handBack)} |`
      )
      process.stderr.write(`collect ${size}: seed made in ${(made / 1000).toFixed(1)} s, checked out in ${(cloned / 1000).toFixed(1)} s, ${rounds * 2} restores in ${(restores / 1000).toFixed(1)} s; ${rows.at(-1)}\n`)
    } finally {
      await execFile('umount', ['--recursive', '--lazy', scratch]).catch(() => undefined)
      rmSync(scratch, { recursive: true, force: true })
    }
  }
  return [
    '| files | changed | patch KiB | raw git ms | record-start ms | list-touched ms | collect ms | (record-start + list-touched + collect) / git | lend ms | hand-back ms |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows
  ]
}

function agentFolders(scratch: string, round: number): AgentFolders {
  const root = path.join(scratch, `agent-${round}`)
  const folders = { root, home: path.join(root, 'home'), codexHome: path.join(root, 'codex-home'), workspaceMount: path.join(root, 'workspace'), codexMount: path.join(root, 'codex') }
  for (const folder of [folders.home, folders.codexHome, folders.workspaceMount, folders.codexMount, path.join(root, 'codex-source')]) mkdirSync(folder, { recursive: true })
  return folders
}

/** The same bytes for the same seed, on both sides of a round. */
function seededBytes(seed: string, length: number): Buffer {
  const blocks: Buffer[] = []
  for (let i = 0; blocks.length * 32 < length; i++) blocks.push(createHash('sha256').update(`${seed}:${i}`).digest())
  return Buffer.concat(blocks).subarray(0, length)
}

const fileName = (i: number): string => path.join(`src${Math.floor(i / FILES_PER_FOLDER)}`, i % 500 === 7 ? `blob${i}.bin` : `file${i}.ts`)

/**
 * A bare repository whose one commit holds `size` small text files, 100 to a folder, and a few
 * binaries, written straight into a pack by git fast-import (as a fetch leaves it): no file is
 * written, hashed or repacked twice.
 */
async function makeSeed(seed: string, size: number): Promise<void> {
  await execFile('git', ['init', '-q', '--bare', '-b', 'main', seed])
  const message = 'start\n'
  const stream: Buffer[] = [Buffer.from(`commit refs/heads/main\ncommitter bench <bench@example.com> 1700000000 +0000\ndata ${message.length}\n${message}`)]
  for (let i = 0; i < size; i++) {
    const content = i % 500 === 7 ? seededBytes(`blob${i}`, 4096) : Buffer.from(`// file ${i}\n${`export const value${i} = ${i}\n`.repeat(20)}`)
    stream.push(Buffer.from(`M 100644 inline ${fileName(i)}\ndata ${content.length}\n`), content, Buffer.from('\n'))
  }
  // glibc gives fast-import's freed buffers back to the system and asks again for every object: 14 s instead of 0.4 s at 10k files.
  const importer = spawn('git', ['fast-import', '--quiet'], { cwd: seed, stdio: ['pipe', 'ignore', 'inherit'], env: { ...process.env, MALLOC_TOP_PAD_: String(256 << 20), MALLOC_TRIM_THRESHOLD_: String(1 << 30) } })
  const done = new Promise<number | null>((resolve) => importer.once('close', resolve))
  importer.stdin.end(Buffer.concat(stream))
  if ((await done) !== 0) throw new Error('git fast-import failed')
}

/**
 * Back to the commit, with an index whose stat data is not racy (older than a second), as a
 * checkout step leaves it. After lend and hand-back every file's ctime moved: git refreshes the
 * index first (reads every file once) so that reset rewrites only the files that changed, not all.
 */
async function restore(top: string, afterLend: boolean): Promise<void> {
  // Exit 1 says some files changed: reset puts them back.
  if (afterLend) await execFile('git', ['update-index', '-q', '--refresh'], { cwd: top, maxBuffer: 1 << 26 }).catch(() => undefined)
  await execFile('git', ['reset', '-q', '--hard'], { cwd: top })
  await execFile('git', ['clean', '-qfdx'], { cwd: top })
  await new Promise((resolve) => setTimeout(resolve, 1100))
  await execFile('git', ['status', '--porcelain'], { cwd: top, maxBuffer: 1 << 26 })
}

/** 1% of the files: 0.6% edited, 0.2% added (some binary), 0.15% deleted, one made executable. Owned by `uid` where made or edited. */
function changeAsAgent(top: string, size: number, round: number, uid?: number): void {
  const own = (target: string): void => (uid === undefined ? undefined : chownSync(target, uid, uid))
  const every = Math.max(1, Math.floor(size / (size * 0.01)))
  let picked = 0
  for (let i = round; i < size; i += every, picked++) {
    const target = path.join(top, fileName(i))
    const kind = picked % 20
    if (kind < 12) appendFileSync(target, `export const changed${round} = ${i}\n`)
    else if (kind < 16) {
      const added = path.join(path.dirname(target), `added${i}${kind === 15 ? '.bin' : '.ts'}`)
      writeFileSync(added, kind === 15 ? seededBytes(`added${round}:${i}`, 2048) : `export const added = ${i}\n`)
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
