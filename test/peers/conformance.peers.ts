/**
 * `npm run test:peers`: the conformance suite (in this process, through shs-transport/conformance)
 * in both roles against ours, the npm reference, go-secretstream, python-ssb and shs1-c, with the
 * default limits. Each run must give exactly the results docs/CONFORMANCE.md publishes: every
 * check not listed passes (or is the one skipped as not applicable, or a rekey check skipped
 * because the peer does not offer the extension), every listed one has the
 * status given, and its reason says the cause. A changed result means a peer or the suite changed,
 * and the matrix there is out of date.
 */
import assert from 'node:assert/strict'
import { type CheckStatus, type ConformanceReport, listChecks, runClientChecks, runServerChecks } from '../../src/conformance/index.ts'
import { type BuiltPeers, OURS, type PeerName, buildPeers } from './peers.ts'

/** The rekey checks: all pass for ours (server and client have the extension), all SKIPPED for everyone else. */
const RK = listChecks().filter((check) => check.id.startsWith('rk.')).map((check) => check.id)
const SMALL_ORDER = ['zero', 'one', 'order8a', 'order8b', 'p-1', 'p', 'p+1'].map((name) => `hs.small-order-${name}`)
const STALLS = ['hs.stall-before-hello', 'hs.stall-after-hello', 'hs.stall-mid-auth']
const HANGUPS = ['hs.hangup-before-hello', 'hs.hangup-after-hello', 'hs.hangup-mid-auth']
/** The hostile handshake checks a server refuses by raising out of its handshake (python-ssb prints a traceback for each). */
const REFUSED_HANDSHAKES = ['hs.wrong-network-key', 'hs.wrong-server-key', 'hs.random-hello', 'hs.truncated-hello', 'hs.oversized-hello',
  'hs.random-auth', 'hs.truncated-auth', ...SMALL_ORDER, 'hs.auth-for-other-server', 'hs.replayed-auth']

type Outcome = Partial<Record<Exclude<CheckStatus, 'pass' | 'skip'>, Readonly<Record<string, RegExp>>>>

/** Every id in `ids` with the same reason. */
const each = (ids: readonly string[], reason: RegExp): Record<string, RegExp> => Object.fromEntries(ids.map((id) => [id, reason]))

/** The published matrix (docs/CONFORMANCE.md). */
const MATRIX: Record<string, { readonly peer: PeerName | 'ours', readonly role: 'server' | 'client', readonly expected: Outcome }> = {
  'ours, server': { peer: 'ours', role: 'server', expected: {} },
  'ours, client': { peer: 'ours', role: 'client', expected: {} },
  'reference, server': {
    peer: 'reference',
    role: 'server',
    expected: {
      crash: each(SMALL_ORDER, /^the server process printed an uncaught JavaScript exception on stderr \(Error: failed to derive shared secret\) and exited with status 1/),
      fail: { 'bs.oversized-length': /the server echoed 5000 bytes it must not deliver/ }
    }
  },
  'reference, client': {
    peer: 'reference',
    role: 'client',
    expected: {
      crash: each(SMALL_ORDER, /^the client printed an uncaught JavaScript exception on stderr \(Error: failed to derive shared secret\)/),
      fail: { 'bs.oversized-length': /the client printed 5000 bytes it must not deliver/ }
    }
  },
  'go-secretstream, server': {
    peer: 'go-secretstream',
    role: 'server',
    expected: {
      fail: {
        ...each(SMALL_ORDER, /with its own hello instead of refusing it, then completed the handshake: it accepted a message 3 built from the all-zero secrets/),
        ...each(STALLS, /for more than 20\.00 s/)
      }
    }
  },
  'go-secretstream, client': {
    peer: 'go-secretstream',
    role: 'client',
    expected: { fail: { ...each(SMALL_ORDER, /as the server hello with 112 bytes \(it went on with the handshake\)/), ...each(STALLS, /still waiting .* after 20\.00 s/) } }
  },
  'python-ssb, server': {
    peer: 'python-ssb',
    role: 'server',
    expected: {
      crash: {
        ...each(REFUSED_HANDSHAKES, /^the server process printed a Python traceback on stderr \(.*\); the check itself: no reply to .*, but the server kept the connection open for 5000 ms/),
        ...each(STALLS, /^the server process printed a Python traceback on stderr \(asyncio\.exceptions\.IncompleteReadError: .*while the 3 slow checks ran side by side/),
        ...each(HANGUPS, /^the server process printed a Python traceback on stderr \(asyncio\.exceptions\.IncompleteReadError: /)
      },
      fail: { 'bs.oversized-length': /the server echoed 5000 bytes it must not deliver/ }
    }
  },
  'python-ssb, client': {
    peer: 'python-ssb',
    role: 'client',
    expected: {
      fail: {
        ...each(STALLS, /still waiting .* after 20\.00 s/),
        'bs.oversized-length': /the client printed 5000 bytes it must not deliver/,
        'bs.cut': /after data, then end of stream without goodbye, the client was still running 5000 ms later/
      }
    }
  },
  'shs1-c, server': {
    peer: 'shs1-c',
    role: 'server',
    expected: {
      warn: each(SMALL_ORDER, /with its own hello instead of refusing it, but refused a message 3 built from the all-zero secrets an attacker knows and hung up/),
      fail: each(STALLS, /for more than 20\.00 s/)
    }
  },
  'shs1-c, client': { peer: 'shs1-c', role: 'client', expected: { fail: each(STALLS, /still waiting .* after 20\.00 s/) } }
}

describe('the conformance matrix: ours, the reference, go-secretstream, python-ssb and shs1-c (npm run test:peers)', function () {
  this.timeout(600_000)
  const reports = new Map<string, Promise<ConformanceReport>>()
  let built: BuiltPeers

  before(async () => {
    built = await buildPeers()
    // Side by side: each run mostly waits (the stall checks wait out the 20 s limit).
    for (const [name, { peer, role }] of Object.entries(MATRIX)) {
      const commands = peer === 'ours' ? OURS : built.peers.find((entry) => entry.name === peer)
      if (commands === undefined) throw new Error(`no peer ${peer}`)
      const report = role === 'server' ? runServerChecks({ command: commands.server }) : runClientChecks({ command: commands.client })
      // Awaited by its test; this only keeps a failure from being reported twice.
      report.catch(() => {})
      reports.set(name, report)
    }
  })

  after(async () => {
    await Promise.allSettled(reports.values())
    await built?.remove()
  })

  for (const [name, { peer, expected }] of Object.entries(MATRIX)) {
    const listed = Object.entries(expected).map(([status, ids]) => `${status.toUpperCase()} ${Object.keys(ids).length}`)
    it(`${name}: ${listed.length === 0 ? 'every check passes' : listed.join(', ')}, each with its cause`, async () => {
      const report = await (reports.get(name) as Promise<ConformanceReport>)
      const details = JSON.stringify(report.checks.filter((check) => check.status !== 'pass'), null, 2)
      for (const status of ['fail', 'warn', 'crash'] as const) {
        const ids = report.checks.filter((check) => check.status === status).map((check) => check.id)
        assert.deepEqual(ids.sort(), Object.keys(expected[status] ?? {}).sort(), `${status}: ${details}`)
      }
      // The one check that does not apply to the role, and (but for ours) the rekey checks: no other implementation offers shs-rekey/1.
      const skipped = report.checks.filter((check) => check.status === 'skip')
      const rekey = skipped.filter((check) => check.id.startsWith('rk.'))
      assert.equal(skipped.length - rekey.length, 1, details)
      assert.equal(rekey.length, peer === 'ours' ? 0 : RK.length, details)
      for (const check of rekey) assert.match(check.reason, /^the peer does not offer shs-rekey\/1 \(/, check.id)
      for (const check of report.checks) {
        const pattern = check.status === 'pass' || check.status === 'skip' ? undefined : expected[check.status]?.[check.id]
        if (pattern !== undefined) assert.match(check.reason, pattern, `${check.id}: ${check.reason}`)
      }
    })
  }
})
