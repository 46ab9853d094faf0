/**
 * The mutant gallery: every conformance check can fail. Each mutant is a peer built on our
 * sans-IO handshake steps with exactly one rule broken (test/cli/conformance/mutant-peer.ts); it
 * must fail the check that guards that rule, in both roles. The same peer without a flaw passes
 * the same checks, so the failure comes from the flaw and nothing else.
 */
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { type Sandbox, useSandbox } from './helpers.ts'
import { parseReport, reasons, statuses } from './conformance/report.ts'

const MUTANT = fileURLToPath(new URL('./conformance/mutant-peer.ts', import.meta.url))
const SMALL_ORDER = ['zero', 'one', 'order8a', 'order8b', 'p-1', 'p', 'p+1'].map((name) => `hs.small-order-${name}`)
const STALLS = ['hs.stall-before-hello', 'hs.stall-after-hello', 'hs.stall-mid-auth']
const NEVER_ENDS = ['hs.truncated-hello', 'hs.oversized-hello', 'hs.random-auth', 'hs.truncated-auth', 'hs.replayed-auth',
  'bs.replayed-packet', 'bs.reordered-packets', 'bs.cut']
/** The mutant times out a handshake after 300 ms; the gallery's stall limit is well above that. */
const STALL_LIMIT = ['--stall-timeout', '1500']
const REPLY_TIMEOUT = '2000'

interface Mutant {
  readonly flaw: string
  /** The checks that must fail, per role; a RegExp the reason must match, when it says something specific. */
  readonly server: readonly string[]
  readonly client: readonly string[]
  readonly reason?: RegExp
  /** A shorter reply timeout, for a mutant whose every failure waits it out. */
  readonly timeout?: string
}

const GALLERY: readonly Mutant[] = [
  { flaw: 'skip-hello-mac', server: ['hs.wrong-network-key', 'hs.random-hello'], client: ['hs.wrong-network-key', 'hs.random-hello'] },
  { flaw: 'accept-any-signature', server: ['hs.auth-for-other-server'], client: ['hs.wrong-server-key'] },
  { flaw: 'small-order', server: SMALL_ORDER, client: SMALL_ORDER },
  { flaw: 'ignore-box-macs', server: ['bs.flipped-header', 'bs.flipped-body'], client: ['bs.flipped-header', 'bs.flipped-body'] },
  { flaw: 'accept-oversized', server: ['bs.oversized-length'], client: ['bs.oversized-length'] },
  { flaw: 'never-time-out', server: STALLS, client: STALLS, reason: /for more than 1\.50 s|after 1\.50 s/ },
  { flaw: 'echo-after-goodbye', server: ['bs.after-goodbye'], client: ['bs.after-goodbye'], reason: /more than what came before/ },
  { flaw: 'crash-on-bad-message', server: ['hs.random-hello'], client: ['hs.random-hello'], reason: /^CRASH: / },
  // Beyond the list: the checks no mutant above can fail.
  { flaw: 'never-hang-up', server: NEVER_ENDS, client: NEVER_ENDS, reason: /kept the connection open|still running/, timeout: '1000' },
  { flaw: 'clean-on-cut', server: [], client: ['bs.cut'], reason: /exited with status 0/ },
  { flaw: 'no-half-close', server: [], client: ['bs.half-close-send'] }
]

async function conformance (sandbox: Sandbox, role: 'server' | 'client', flaw: string, only: readonly string[], timeout = REPLY_TIMEOUT): Promise<ReturnType<typeof parseReport> & { code: number | null }> {
  const command = `"${process.execPath}" "${MUTANT}" ${role} ${flaw}`
  const result = await sandbox.run(['conformance', role, '--cmd', command, '--json', '--only', only.join(','), '--timeout', timeout, ...STALL_LIMIT])
  assert.ok(result.code === 0 || result.code === 8, `exit ${String(result.code)}: ${result.stderr}`)
  return { ...parseReport(result.stdout), code: result.code }
}

describe('shs conformance: the mutant gallery (every check can fail)', function () {
  this.timeout(60_000)
  const currentSandbox = useSandbox()
  let sandbox: Sandbox
  beforeEach(() => { sandbox = currentSandbox() })

  for (const role of ['server', 'client'] as const) {
    it(`the same peer without a flaw passes every check of the gallery (${role} role)`, async () => {
      const only = [...new Set(GALLERY.flatMap((mutant) => mutant[role]))]
      const report = await conformance(sandbox, role, '', only)
      assert.equal(report.code, 0, JSON.stringify(report.checks, null, 2))
      assert.deepEqual(new Set(Object.values(statuses(report))), new Set(['pass']))
    })

    for (const mutant of GALLERY.filter((entry) => entry[role].length > 0)) {
      it(`a ${role} with the flaw ${mutant.flaw} fails ${mutant[role].join(', ')}`, async () => {
        const report = await conformance(sandbox, role, mutant.flaw, mutant[role], mutant.timeout)
        assert.equal(report.code, 8)
        assert.deepEqual(statuses(report), Object.fromEntries(mutant[role].map((id) => [id, 'fail'])))
        if (mutant.reason !== undefined) {
          for (const reason of Object.values(reasons(report))) assert.match(reason, mutant.reason)
        }
      })
    }
  }
})
