/**
 * The suite is safe against the peers it tests (a bench-like test: measured, not timed). In a
 * child process run with --expose-gc, the whole suite runs in each role against a peer that
 * floods random bytes, drips them, sends an endless valid box stream, never answers, or hangs up
 * in the middle of a message; the child samples its RSS. Every check must reach its verdict
 * (none ended by its budget) and the peak RSS must stay within 64 MiB of the RSS after loading.
 * Short limits keep it quick: they are the suite's own options, and its waits scale with them.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CHECK_STATUSES, type CheckResult, listChecks } from '../../src/conformance/index.ts'

const run = promisify(execFile)
const RUNNER = fileURLToPath(new URL('./fixtures/hostile-run.ts', import.meta.url))
const MODES = ['flood', 'drip', 'box-flood', 'silent', 'cut-hello', 'cut-box']
const REPLY_TIMEOUT_MS = 150
const STALL_LIMIT_MS = 300
/** Five bytes per reply timeout: a read that restarted its wait at every byte would never end. */
const DRIP_MS = 30
const MEMORY_BOUND_MIB = 64

interface Measured {
  baselineMiB: number
  maxRssMiB: number
  runs: Array<{ mode: string, peakMiB: number, report: { checks: CheckResult[] } }>
}

async function measure (role: 'server' | 'client'): Promise<Measured> {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--conditions=shs-source', RUNNER, role,
    String(REPLY_TIMEOUT_MS), String(STALL_LIMIT_MS), String(DRIP_MS), ...MODES], { maxBuffer: 1 << 24 })
  return JSON.parse(stdout) as Measured
}

describe('shs-transport/conformance against hostile peers: bounded memory, a verdict for every check', function () {
  this.timeout(300_000)
  const measured = new Map<string, Promise<Measured>>()

  before(() => {
    // Side by side: both mostly wait on the peers.
    for (const role of ['server', 'client']) {
      const result = measure(role as 'server' | 'client')
      // Awaited by the tests; this only keeps a failure from being reported twice.
      result.catch(() => {})
      measured.set(role, result)
    }
  })

  for (const role of ['server', 'client'] as const) {
    it(`${role} role: every check of every mode reaches its own verdict`, async () => {
      const { runs } = await (measured.get(role) as Promise<Measured>)
      const ids = listChecks().map((check) => check.id)
      assert.deepEqual(runs.map((entry) => entry.mode), MODES)
      for (const { mode, report } of runs) {
        assert.deepEqual(report.checks.map((check) => check.id), ids, mode)
        for (const check of report.checks) {
          assert.ok(CHECK_STATUSES.includes(check.status), `${mode} ${check.id}: ${check.status}`)
          assert.doesNotMatch(check.reason, /^no verdict within/, `${mode} ${check.id}`)
        }
        // A hostile peer passes nothing that needs a working peer.
        assert.notEqual(report.checks.find((check) => check.id === 'bs.size-1mib')?.status, 'pass', mode)
      }
    })

    it(`${role} role: the peak RSS stays within ${MEMORY_BOUND_MIB} MiB of the RSS after loading`, async () => {
      const { baselineMiB, maxRssMiB, runs } = await (measured.get(role) as Promise<Measured>)
      console.log(`      ${role}: after loading ${baselineMiB.toFixed(1)} MiB; peak ${runs.map((entry) => `${entry.mode} ${entry.peakMiB.toFixed(1)}`).join(', ')}; kernel maxRSS ${maxRssMiB.toFixed(1)} MiB (+${(maxRssMiB - baselineMiB).toFixed(1)})`)
      assert.ok(maxRssMiB - baselineMiB < MEMORY_BOUND_MIB, `peak ${maxRssMiB.toFixed(1)} MiB, ${(maxRssMiB - baselineMiB).toFixed(1)} MiB over ${baselineMiB.toFixed(1)}`)
      for (const { mode, peakMiB } of runs) assert.ok(peakMiB - baselineMiB < MEMORY_BOUND_MIB, `${mode}: ${peakMiB.toFixed(1)} MiB`)
    })
  }
})
