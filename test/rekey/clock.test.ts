/**
 * The adapters' rekey clock (src/driver/rekey.ts) on a hand-wired pair, with Node's mock timers
 * and the machines' fake clock: what it starts, and what it must not start.
 */
import assert from 'node:assert/strict'
import { mock } from 'node:test'
import { LOCAL_REKEY_BURST } from '../../src/connection/rekey.ts'
import { RekeyClock } from '../../src/driver/rekey.ts'
import type { SessionRekey } from '../../src/handshake/session.ts'
import { type End, pair, settle } from './helpers.ts'

/** Settles the pair and tells `clock` of each rekey `end` completed, as an adapter does. */
function settleWith (clock: RekeyClock, end: End, other: End): void {
  const before = end.rekeyed
  settle(end, other)
  for (let completed = before; completed < end.rekeyed; completed++) clock.rekeyed()
  clock.sync()
}

describe('RekeyClock', () => {
  beforeEach(() => { mock.timers.enable({ apis: ['setTimeout'] }) })
  afterEach(() => { mock.timers.reset() })

  it('a rekey the peer completes while ours waits on our rate cap ends the wait: no extra rekey when it is over', async () => {
    const { client, server, clock: time } = pair()
    // Spend our burst at one instant: the next rekey of ours has to wait for the cap.
    for (let index = 0; index < LOCAL_REKEY_BURST; index++) {
      assert.ok(client.rekey())
      settle(client, server)
    }
    const clock = new RekeyClock(client.box, client.box.rekeySettings as SessionRekey, (error) => { throw error })
    clock.attach({ writeSealed: (sealed) => { client.outbound.push(sealed) } })
    const requested = clock.request()
    assert.equal(client.box.rekeyInFlight, false, 'the cap holds ours back')
    const waitMs = client.box.rekeyAllowedIn
    assert.ok(waitMs > 0)

    // The server starts one instead; its completion is the rekey our request waited for.
    assert.ok(server.rekey())
    settleWith(clock, client, server)
    await requested
    const rekeys = client.box.rekeys

    // The cap's wait passes, on the machines' clock and the timers' alike: nothing more starts.
    time.time += waitMs
    mock.timers.tick(waitMs)
    assert.equal(client.box.rekeyInFlight, false)
    assert.deepEqual(client.outbound, [], 'no REQUEST was written')
    assert.equal(client.box.rekeys, rekeys)
    clock.stop(new Error('test over'))
  })
})
