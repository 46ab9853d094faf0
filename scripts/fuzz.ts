/**
 * `npm run fuzz`: every property-based target of test/fuzz/properties.ts, at 100 000 cases each
 * unless told otherwise, with the count per target.
 *
 *   node scripts/fuzz.ts [--runs N] [--seed S] [--target SUBSTRING]
 *
 * Exits non-zero if any target fails; fast-check's report shows the seed to replay with --seed.
 */
import { parseArgs } from 'node:util'
import { FUZZ_TARGETS } from '../test/fuzz/properties.ts'

const DEFAULT_RUNS = 100_000

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: String(DEFAULT_RUNS) },
    seed: { type: 'string' },
    target: { type: 'string', default: '' }
  }
})
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`--runs must be a positive integer, got ${values.runs}`)
const seed = values.seed === undefined ? undefined : Number(values.seed)
if (seed !== undefined && !Number.isInteger(seed)) throw new RangeError(`--seed must be an integer, got ${values.seed}`)

const targets = FUZZ_TARGETS.filter((target) => target.name.includes(values.target))
if (targets.length === 0) throw new Error(`no fuzz target matches "${values.target}"`)

let failures = 0
let total = 0
const started = performance.now()
for (const target of targets) {
  const targetStarted = performance.now()
  const outcome = target.run(runs, seed)
  const seconds = ((performance.now() - targetStarted) / 1000).toFixed(1)
  total += outcome.numRuns
  if (outcome.failed) {
    failures++
    console.log(`FAIL  ${target.name}: failed after ${outcome.numRuns} cases (${seconds} s)\n${outcome.report}\n`)
  } else {
    console.log(`ok    ${target.name}: ${outcome.numRuns} cases (${seconds} s)`)
  }
}
console.log(`\n${targets.length - failures} of ${targets.length} targets passed, ${total} cases in ${((performance.now() - started) / 1000).toFixed(1)} s`)
process.exitCode = failures === 0 ? 0 : 1
