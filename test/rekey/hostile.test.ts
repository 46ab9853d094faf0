/**
 * Hostile peers against the rekey extension: malformed, out-of-order, unauthenticated and
 * flooding control packets each end the connection with a typed error, and nothing after them
 * is delivered; an SHS1 session never takes a control packet at all.
 */
import assert from 'node:assert/strict'
import { stealKeys } from '../../src/connection/testing.ts'
import { BoxStream } from '../../src/connection/box-stream.ts'
import { randomBytes } from '../../src/crypto/primitives.ts'
import { PEER_REKEY_BURST, PEER_REKEY_INTERVAL_MS } from '../../src/connection/rekey.ts'
import { End, FakeClock, deliver, forgePacket, joined, pair, sessions, settle } from './helpers.ts'
import { SecretCensus } from '../helpers/census.ts'

const CONTROL = 0x8000
const text = (value: string): Uint8Array => new TextEncoder().encode(value)

/** The server reads `packet` as the client's next packet, after some honest data; returns what it delivered and how it failed. */
function serverReads (forge: (client: End) => Uint8Array, setup?: (client: End, server: End) => void): { server: End, delivered: string } {
  const { client, server } = pair()
  setup?.(client, server)
  client.send(text('before'))
  deliver(client, server)
  const packet = forge(client)
  server.receive(joined([packet, client.box.send(text('after'))]))
  return { server, delivered: new TextDecoder().decode(joined(server.received)) }
}

function control (client: End, body: Uint8Array, length = CONTROL | body.byteLength): Uint8Array {
  return forgePacket(stealKeys(client.box).encrypt, length, body)
}

describe('rekey extension: hostile peers', () => {
  const malformed: Array<{ name: string, body: Uint8Array, length?: number }> = [
    { name: 'an unknown control type', body: Uint8Array.of(9, ...new Uint8Array(32)) },
    { name: 'a REQUEST with a 31-byte key', body: Uint8Array.of(1, ...randomBytes(31)) },
    { name: 'a SWITCH with a payload', body: Uint8Array.of(3, 0) },
    { name: 'a control packet of 0 bytes', body: new Uint8Array(0) },
    { name: 'a control packet of 65 bytes', body: Uint8Array.of(1, ...randomBytes(64)) },
    { name: 'a RESPONSE to no request', body: Uint8Array.of(2, ...randomBytes(32)) },
    { name: 'a SWITCH with no rekey under way', body: Uint8Array.of(3) },
    { name: 'a REQUEST with a low-order key (all zeros: a known shared secret)', body: Uint8Array.of(1, ...new Uint8Array(32)) }
  ]
  for (const { name, body } of malformed) {
    it(`${name}: ERR_BOX_STREAM_BAD_CONTROL, what came before is delivered, nothing after`, () => {
      const { server, delivered } = serverReads((client) => control(client, body))
      assert.equal((server.failure as { code?: string } | undefined)?.code, 'ERR_BOX_STREAM_BAD_CONTROL')
      assert.equal(delivered, 'before')
      assert.equal(server.events.at(-1)?.type, 'failed')
      assert.equal(server.outbound.length, 0, 'no answer to a violation')
    })
  }

  it('a second REQUEST before the first one\'s SWITCH: ERR_BOX_STREAM_BAD_CONTROL', () => {
    const { server } = serverReads((client) => {
      // The client's own first request, then one forged right behind it (it never switched).
      const first = client.box.rekey() as Uint8Array
      return joined([first, control(client, Uint8Array.of(1, ...randomBytes(32)))])
    })
    assert.equal((server.failure as { code?: string } | undefined)?.code, 'ERR_BOX_STREAM_BAD_CONTROL')
  })

  it('a control packet sealed with another key fails authentication (ERR_BOX_STREAM_BAD_HEADER), as any forged packet', () => {
    const { server, delivered } = serverReads(() => forgePacket({ key: randomBytes(32), nonce: randomBytes(24) }, CONTROL | 33, Uint8Array.of(1, ...randomBytes(32))))
    assert.equal((server.failure as { code?: string } | undefined)?.code, 'ERR_BOX_STREAM_BAD_HEADER')
    assert.equal(delivered, 'before')
  })

  it('a plain SHS1 session takes no control packet: a header with the flag is ERR_BOX_STREAM_BAD_LENGTH, as for any SHS1 peer', () => {
    const [clientSession, serverSession] = sessions({ client: undefined, server: 'prefer' })
    const client = new End(new BoxStream(clientSession))
    const server = new End(new BoxStream(serverSession))
    server.receive(control(client, Uint8Array.of(1, ...randomBytes(32))))
    assert.equal((server.failure as { code?: string } | undefined)?.code, 'ERR_BOX_STREAM_BAD_LENGTH')
  })

  describe(`rate: ${PEER_REKEY_BURST} rekeys at once, then one per ${PEER_REKEY_INTERVAL_MS} ms`, () => {
    /** A client whose own clock runs fast (so its own cap never holds it back), against a server whose clock the test moves. */
    function flood (serverStep: number, rekeys: number): { client: End, server: End } {
      const [clientSession, serverSession] = sessions()
      const fast = new FakeClock()
      const slow = new FakeClock()
      const client = new End(new BoxStream(clientSession, { now: fast.now }))
      const server = new End(new BoxStream(serverSession, { now: slow.now }))
      for (let i = 0; i < rekeys && server.failure === undefined; i++) {
        fast.time += 1000
        slow.time += serverStep
        assert.equal(client.rekey(), true)
        settle(client, server)
      }
      return { client, server }
    }

    it(`request number ${PEER_REKEY_BURST + 1} within one instant ends the connection with ERR_BOX_STREAM_REKEY_FLOOD`, () => {
      const { server } = flood(0, PEER_REKEY_BURST + 1)
      assert.equal(server.box.rekeys, PEER_REKEY_BURST)
      assert.equal((server.failure as { code?: string } | undefined)?.code, 'ERR_BOX_STREAM_REKEY_FLOOD')
    })

    it(`one request per ${PEER_REKEY_INTERVAL_MS} ms is never refused (500 in a row)`, () => {
      const { client, server } = flood(PEER_REKEY_INTERVAL_MS, 500)
      assert.equal(server.failure, undefined)
      assert.equal(client.box.rekeys, 500)
      assert.equal(server.box.rekeys, 500)
    })
  })

  it('every secret of three rekeys and the session is zero once the connection ended (the census sees every libsodium secret)', () => {
    const census = new SecretCensus()
    census.install()
    try {
      const { client, server } = pair()
      for (let i = 0; i < 3; i++) {
        client.send(randomBytes(5000))
        ;(i % 2 === 0 ? client : server).rekey()
        settle(client, server)
      }
      assert.equal(client.box.rekeys, 3)
      census.assertNotAllWiped('while the connection is open its keys are intact')
      client.goodbye()
      server.goodbye()
      settle(client, server)
      assert.ok(client.box.finished && server.box.finished)
      census.assertWiped({ expectKinds: ['ephemeral secret key', 'DH result', 'hash output', 'hash input', 'secretbox key'] })
    } finally {
      census.uninstall()
    }
  })

  it('a torn-down connection wipes a rekey under way: the census sees nothing left after a failure mid-rekey', () => {
    const census = new SecretCensus()
    census.install()
    try {
      const { client, server } = pair()
      client.rekey()
      deliver(client, server) // the server holds the shared secret, waiting for SWITCH
      server.receive(randomBytes(100))
      assert.ok(server.failure !== undefined)
      client.box.abort(new Error('test'))
      census.assertWiped({ expectKinds: ['ephemeral secret key', 'DH result', 'secretbox key'] })
    } finally {
      census.uninstall()
    }
  })
})
