/**
 * One connection's rekeys in the sans-IO box stream (docs/REKEY.md, "One rekey"), wired by
 * hand: every interleaving the tests name, with data on both sides of each switch.
 */
import assert from 'node:assert/strict'
import { stealKeys } from '../../src/connection/testing.ts'
import { BoxStream } from '../../src/connection/box-stream.ts'
import { randomBytes } from '../../src/crypto/primitives.ts'
import { type End, FakeClock, deliver, joined, pair, sessions, settle } from './helpers.ts'

const text = (value: string): Uint8Array => new TextEncoder().encode(value)
const received = (end: End): string => new TextDecoder().decode(joined(end.received))

describe('rekey extension: one rekey in the box stream', () => {
  for (const initiator of ['client', 'server'] as const) {
    it(`started by the ${initiator}: REQUEST, RESPONSE, SWITCH; one rekey on each side; data before, between and after arrives in order`, () => {
      const ends = pair()
      const a = ends[initiator]
      const b = initiator === 'client' ? ends.server : ends.client
      a.send(text('a1 '))
      b.send(text('b1 '))
      assert.equal(a.rekey(), true)
      assert.equal(a.box.rekeyInFlight, true)
      a.send(text('a2 '))
      deliver(a, b) // b reads a1, the request, a2; answers, and switches its sending key
      assert.equal(b.box.rekeyInFlight, true, 'b waits for the switch')
      b.send(text('b2 '))
      deliver(b, a) // a reads b1, the response, b2 (under b's new key); sends SWITCH and switches
      assert.equal(a.rekeyed, 1)
      assert.equal(a.box.rekeyInFlight, false)
      a.send(text('a3'))
      deliver(a, b)
      assert.equal(b.rekeyed, 1)
      assert.equal(b.box.rekeyInFlight, false)
      b.send(text('b3'))
      deliver(b, a)
      assert.equal(received(b), 'a1 a2 a3')
      assert.equal(received(a), 'b1 b2 b3')
      assert.equal(a.box.rekeys, 1)
      assert.equal(b.box.rekeys, 1)
      assert.equal(a.failure, undefined)
      assert.equal(b.failure, undefined)
    })
  }

  it('both directions change key and first nonce: nothing stolen before a rekey equals what is used after it', () => {
    const { client, server } = pair()
    const before = [stealKeys(client.box), stealKeys(server.box)]
    client.rekey()
    settle(client, server)
    const after = [stealKeys(client.box), stealKeys(server.box)]
    for (const [index, keys] of before.entries()) {
      const now = after[index] as typeof keys
      assert.notDeepEqual(now.encrypt.key, keys.encrypt.key)
      assert.notDeepEqual(now.decrypt.key, keys.decrypt.key)
      assert.notDeepEqual(now.encrypt.nonce, keys.encrypt.nonce)
      assert.notDeepEqual(now.decrypt.nonce, keys.decrypt.nonce)
    }
    // And the two ends agree on the new keys: each one's sending key is the other's receiving key.
    assert.deepEqual(after[0]?.encrypt, after[1]?.decrypt)
    assert.deepEqual(after[1]?.encrypt, after[0]?.decrypt)
  })

  it('a connection to itself (one identity both ends) still gets different keys for its two directions', () => {
    const { client, server } = pair()
    client.rekey()
    settle(client, server)
    const keys = stealKeys(client.box)
    assert.notDeepEqual(keys.encrypt.key, keys.decrypt.key)
  })

  it('delivered byte by byte, everything arrives the same (a switch inside a chunk or between chunks is the same switch)', () => {
    const { client, server } = pair()
    const payload = randomBytes(10_000)
    client.send(payload.subarray(0, 5000))
    client.rekey()
    client.send(payload.subarray(5000, 7000))
    deliver(client, server, { byteByByte: true })
    deliver(server, client, { byteByByte: true })
    client.send(payload.subarray(7000))
    deliver(client, server, { byteByByte: true })
    assert.deepEqual(joined(server.received), payload)
    assert.equal(server.rekeyed, 1)
    assert.equal(client.rekeyed, 1)
  })

  it('crossing requests: both start at once, the client\'s rekey happens, once on each side, and nothing is lost', () => {
    const { client, server } = pair()
    assert.equal(client.rekey(), true)
    assert.equal(server.rekey(), true)
    client.send(text('c'))
    server.send(text('s'))
    settle(client, server)
    assert.equal(client.rekeyed, 1)
    assert.equal(server.rekeyed, 1)
    assert.equal(client.box.rekeyInFlight || server.box.rekeyInFlight, false)
    client.send(text('C'))
    server.send(text('S'))
    settle(client, server)
    assert.equal(received(server), 'cC')
    assert.equal(received(client), 'sS')
  })

  it('a rekey racing the goodbye: the initiator says goodbye before the response; it still switches its receiving key; both finish, every byte delivered', () => {
    const { client, server } = pair()
    client.rekey()
    client.send(text('last'))
    client.goodbye()
    deliver(client, server) // server answers the request, then reads the goodbye
    server.send(text('after the switch'))
    server.goodbye()
    deliver(server, client)
    assert.equal(received(server), 'last')
    assert.equal(received(client), 'after the switch')
    assert.ok(client.box.finished && server.box.finished)
    assert.equal(client.rekeyed, 1, 'the client switched its receiving key')
    assert.equal(server.rekeyed, 0, 'the server never got a switch: the client\'s direction ended under its old key')
    assert.equal(server.box.rekeyInFlight, false, 'the goodbye dropped the rekey')
  })

  it('the responder said goodbye before it read the request: the request goes unanswered, the initiator drops it at the goodbye', () => {
    const { client, server } = pair()
    client.rekey()
    server.send(text('bye'))
    server.goodbye()
    const written = server.outbound.length
    deliver(client, server)
    assert.equal(server.outbound.length, written, 'nothing after the goodbye')
    assert.equal(server.failure, undefined)
    deliver(server, client)
    assert.equal(client.box.rekeyInFlight, false)
    assert.equal(client.box.rekey(), undefined, 'no rekey once the peer ended its side')
    assert.equal(received(client), 'bye')
  })

  it('one at a time: rekey() while one is under way returns undefined', () => {
    const { client, server } = pair()
    assert.equal(client.rekey(), true)
    assert.equal(client.rekey(), false)
    assert.equal(server.rekey(), true) // crossing: the server's is dropped when the client's arrives
    settle(client, server)
    assert.equal(client.box.rekeys, 1)
  })

  it('afterBytes: rekeyDue once that many bytes are sealed under the current key, and not after the rekey', () => {
    const MiB = 1024 * 1024
    const { client, server } = pair({ client: { mode: 'require', afterBytes: MiB }, server: 'require' })
    client.send(new Uint8Array(MiB - 1))
    assert.equal(client.box.rekeyDue, false)
    client.send(new Uint8Array(1))
    assert.equal(client.box.rekeyDue, true)
    assert.equal(server.box.rekeyDue, false, 'the server sent nothing, and has its own default')
    client.rekey()
    assert.equal(client.box.rekeyDue, false, 'one under way')
    settle(client, server)
    assert.equal(client.box.rekeyDue, false)
  })

  it('our own rate cap: 16 rekeys at once, then one per 20 ms; rekeyAllowedIn says when', () => {
    const clock = new FakeClock()
    const { client, server } = pair(undefined, clock)
    for (let i = 0; i < 16; i++) {
      assert.equal(client.rekey(), true, `rekey ${i + 1}`)
      settle(client, server)
    }
    assert.equal(client.rekey(), false)
    assert.equal(client.box.rekeyAllowedIn, 20)
    clock.time += 19
    assert.equal(client.rekey(), false)
    clock.time += 1
    assert.equal(client.rekey(), true)
    settle(client, server)
    assert.equal(server.box.rekeys, 17)
  })

  it('a plain SHS1 stream: rekey() throws ERR_SHS_REKEY_NOT_NEGOTIATED, and rekeying is false', () => {
    const [session] = sessions({ client: undefined, server: 'prefer' })
    const box = new BoxStream(session)
    assert.equal(box.rekeying, false)
    assert.throws(() => box.rekey(), { code: 'ERR_SHS_REKEY_NOT_NEGOTIATED' })
  })
})
