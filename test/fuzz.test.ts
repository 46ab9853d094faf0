/**
 * The fuzz targets of test/fuzz/properties.ts at a few hundred cases each, on every `npm test`
 * (`npm run fuzz` runs the same properties at 100 000 cases or more). A failure prints
 * fast-check's seed and shrunk counterexample; replay it with `node scripts/fuzz.ts --seed N`.
 */
import assert from 'node:assert/strict'
import { FUZZ_TARGETS } from './fuzz/properties.ts'

/** Enough to catch a regression on most runs while keeping `npm test` fast. */
const RUNS_PER_TARGET = 1000

describe('fuzz: property-based targets (small run; npm run fuzz for the full one)', function () {
  this.timeout(60_000)
  for (const target of FUZZ_TARGETS) {
    it(`${target.name} (${RUNS_PER_TARGET} cases)`, () => {
      const outcome = target.run(RUNS_PER_TARGET)
      assert.equal(outcome.failed, false, outcome.report)
      assert.equal(outcome.numRuns, RUNS_PER_TARGET)
    })
  }
})
