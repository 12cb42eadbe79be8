// Install benchmark: the anchors' `npm install -g @openai/codex` against the action's own installer
// (cold download, restore from the Actions cache, warm tool cache), for the pinned default version,
// interleaved round-robin in one run so machine noise hits every method alike; then gunzip of the
// same tarball by Node 20's zlib, Node 24's zlib and the system gzip / tar. See bench/README.md.
//
//   npx tsx bench/install.ts --rounds 5 [--warm-rounds 25]   (npm run bench runs it with the others)
import { execFileSync, spawn } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { installCodex, type InstalledCodex } from '../src/install/index.js'
import { DEFAULT_CODEX_VERSION } from '../src/install/pinned.js'
import { codexPlatform } from '../src/install/platform.js'
import { startResultsService } from '../test-support/results-service.js'

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'warm-rounds': { type: 'string' }
  }
})
const rounds = positiveInteger('--rounds', options.rounds ?? '5')
const warmRounds = positiveInteger('--warm-rounds', options['warm-rounds'] ?? String(Math.max(25, rounds * 5)))

const VERSION = DEFAULT_CODEX_VERSION
const REGISTRY = 'https://registry.npmjs.org'
const platform = codexPlatform()
const started = performance.now()

// What a shell step on a fresh runner would see: no npm_* variables from `npm run`, nothing of the
// Actions runtime. The TLS variables of this machine stay (see notes/actions-runtime.md).
const shellEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(npm_|ACTIONS_|RUNNER_|GITHUB_)/i.test(name))
)
const benchRoot = mkdtempSync(path.join(os.tmpdir(), 'codex-install-bench-'))
process.once('SIGINT', () => {
  rmSync(benchRoot, { recursive: true, force: true })
  process.exit(130)
})

type Method = 'npm' | 'cold' | 'restore' | 'warm'
const samples: Record<Method, number[]> = { npm: [], cold: [], restore: [], warm: [] }
const npmStartupMs: number[] = []
// installCodex logs both parts of a restore: @actions/cache bringing the entry back, and the per-file check.
const restoreSplit: Array<{ cache: number; check: number }> = []
type Inflater = 'node20' | 'node24' | 'tar'
const inflateMs: Record<Inflater, number[]> = { node20: [], node24: [], tar: [] }
// The Node 24 the e2e suite keeps (test-support/global-setup.ts); the zlib rows skip it when absent.
const node24 = path.resolve(import.meta.dirname, '..', '.cache', 'node24', 'package', 'bin', 'node')

const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, npm ${execFileSync('npm', ['--version'], { env: shellEnv, encoding: 'utf8' }).trim()}, ${os.type()} ${os.release()}`
console.log(`Codex ${VERSION} (${platform.npm}) install benchmark: ${rounds} rounds (warm: ${warmRounds}), ${new Date().toISOString()}`)
console.log(`Machine: ${machine}`)
console.log(`Scratch: ${benchRoot}; load average at start ${loadAverage()} (other work on the machine inflates every row alike)\n`)

const results = await startResultsService()
try {
  // Seed the fake Actions cache (and the warm tool cache) with one install through the action.
  const restoreHome = path.join(benchRoot, 'restore-home')
  const workspace = path.join(benchRoot, 'workspace')
  const warmToolCache = path.join(benchRoot, 'warm-tool-cache')
  const seedTemp = path.join(benchRoot, 'seed-temp')
  for (const dir of [restoreHome, workspace, warmToolCache, seedTemp]) mkdirSync(dir, { recursive: true })
  const cacheEnv = { ...results.env, HOME: restoreHome, GITHUB_WORKSPACE: workspace }
  {
    const t0 = performance.now()
    let returnedAt = 0
    const { value: seeded } = await withEnv({ ...cacheEnv, RUNNER_TOOL_CACHE: warmToolCache, RUNNER_TEMP: seedTemp }, async () => {
      const codex = await installCodex({ codexVersion: VERSION, npmRegistry: REGISTRY, cache: true })
      returnedAt = performance.now()
      // The save runs in the background while the agent works; the bench waits for it inside the same environment.
      await codex.cacheSaved
      return codex
    })
    expect(seeded.source === 'registry', `seed install came from ${seeded.source}, not the registry`)
    expect(results.caches.length === 1, `seed install left ${results.caches.length} cache entries, not 1`)
    checkBinary(seeded.binary)
    console.log(
      `Seeded the fake Actions cache: installCodex returned in ${ms(returnedAt - t0)} ms, its background save finished at ` +
        `${ms(performance.now() - t0)} ms: key ${results.caches[0]!.key}, archive ${(results.caches[0]!.archive.length / 2 ** 20).toFixed(1)} MiB.\n`
    )
    rmSync(seedTemp, { recursive: true, force: true })
  }

  const warmPerRound = Math.ceil(warmRounds / rounds)
  const methods: Array<[Exclude<Method, 'warm'>, () => Promise<void>]> = [
    ['npm', npmRound],
    ['cold', coldRound],
    ['restore', restoreRound]
  ]
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so no method always runs right after the same other one.
    const order = [...methods.slice(round % methods.length), ...methods.slice(0, round % methods.length)]
    const line: string[] = []
    for (const [name, run] of order) {
      await run()
      line.push(`${name} ${ms(samples[name].at(-1)!)}`)
    }
    for (let i = 0; i < warmPerRound && samples.warm.length < warmRounds; i++) await warmRound()
    npmStartupMs.push(await timeNpmStartup())
    console.log(`round ${round + 1}/${rounds}: ${line.join(', ')} ms; warm so far ${samples.warm.length} calls; load ${loadAverage()}`)
  }

  await inflateRounds()
  report()

  /**
   * Gunzip of the same 167 MB tarball, round-robin: Node 20's zlib (this process's node), Node 24's
   * (the runtime action.yml declares), each reading the file and inflating it in 1 MiB pieces into
   * nothing, as the installer inflates; and the system `tar -xzf` with the installer's old filter
   * (GNU gzip plus writing the files), what the installer ran before.
   */
  async function inflateRounds(): Promise<void> {
    const tarball = path.join(benchRoot, 'codex.tgz')
    const response = await fetch(`${REGISTRY}/@openai/codex/-/codex-${VERSION}-${platform.npm}.tgz`)
    expect(response.ok && response.body !== null, `the tarball download answered ${response.status}`)
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(tarball))
    const script = `const z=require('zlib'),f=require('fs');const t=process.hrtime.bigint();f.createReadStream(process.argv[1],{highWaterMark:1<<20}).pipe(z.createGunzip({chunkSize:1<<20})).on('data',()=>{}).on('end',()=>console.log(Number(process.hrtime.bigint()-t)/1e6))`
    const inNode = async (node: string): Promise<number> => {
      const { exitCode, output } = await runTimed(node, ['-e', script, tarball], benchRoot)
      if (exitCode !== 0) throw new Error(`${node} gunzip exited ${exitCode}: ${output}`)
      return Number(output.trim())
    }
    const vendor = `package/vendor/${platform.triple}`
    const runners: Array<[Inflater, () => Promise<number>]> = [
      ['node20', () => inNode(process.execPath)],
      ...(existsSync(node24) ? [['node24', () => inNode(node24)] as [Inflater, () => Promise<number>]] : []),
      [
        'tar',
        async () => {
          const out = mkdtempSync(path.join(benchRoot, 'tar-'))
          settleDisk()
          const { elapsed } = await runTimed('tar', ['-xzf', tarball, '-C', out, '--strip-components=3', `--exclude=${vendor}/codex-resources/voice`, vendor], benchRoot)
          rmSync(out, { recursive: true, force: true })
          return elapsed
        }
      ]
    ]
    for (let round = 0; round < rounds; round++) {
      const order = [...runners.slice(round % runners.length), ...runners.slice(0, round % runners.length)]
      for (const [name, run] of order) inflateMs[name].push(await run())
    }
    if (!existsSync(node24)) console.log(`No Node 24 at ${node24} (npm test's global setup fetches it): its zlib row is left out.`)
  }

  async function npmRound(): Promise<void> {
    const dir = mkdtempSync(path.join(benchRoot, 'npm-'))
    const prefix = path.join(dir, 'prefix')
    const npmCache = path.join(dir, 'npm-cache')
    mkdirSync(prefix)
    mkdirSync(npmCache)
    const args = ['install', '-g', `@openai/codex@${VERSION}`, '--prefix', prefix, '--cache', npmCache, '--no-audit', '--no-fund']
    settleDisk()
    const { exitCode, elapsed, output } = await runTimed('npm', args, dir)
    if (exitCode !== 0) throw new Error(`npm ${args.join(' ')} exited ${exitCode}:\n${output}`)
    samples.npm.push(elapsed)
    checkBinary(path.join(prefix, 'bin', 'codex'))
    rmSync(dir, { recursive: true, force: true })
  }

  async function coldRound(): Promise<void> {
    const dir = mkdtempSync(path.join(benchRoot, 'cold-'))
    const env = runnerDirs(dir)
    settleDisk()
    const { codex, elapsed } = await timedInstall(env, false)
    expect(codex.source === 'registry', `cold install came from ${codex.source}, not the registry`)
    samples.cold.push(elapsed)
    checkBinary(codex.binary)
    rmSync(dir, { recursive: true, force: true })
  }

  async function restoreRound(): Promise<void> {
    const dir = mkdtempSync(path.join(benchRoot, 'restore-'))
    const env = { ...cacheEnv, ...runnerDirs(dir), HOME: restoreHome }
    const restoredAt = path.join(restoreHome, '.cache', 'codex-action')
    rmSync(restoredAt, { recursive: true, force: true })
    settleDisk()
    const { codex, elapsed, log } = await timedInstall(env, true)
    expect(codex.source === 'actions-cache', `restore round came from ${codex.source}, not the Actions cache`)
    const check = /checked in (\d+) ms/.exec(log)?.[1]
    const cache = /took (\d+) ms to restore/.exec(log)?.[1]
    if (check && cache) restoreSplit.push({ cache: Number(cache), check: Number(check) })
    expect(results.caches.length === 1, `a restore round saved a new cache entry (${results.caches.length} entries)`)
    expect(!existsSync(restoredAt) || readdirSync(restoredAt).length === 0, 'the restored entry was left behind')
    samples.restore.push(elapsed)
    checkBinary(codex.binary)
    rmSync(dir, { recursive: true, force: true })
  }

  async function warmRound(): Promise<void> {
    const env = { RUNNER_TOOL_CACHE: warmToolCache, RUNNER_TEMP: path.join(benchRoot, 'warm-temp'), HOME: path.join(benchRoot, 'warm-home') }
    const { codex, elapsed } = await timedInstall(env, true)
    expect(codex.source === 'tool-cache', `warm round came from ${codex.source}, not the tool cache`)
    samples.warm.push(elapsed)
  }
} finally {
  await results.close()
  rmSync(benchRoot, { recursive: true, force: true })
  console.log(`\nTotal bench time: ${(Math.round(performance.now() - started) / 1000).toFixed(1)} s`)
}

function report(): void {
  const npmMedian = median(samples.npm)
  const rows: Array<[string, Method, number]> = [
    ['npm install -g (fresh prefix + npm cache)', 'npm', 0],
    ['action cold (download, sha512, gunzip and writes in one stream)', 'cold', 0],
    ['action restore (Actions cache: the installed tree, per-file sha256)', 'restore', 0],
    ['action warm (tool cache hit)', 'warm', 2]
  ]
  console.log(`\n| method | rounds | median ms | min ms | max ms | ratio vs npm |`)
  console.log(`|---|---:|---:|---:|---:|---:|`)
  for (const [label, method, digits] of rows) {
    const values = samples[method]
    console.log(
      `| ${label} | ${values.length} | ${ms(median(values), digits)} | ${ms(Math.min(...values), digits)} | ${ms(Math.max(...values), digits)} | ` +
        `${method === 'npm' ? '1.00' : (median(values) / npmMedian).toFixed(method === 'warm' ? 5 : 2)} |`
    )
  }
  console.log('')
  const node24Version = existsSync(node24) ? execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim() : 'absent'
  const inflaters: Array<[string, Inflater]> = [
    [`Node ${process.version} zlib (createGunzip, 1 MiB pieces)`, 'node20'],
    [`Node ${node24Version} zlib (the same script)`, 'node24'],
    ['tar -xzf, the installer before this branch (gunzip + writing the vendor tree)', 'tar']
  ]
  console.log(`| gunzip of the ${VERSION} tarball (167 MB → 423 MB) | rounds | median ms | min ms | max ms | ratio vs Node 20 |`)
  console.log(`|---|---:|---:|---:|---:|---:|`)
  for (const [label, name] of inflaters) {
    const values = inflateMs[name]
    if (!values.length) continue
    console.log(`| ${label} | ${values.length} | ${ms(median(values))} | ${ms(Math.min(...values))} | ${ms(Math.max(...values))} | ${(median(values) / median(inflateMs.node20)).toFixed(2)} |`)
  }
  console.log('')
  if (restoreSplit.length) {
    const part = (name: 'cache' | 'check') => restoreSplit.map((split) => split[name])
    console.log(`Action restore split (median): @actions/cache restoreCache (download, unzstd, tar) ${ms(median(part('cache')))} ms, ` +
      `per-file sha256 check ${ms(median(part('check')))} ms (samples: ${restoreSplit.map((split) => `${split.cache} + ${split.check}`).join(', ')}).`)
  }
  console.log(`npm CLI startup alone (\`npm --version\`, median of ${npmStartupMs.length}): ${ms(median(npmStartupMs))} ms; it is inside the npm row, the action rows are in-process.`)
  console.log('\nRaw samples (ms):')
  for (const method of ['npm', 'cold', 'restore'] as const) console.log(`  ${method}: ${samples[method].map((v) => ms(v)).join(', ')}`)
  for (const name of ['node20', 'node24', 'tar'] as const) console.log(`  gunzip ${name}: ${inflateMs[name].map((v) => ms(v)).join(', ')}`)
  console.log(`  warm: ${samples.warm.map((v) => ms(v, 2)).join(', ')}`)

  const goals: Array<[string, boolean, string]> = [
    ['cold <= 0.5x npm', median(samples.cold) <= 0.5 * npmMedian, `ratio ${(median(samples.cold) / npmMedian).toFixed(2)}`],
    ['restore <= 0.3x npm', median(samples.restore) <= 0.3 * npmMedian, `ratio ${(median(samples.restore) / npmMedian).toFixed(2)}`],
    ['restore faster than cold', median(samples.restore) < median(samples.cold), `${ms(median(samples.restore))} vs ${ms(median(samples.cold))} ms`],
    ['warm under 50 ms', median(samples.warm) < 50, `median ${ms(median(samples.warm), 2)} ms`]
  ]
  console.log('\nGoals:')
  for (const [goal, met, detail] of goals) console.log(`  ${met ? 'MET    ' : 'MISSED '} ${goal}: ${detail}`)
}

/** Fresh runner directories for one round, created under `dir`. */
function runnerDirs(dir: string): Record<string, string> {
  const env = { RUNNER_TOOL_CACHE: path.join(dir, 'tool-cache'), RUNNER_TEMP: path.join(dir, 'temp'), HOME: path.join(dir, 'home') }
  for (const d of Object.values(env)) mkdirSync(d, { recursive: true })
  return env
}

/**
 * Runs `fn` with `vars` in process.env and @actions/core's stdout lines captured (the runner would
 * pipe them to its log, not a terminal); restores the environment afterwards, PATH included, since
 * core.addPath prepends to it. On failure the captured lines go to stderr.
 */
/**
 * One installCodex call in `env`, timed until it returns (the tool is usable then); its background
 * cache save is awaited inside the same environment but not counted.
 */
async function timedInstall(env: Record<string, string>, cache: boolean): Promise<{ codex: InstalledCodex; elapsed: number; log: string }> {
  const started = performance.now()
  let elapsed = 0
  const { value: codex, log } = await withEnv(env, async () => {
    const installed = await installCodex({ codexVersion: VERSION, npmRegistry: REGISTRY, cache })
    elapsed = performance.now() - started
    await installed.cacheSaved
    return installed
  })
  return { codex, elapsed, log }
}

async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<{ value: T; log: string }> {
  const saved = new Map<string, string | undefined>()
  for (const name of [...Object.keys(vars), 'PATH', 'GITHUB_PATH']) saved.set(name, process.env[name])
  Object.assign(process.env, vars)
  delete process.env.GITHUB_PATH
  const captured: string[] = []
  const write = process.stdout.write
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined
    callback?.()
    return true
  }) as typeof process.stdout.write
  try {
    return { value: await fn(), log: captured.join('') }
  } catch (error) {
    process.stderr.write(captured.join(''))
    throw error
  } finally {
    process.stdout.write = write
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}

/** Spawns a command with the shell step's environment; the time runs from spawn to exit. */
function runTimed(command: string, args: string[], cwd: string): Promise<{ exitCode: number | null; elapsed: number; output: string }> {
  return new Promise((resolve, reject) => {
    const output: string[] = []
    const t0 = performance.now()
    let elapsed = 0
    const child = spawn(command, args, { cwd, env: shellEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()))
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()))
    child.on('error', reject)
    child.on('exit', () => {
      elapsed = performance.now() - t0
    })
    child.on('close', (exitCode) => resolve({ exitCode, elapsed, output: output.join('') }))
  })
}

async function timeNpmStartup(): Promise<number> {
  const { exitCode, elapsed, output } = await runTimed('npm', ['--version'], benchRoot)
  if (exitCode !== 0) throw new Error(`npm --version exited ${exitCode}: ${output}`)
  return elapsed
}

/** Runs `<binary> --version` (untimed) and insists it is the pinned version. */
function checkBinary(binary: string): void {
  const out = execFileSync(binary, ['--version'], { env: shellEnv, encoding: 'utf8' })
  expect(out.includes(`codex-cli ${VERSION}`), `${binary} --version said ${JSON.stringify(out.trim())}`)
}

/** Flushes dirty pages from the previous method so its writeback is not billed to the next one. */
function settleDisk(): void {
  execFileSync('sync')
}

/** The 1-minute load average: on this 2-core machine anything above ~2 means other work competed with the bench. */
function loadAverage(): string {
  return os.loadavg()[0]!.toFixed(2)
}

function expect(condition: boolean, message: string): void {
  if (!condition) throw new Error(`bench: ${message}`)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function ms(value: number, digits = 0): string {
  return value.toFixed(digits)
}

function positiveInteger(flag: string, text: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} takes a positive whole number, got '${text}'`)
  return n
}
