/**
 * The mutant gallery: every conformance check can fail. Each mutant is a peer built on our
 * sans-IO handshake steps with exactly one rule broken (test/cli/conformance/mutant-peer.ts); it
 * must get the verdict named here on the checks that guard that rule, in the roles given. The
 * same peer without a flaw passes the same checks, so the verdict comes from the flaw alone.
 * The suite runs in this process (shs-transport/conformance); only the mutants are processes.
 */
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { type CheckStatus, type ConformanceReport, runClientChecks, runServerChecks } from '../../src/conformance/index.ts'
import { useLeakChecks } from '../helpers/resources.ts'

const MUTANT = fileURLToPath(new URL('./conformance/mutant-peer.ts', import.meta.url))
const SMALL_ORDER = ['zero', 'one', 'order8a', 'order8b', 'p-1', 'p', 'p+1'].map((name) => `hs.small-order-${name}`)
const STALLS = ['hs.stall-before-hello', 'hs.stall-after-hello', 'hs.stall-mid-auth']
const NEVER_ENDS = ['hs.truncated-hello', 'hs.oversized-hello', 'hs.random-auth', 'hs.truncated-auth', 'hs.replayed-auth',
  'bs.replayed-packet', 'bs.reordered-packets', 'bs.cut']
/** The mutant times out a handshake after 300 ms; the gallery's stall limit is well above that. */
const STALL_LIMIT = 1500
const REPLY_TIMEOUT = 2000

interface Mutant {
  readonly flaw: string
  /** The checks that get `status` (default: fail), per role. */
  readonly server: readonly string[]
  readonly client: readonly string[]
  readonly status?: CheckStatus
  /** What every reason must say, when it says something specific. */
  readonly reason?: RegExp
  /** A shorter reply timeout, for a mutant whose every failure waits it out. */
  readonly timeout?: number
}

const GALLERY: readonly Mutant[] = [
  { flaw: 'skip-hello-mac', server: ['hs.wrong-network-key', 'hs.random-hello'], client: ['hs.wrong-network-key', 'hs.random-hello'] },
  { flaw: 'accept-any-signature', server: ['hs.auth-for-other-server'], client: ['hs.wrong-server-key'] },
  { flaw: 'small-order', server: SMALL_ORDER, client: SMALL_ORDER, reason: /completed the handshake|answered a hello whose ephemeral key is the small-order point .* with \d+ bytes/ },
  { flaw: 'small-order-late', server: SMALL_ORDER, client: [], status: 'warn', reason: /with its own hello instead of refusing it, but refused a message 3 built from the all-zero secrets/ },
  { flaw: 'small-order-leak', server: SMALL_ORDER, client: [], reason: /then sent 17 bytes in reply to a message 3 built from the all-zero secrets/ },
  { flaw: 'ignore-box-macs', server: ['bs.flipped-header', 'bs.flipped-body'], client: ['bs.flipped-header', 'bs.flipped-body'] },
  { flaw: 'accept-oversized', server: ['bs.oversized-length'], client: ['bs.oversized-length'] },
  { flaw: 'never-time-out', server: STALLS, client: STALLS, reason: /for more than 1\.50 s|after 1\.50 s/ },
  { flaw: 'echo-after-goodbye', server: ['bs.after-goodbye'], client: ['bs.after-goodbye'], reason: /more than what came before/ },
  // Crashes, each the way real implementations show one: all are CRASH, never a PASS.
  { flaw: 'crash-on-bad-message', server: ['hs.random-hello'], client: ['hs.random-hello'], status: 'crash', reason: /printed an uncaught JavaScript exception on stderr \(Error: mutant crashed on a bad message\)/ },
  { flaw: 'segv-on-bad-message', server: ['hs.random-hello'], client: ['hs.random-hello'], status: 'crash', reason: /SIGSEGV/ },
  { flaw: 'abort-on-bad-message', server: ['hs.random-hello'], client: ['hs.random-hello'], status: 'crash', reason: /SIGABRT/ },
  { flaw: 'exit-101-on-bad-message', server: ['hs.random-hello'], client: ['hs.random-hello'], status: 'crash', reason: /exited with status 101 \(the status of a Rust panic\)/ },
  { flaw: 'panic-print-on-bad-message', server: ['hs.random-hello'], client: ['hs.random-hello'], status: 'crash', reason: /printed a Rust panic on stderr \(thread 'tokio-runtime-worker' panicked at/ },
  { flaw: 'traceback-on-bad-message', server: ['hs.random-hello'], client: ['hs.random-hello'], status: 'crash', reason: /printed a Python traceback on stderr \(peer\.HandshakeError: bad handshake message\)/ },
  { flaw: 'panic-on-oversized', server: ['bs.oversized-length'], client: ['bs.oversized-length'], status: 'crash', reason: /panic/ },
  { flaw: 'never-hang-up', server: NEVER_ENDS, client: NEVER_ENDS, reason: /kept the connection open|still running/, timeout: 1000 },
  { flaw: 'clean-on-cut', server: [], client: ['bs.cut'], reason: /exited with status 0/ },
  { flaw: 'no-half-close', server: [], client: ['bs.half-close-send'] }
]

async function conformance (role: 'server' | 'client', flaw: string, only: readonly string[], replyTimeout = REPLY_TIMEOUT): Promise<ConformanceReport> {
  // No core files from the mutants that abort.
  const command = `ulimit -c 0; "${process.execPath}" --conditions=shs-source "${MUTANT}" ${role} ${flaw}`
  const options = { command, only, replyTimeout, stallLimit: STALL_LIMIT }
  return role === 'server' ? await runServerChecks(options) : await runClientChecks(options)
}

const statuses = (report: ConformanceReport): Record<string, string> => Object.fromEntries(report.checks.map((check) => [check.id, check.status]))

describe('shs-transport/conformance: the mutant gallery (every check can fail)', function () {
  this.timeout(60_000)
  useLeakChecks()

  for (const role of ['server', 'client'] as const) {
    it(`the same peer without a flaw passes every check of the gallery (${role} role)`, async () => {
      const only = [...new Set(GALLERY.flatMap((mutant) => mutant[role]))]
      const report = await conformance(role, '', only)
      assert.equal(report.passed, true, JSON.stringify(report.checks, null, 2))
      assert.deepEqual(new Set(Object.values(statuses(report))), new Set(['pass']))
    })

    for (const mutant of GALLERY.filter((entry) => entry[role].length > 0)) {
      const status = mutant.status ?? 'fail'
      it(`a ${role} with the flaw ${mutant.flaw}: ${status.toUpperCase()} ${mutant[role].join(', ')}`, async () => {
        const report = await conformance(role, mutant.flaw, mutant[role], mutant.timeout)
        assert.equal(report.passed, status === 'warn')
        assert.deepEqual(statuses(report), Object.fromEntries(mutant[role].map((id) => [id, status])), JSON.stringify(report.checks, null, 2))
        if (mutant.reason !== undefined) {
          for (const check of report.checks) assert.match(check.reason, mutant.reason)
        }
      })
    }
  }
})
