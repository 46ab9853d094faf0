/**
 * The rekey part of the mutant gallery: every rk check that guards a rule of the extension can
 * fail. Each mutant (test/cli/conformance/rekey-mutant.ts) breaks one rule and must fail exactly
 * the checks named here, in the role given, and pass the rest; the same peer without a flaw passes
 * every rk check, its own rekeys included. The suite runs in this process; only the mutants are processes.
 */
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { type ConformanceReport, listChecks, runClientChecks, runServerChecks } from '../../src/conformance/index.ts'
import { useLeakChecks } from '../helpers/resources.ts'

const MUTANT = fileURLToPath(new URL('./conformance/rekey-mutant.ts', import.meta.url))
const RK = listChecks().filter((check) => check.id.startsWith('rk.')).map((check) => check.id)
const LIMITS = { replyTimeout: 2000, stallLimit: 2000 }
/** A responder that does not switch fails every check where it answers a rekey (crossing: the server drops its own and answers). */
const ANSWERED = ['rk.rekey', 'rk.fresh-ephemeral']

interface Mutant {
  readonly flaw: string
  readonly server: readonly string[]
  readonly client: readonly string[]
  /** What the reason of every failed check must say. */
  readonly reason: RegExp
}

const GALLERY: readonly Mutant[] = [
  { flaw: 'never-switch', server: [...ANSWERED, 'rk.crossing'], client: ANSWERED, reason: /under its new receiving key/ },
  { flaw: 'switch-late', server: [...ANSWERED, 'rk.crossing'], client: ANSWERED, reason: /did not authenticate/ },
  { flaw: 'reuse-ephemeral', server: ['rk.fresh-ephemeral'], client: ['rk.fresh-ephemeral'], reason: /the same public key: it reuses its ephemeral key pair/ },
  { flaw: 'accept-unauthenticated', server: ['rk.tampered-control'], client: ['rk.tampered-control'], reason: /answered a REQUEST with a flipped bit in its body with .*RESPONSE|still running/ }
]

async function conformance (role: 'server' | 'client', flaw: string): Promise<ConformanceReport> {
  const command = `"${process.execPath}" --conditions=shs-source "${MUTANT}" ${role} ${flaw}`
  const options = { command, only: ['rk'], ...LIMITS }
  return role === 'server' ? await runServerChecks(options) : await runClientChecks(options)
}

const statuses = (report: ConformanceReport): Record<string, string> => Object.fromEntries(report.checks.map((check) => [check.id, check.status]))

describe('shs-transport/conformance: the rekey mutant gallery (every rk check can fail)', function () {
  this.timeout(120_000)
  useLeakChecks()

  for (const role of ['server', 'client'] as const) {
    it(`the same peer without a flaw passes every rk check (${role} role)`, async () => {
      const report = await conformance(role, '')
      assert.deepEqual(statuses(report), Object.fromEntries(RK.map((id) => [id, 'pass'])), JSON.stringify(report.checks, null, 2))
    })

    for (const mutant of GALLERY) {
      it(`a ${role} with the flaw ${mutant.flaw}: FAIL ${mutant[role].join(', ')}, PASS the other rk checks`, async () => {
        const report = await conformance(role, mutant.flaw)
        const expected = Object.fromEntries(RK.map((id) => [id, mutant[role].includes(id) ? 'fail' : 'pass']))
        assert.deepEqual(statuses(report), expected, JSON.stringify(report.checks, null, 2))
        for (const check of report.checks.filter((entry) => entry.status === 'fail')) assert.match(check.reason, mutant.reason, check.id)
      })
    }
  }
})
