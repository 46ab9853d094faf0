/**
 * The pure admission and connection-limit bookkeeping, on fake time and a scripted coin: no
 * sockets, no timers.
 */
import assert from 'node:assert/strict'
import { ShsError } from '../src/errors.ts'
import { Admission, type AdmissionOptions, type AdmissionTicket } from '../src/net/admission.ts'
import { ConnectionLimits } from '../src/net/connection-limits.ts'
import { sourceOf } from '../src/net/source.ts'

class FakeClock {
  ms = 0
  readonly now = (): number => this.ms
}

function admitted (result: AdmissionTicket | ShsError): AdmissionTicket {
  if (result instanceof ShsError) assert.fail(`expected admission, got ${result.code}: ${result.message}`)
  return result
}

function refusedWith (result: AdmissionTicket | ShsError): string {
  assert.ok(result instanceof ShsError, 'expected a refusal')
  return result.code
}

function admission (options: AdmissionOptions, clock = new FakeClock(), random = (): number => 0.999): Admission {
  return new Admission(options, { now: clock.now, random })
}

describe('admission control (sans-IO)', () => {
  describe('sources', () => {
    it('an IPv4 address is its own source; IPv4-mapped IPv6 counts as IPv4', () => {
      assert.equal(sourceOf('127.0.0.2'), '127.0.0.2/32')
      assert.equal(sourceOf('::ffff:127.0.0.2'), '127.0.0.2/32')
      assert.notEqual(sourceOf('127.0.0.2'), sourceOf('127.0.0.3'))
    })

    it('IPv6 addresses in one /64 are one source; another /64 is another', () => {
      assert.equal(sourceOf('2001:db8:1:2::1'), sourceOf('2001:db8:1:2:ffff:eeee:dddd:cccc'))
      assert.equal(sourceOf('2001:db8:1:2::1%eth0'), sourceOf('2001:db8:1:2::2'))
      assert.notEqual(sourceOf('2001:db8:1:2::1'), sourceOf('2001:db8:1:3::1'))
      assert.equal(sourceOf('::1'), '0:0:0:0:0:0:0:0/64')
    })

    it('the prefixes are configurable per family', () => {
      assert.equal(sourceOf('10.1.2.3', { ipv4: 24, ipv6: 64 }), '10.1.2.0/24')
      assert.equal(sourceOf('10.1.2.3', { ipv4: 20, ipv6: 64 }), '10.1.0.0/20')
      assert.notEqual(sourceOf('2001:db8::1', { ipv4: 32, ipv6: 128 }), sourceOf('2001:db8::2', { ipv4: 32, ipv6: 128 }))
      assert.equal(sourceOf('2001:db8:ffff::1', { ipv4: 32, ipv6: 32 }), sourceOf('2001:db8:1::1', { ipv4: 32, ipv6: 32 }))
    })

    it('a refusal names the connection\'s address, and sources limit each other not at all', () => {
      const gate = admission({ maxPendingPerSource: 1 })
      admitted(gate.admit('10.0.0.1'))
      const refusal = gate.admit('10.0.0.1')
      assert.equal(refusedWith(refusal), 'ERR_SHS_SOURCE_BUSY')
      assert.match((refusal as ShsError).message, /refused a connection from 10\.0\.0\.1: .*maxPendingPerSource/)
      admitted(gate.admit('10.0.0.2'))
    })
  })

  describe('per-source cap', () => {
    it('defaults to 8 pending handshakes per source; a release frees the slot', () => {
      const gate = admission({})
      const tickets = Array.from({ length: 8 }, () => admitted(gate.admit('192.0.2.7')))
      assert.equal(refusedWith(gate.admit('192.0.2.7')), 'ERR_SHS_SOURCE_BUSY')
      tickets[0]?.release('done')
      admitted(gate.admit('192.0.2.7'))
    })

    it('Infinity turns it off', () => {
      const gate = admission({ maxPendingPerSource: Infinity, maxPendingHandshakes: 100, earlyDropFrom: 100 })
      for (let i = 0; i < 100; i++) admitted(gate.admit('192.0.2.7'))
      assert.equal(refusedWith(gate.admit('192.0.2.7')), 'ERR_SHS_BUSY', 'only the global cap is left')
    })

    it('releasing twice changes nothing', () => {
      const gate = admission({ maxPendingPerSource: 1 })
      const ticket = admitted(gate.admit('192.0.2.7'))
      ticket.release('done')
      ticket.release('done')
      assert.equal(gate.pending, 0)
      admitted(gate.admit('192.0.2.7'))
      assert.equal(refusedWith(gate.admit('192.0.2.7')), 'ERR_SHS_SOURCE_BUSY')
    })

    it('memory: the table holds only sources with pending handshakes, so never more than the global cap', () => {
      const gate = admission({ maxPendingHandshakes: 64, earlyDropFrom: 64 })
      const SOURCES = 10_000
      let maxTracked = 0
      const held: AdmissionTicket[] = []
      for (let i = 0; i < SOURCES; i++) {
        const result = gate.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)
        if (!(result instanceof ShsError)) held.push(result)
        if (held.length === 64) held.splice(0, 32).forEach((ticket) => { ticket.release('done') })
        maxTracked = Math.max(maxTracked, gate.trackedSources)
      }
      assert.ok(maxTracked <= 64, `tracked up to ${maxTracked} sources`)
      for (const ticket of held) ticket.release('done')
      assert.equal(gate.trackedSources, 0)
    })
  })

  describe('global cap with random early drop', () => {
    it('below earlyDropFrom nothing is dropped, whatever the coin says', () => {
      const gate = admission({ maxPendingHandshakes: 10, earlyDropFrom: 5, maxPendingPerSource: Infinity }, new FakeClock(), () => 0)
      for (let i = 0; i < 5; i++) admitted(gate.admit('192.0.2.1'))
      assert.equal(refusedWith(gate.admit('192.0.2.1')), 'ERR_SHS_BUSY', 'a coin of 0 drops at the soft limit')
    })

    it('the drop chance is earlyDropRate at earlyDropFrom and rises linearly to 1 at the hard limit', () => {
      let coin = 0
      const gate = admission({ maxPendingHandshakes: 10, earlyDropFrom: 6, earlyDropRate: 0.2, maxPendingPerSource: Infinity }, new FakeClock(), () => coin)
      for (let i = 0; i < 6; i++) admitted(gate.admit('192.0.2.1'))
      // pending 6: chance 0.2; pending 8: 0.2 + 0.8 * 2/4 = 0.6
      coin = 0.19
      assert.equal(refusedWith(gate.admit('192.0.2.1')), 'ERR_SHS_BUSY')
      coin = 0.2
      admitted(gate.admit('192.0.2.1'))
      // pending 7: 0.4
      coin = 0.41
      admitted(gate.admit('192.0.2.1'))
      coin = 0.59
      assert.equal(refusedWith(gate.admit('192.0.2.1')), 'ERR_SHS_BUSY')
      coin = 0.61
      admitted(gate.admit('192.0.2.1'))
      // pending 9: 0.8
      coin = 0.79
      assert.equal(refusedWith(gate.admit('192.0.2.1')), 'ERR_SHS_BUSY')
      coin = 0.81
      admitted(gate.admit('192.0.2.1'))
      coin = 0.99999
      assert.equal(gate.pending, 10)
      assert.equal(refusedWith(gate.admit('192.0.2.1')), 'ERR_SHS_BUSY', 'at the hard limit every connection is refused')
    })

    it('defaults: hard limit 256, random drops from 192 at 30 %', () => {
      const gate = admission({})
      assert.equal(gate.maxPending, 256)
      assert.equal(gate.earlyDropFrom, 192)
      assert.equal(gate.earlyDropRate, 0.3)
      assert.equal(gate.maxPerSource, 8)
    })

    it('16 attacking sources at the default per-source cap stay below the random-drop zone, so an honest source is always admitted', () => {
      const gate = admission({}, new FakeClock(), () => 0)
      for (let source = 2; source < 18; source++) {
        for (let i = 0; i < 64; i++) gate.admit(`127.0.0.${source}`)
      }
      assert.equal(gate.pending, 16 * 8)
      admitted(gate.admit('127.0.0.1'))
    })
  })

  describe('penalties', () => {
    it('are off by default: failures change nothing', () => {
      const gate = admission({ maxPendingPerSource: 1 })
      for (let i = 0; i < 100; i++) admitted(gate.admit('192.0.2.9')).release('failed')
    })

    it('a source whose handshakes keep failing is refused until its penalty runs out; others are not affected', () => {
      const clock = new FakeClock()
      const gate = admission({ penalties: { perFailure: 5_000, blockAbove: 15_000, max: 60_000 } }, clock)
      for (let i = 0; i < 3; i++) admitted(gate.admit('192.0.2.9')).release('failed')
      // 15 s of penalty is not above 15 s: still admitted
      const fourth = admitted(gate.admit('192.0.2.9'))
      fourth.release('failed')
      const refusal = gate.admit('192.0.2.9')
      assert.equal(refusedWith(refusal), 'ERR_SHS_PENALIZED')
      assert.match((refusal as ShsError).message, /kept failing.*20 s/)
      admitted(gate.admit('192.0.2.10')).release('done')
      clock.ms += 19_999
      assert.equal(refusedWith(gate.admit('192.0.2.9')), 'ERR_SHS_PENALIZED', 'blocked for the whole penalty')
      clock.ms += 1
      admitted(gate.admit('192.0.2.9')).release('done')
    })

    it('completed handshakes add nothing, and penalty decays with time', () => {
      const clock = new FakeClock()
      const gate = admission({ penalties: true }, clock)
      for (let i = 0; i < 100; i++) {
        admitted(gate.admit('192.0.2.9')).release('failed')
        clock.ms += 5_000
      }
      for (let i = 0; i < 100; i++) admitted(gate.admit('192.0.2.9')).release('done')
    })

    it('the penalty is capped at max', () => {
      const clock = new FakeClock()
      const gate = admission({ penalties: { perFailure: 10_000, blockAbove: 0, max: 30_000 } }, clock)
      admitted(gate.admit('192.0.2.9')).release('failed')
      const pending = Array.from({ length: 8 }, () => admitted(gate.admit('192.0.2.8')))
      for (const ticket of pending) ticket.release('failed')
      clock.ms += 30_000
      admitted(gate.admit('192.0.2.8'))
    })

    it('memory: at most maxSources penalized sources are remembered, the least recent forgotten first', () => {
      const clock = new FakeClock()
      const gate = admission({ penalties: { perFailure: 10_000, blockAbove: 0, maxSources: 100 } }, clock)
      for (let i = 0; i < 10_000; i++) admitted(gate.admit(`10.0.${i >> 8}.${i & 255}`)).release('failed')
      assert.equal(gate.trackedSources, 100)
      assert.equal(refusedWith(gate.admit('10.0.39.15')), 'ERR_SHS_PENALIZED', 'the most recent (9999) is remembered')
      admitted(gate.admit('10.0.0.0'))
    })
  })

  describe('options', () => {
    const invalid: Array<[string, AdmissionOptions, RegExp]> = [
      ['maxPendingHandshakes 0', { maxPendingHandshakes: 0 }, /maxPendingHandshakes must be an integer from 1/],
      ['maxPendingHandshakes 1.5', { maxPendingHandshakes: 1.5 }, /maxPendingHandshakes/],
      ['earlyDropFrom above the hard limit', { maxPendingHandshakes: 10, earlyDropFrom: 11 }, /earlyDropFrom must be an integer from 1 to 10/],
      ['earlyDropRate 2', { earlyDropRate: 2 }, /earlyDropRate must be a number from 0 to 1/],
      ['maxPendingPerSource 0', { maxPendingPerSource: 0 }, /maxPendingPerSource must be an integer from 1 \(or Infinity for no limit\)/],
      ['sourcePrefixes.ipv6 129', { sourcePrefixes: { ipv6: 129 } }, /sourcePrefixes\.ipv6 must be an integer from 0 to 128/],
      ['penalties.perFailure -1', { penalties: { perFailure: -1 } }, /penalties\.perFailure/]
    ]
    for (const [what, options, message] of invalid) {
      it(`${what}: ERR_SHS_INVALID_OPTION naming the option and its range`, () => {
        assert.throws(() => new Admission(options), (err: unknown) => err instanceof ShsError && err.code === 'ERR_SHS_INVALID_OPTION' && message.test(err.message))
      })
    }
  })
})

describe('established-connection limits (sans-IO)', () => {
  const key = (n: number): Uint8Array => new Uint8Array(32).fill(n)

  it('caps connections overall and per key; a release frees the slot once', () => {
    const limits = new ConnectionLimits({ maxConnections: 3, maxConnectionsPerKey: 2 })
    const first = limits.reserve(key(1))
    assert.equal(typeof first, 'function')
    assert.equal(typeof limits.reserve(key(1)), 'function')
    assert.match(limits.reserve(key(1)) as string, /maxConnectionsPerKey/)
    assert.equal(typeof limits.reserve(key(2)), 'function')
    assert.match(limits.reserve(key(3)) as string, /maxConnections\)/)
    ;(first as () => void)()
    ;(first as () => void)()
    assert.equal(limits.held, 2)
    assert.equal(typeof limits.reserve(key(3)), 'function')
  })

  it('no limits by default', () => {
    const limits = new ConnectionLimits()
    for (let i = 0; i < 1000; i++) assert.equal(typeof limits.reserve(key(1)), 'function')
  })

  it('rejects a bad cap with ERR_SHS_INVALID_OPTION', () => {
    assert.throws(() => new ConnectionLimits({ maxConnectionsPerKey: 0 }), (err: unknown) => err instanceof ShsError && err.code === 'ERR_SHS_INVALID_OPTION' && /maxConnectionsPerKey/.test(err.message))
  })
})
