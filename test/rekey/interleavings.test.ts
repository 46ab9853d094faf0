/**
 * The rekey extension under arbitrary schedules (a seeded property test): writes of any size on
 * both sides, rekeys started by either side at any moment (crossing ones too), and the bytes
 * delivered in pieces cut anywhere. Whatever the schedule, every byte arrives once and in order,
 * and both ends count the same rekeys.
 */
import assert from 'node:assert/strict'
import { randomBytes } from '../../src/crypto/primitives.ts'
import { type End, joined, pair, settle } from './helpers.ts'

/** A small deterministic generator (mulberry32), so a failing seed can be replayed. */
function generator (seed: number): (below: number) => number {
  let state = seed >>> 0
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) % below)
  }
}

/** Delivers the first `bytes` of what `from` wrote (cut anywhere, even inside a packet); the rest waits. */
function deliverSome (from: End, to: End, bytes: number): void {
  const pending = joined(from.outbound.splice(0))
  const cut = Math.min(bytes, pending.byteLength)
  if (cut < pending.byteLength) from.outbound.push(pending.subarray(cut))
  if (cut > 0) to.receive(pending.subarray(0, cut))
}

const SEEDS = 300
const STEPS = 60

describe('rekey extension: arbitrary schedules', () => {
  it(`${SEEDS} seeded schedules of ${STEPS} steps: every byte once and in order both ways, the same rekey count on both ends, both finish`, () => {
    let rekeys = 0
    for (let seed = 1; seed <= SEEDS; seed++) {
      const random = generator(seed)
      const { client, server, clock } = pair()
      const sent = { client: [] as Uint8Array[], server: [] as Uint8Array[] }
      for (let step = 0; step < STEPS; step++) {
        clock.time += random(30)
        const side = random(2) === 0 ? 'client' : 'server'
        const end = side === 'client' ? client : server
        const other = side === 'client' ? server : client
        switch (random(4)) {
          case 0: {
            const chunk = randomBytes(random(9000))
            if (chunk.byteLength > 0) { end.send(chunk); sent[side].push(chunk) }
            break
          }
          case 1: end.rekey(); break
          case 2: deliverSome(end, other, random(12_000)); break
          case 3: deliverSome(other, end, random(12_000)); break
        }
        assert.equal(client.failure ?? server.failure, undefined, `seed ${seed}, step ${step}`)
      }
      settle(client, server)
      assert.equal(client.box.rekeys, server.box.rekeys, `seed ${seed}: rekey counts`)
      assert.equal(client.box.rekeyInFlight || server.box.rekeyInFlight, false, `seed ${seed}: nothing left under way`)
      rekeys += client.box.rekeys
      client.goodbye()
      server.goodbye()
      settle(client, server)
      assert.ok(client.box.finished && server.box.finished, `seed ${seed}: both finished`)
      assert.deepEqual(joined(server.received), joined(sent.client), `seed ${seed}: client to server`)
      assert.deepEqual(joined(client.received), joined(sent.server), `seed ${seed}: server to client`)
    }
    // The schedules did rekey, often: else this test would prove nothing about rekeys.
    assert.ok(rekeys > SEEDS * 3, `only ${rekeys} rekeys in ${SEEDS} schedules`)
  })

  it(`${SEEDS} schedules with a goodbye at a random step: rekeys racing the goodbye lose no byte, and both ends still finish`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const random = generator(seed * 7919)
      const { client, server, clock } = pair()
      const sent = { client: [] as Uint8Array[], server: [] as Uint8Array[] }
      const early = random(2) === 0 ? 'client' : 'server'
      const goodbyeAt = random(STEPS)
      const ended = { client: false, server: false }
      for (let step = 0; step < STEPS; step++) {
        clock.time += random(30)
        if (step === goodbyeAt) { (early === 'client' ? client : server).goodbye(); ended[early] = true }
        const side = random(2) === 0 ? 'client' : 'server'
        const end = side === 'client' ? client : server
        const other = side === 'client' ? server : client
        switch (random(4)) {
          case 0: {
            const chunk = randomBytes(random(9000))
            if (chunk.byteLength > 0 && !ended[side]) { end.send(chunk); sent[side].push(chunk) }
            break
          }
          case 1: if (!ended[side]) end.rekey(); break
          case 2: deliverSome(end, other, random(12_000)); break
          case 3: deliverSome(other, end, random(12_000)); break
        }
        assert.equal(client.failure ?? server.failure, undefined, `seed ${seed}, step ${step}`)
      }
      if (!ended.client) client.goodbye()
      if (!ended.server) server.goodbye()
      settle(client, server)
      assert.equal(client.failure ?? server.failure, undefined, `seed ${seed}: no failure`)
      assert.ok(client.box.finished && server.box.finished, `seed ${seed}: both finished`)
      assert.ok(Math.abs(client.box.rekeys - server.box.rekeys) <= 1, `seed ${seed}: a goodbye ends at most the one rekey under way`)
      assert.deepEqual(joined(server.received), joined(sent.client), `seed ${seed}: client to server`)
      assert.deepEqual(joined(client.received), joined(sent.server), `seed ${seed}: server to client`)
    }
  })
})
