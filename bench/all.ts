// `npm run bench`: every benchmark of bench/README.md in one run, each side by side with what it
// is compared to, printing medians and ratios.
//
//   npm run bench -- [--rounds 3] [--sizes 1000,10000,100000] [--megabytes 250] [--publish-megabytes 64]
import { spawnSync } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { benchCollect } from './collect.js'
import { benchEvents } from './events.js'
import { loadAverage } from './measure.js'
import { benchOwnTime } from './own-time.js'
import { benchPublish } from './publish.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, sizes: { type: 'string', default: '1000,10000,100000' }, megabytes: { type: 'string', default: '250' }, 'publish-megabytes': { type: 'string', default: '64' } } })
const rounds = Number(values.rounds)
const started = performance.now()
console.log(`npm run bench: ${rounds} rounds, ${new Date().toISOString()}, ${os.cpus().length} cores, Node ${process.version}, load average ${loadAverage()}\n`)

console.log('## Install (bench/install.ts)\n')
const install = spawnSync(process.execPath, [...process.execArgv, path.join(path.dirname(fileURLToPath(import.meta.url)), 'install.ts'), '--rounds', String(rounds)], { stdio: 'inherit' })
if (install.status !== 0) process.exitCode = 1

console.log(`\n## Collect (bench/collect.ts), load average ${loadAverage()}\n`)
console.log((await benchCollect(rounds, values.sizes!.split(',').map(Number))).join('\n'))

console.log(`\n## Run stage (bench/events.ts), load average ${loadAverage()}\n`)
console.log((await benchEvents(rounds, Number(values.megabytes))).join('\n'))

console.log(`\n## The action's own time (bench/own-time.ts), load average ${loadAverage()}\n`)
console.log((await benchOwnTime(rounds)).join('\n'))

console.log(`\n## Publish (bench/publish.ts), load average ${loadAverage()}\n`)
console.log((await benchPublish(rounds, Number(values['publish-megabytes']))).join('\n'))

console.log(`\nAll benchmarks: ${((performance.now() - started) / 1000).toFixed(0)} s; load average at the end ${loadAverage()}`)
