/** Every shs1-test negative family, played over TCP against our `listen` and `connect`. */
import assert from 'node:assert/strict'
import { type ShsErrorCode } from '../../src/index.ts'
import { sealOnce } from '../../src/crypto/primitives.ts'
import { concat, randomPayload } from '../helpers/bytes.ts'
import {
  CLIENT_AUTH_BYTES, ClientSteps, HELLO_BYTES, SERVER_ACCEPT_BYTES, ServerSteps, craftPacket, drain, handRolledAccept,
  handRolledClient, helloFor, sealHeader
} from '../helpers/adversary.ts'
import { waitFor } from '../helpers/resources.ts'
import { NETWORK_KEY, clientKeys, expectCode, serverKeys, useAdversaryFixture } from './fixture.ts'

describe('adversarial peers over TCP', function () {
  this.timeout(20_000)
  const { onCleanup, startServer, dial, rawConnect, evilServer } = useAdversaryFixture()

  describe('shs1-test negative families against listen(): the server writes nothing more and never calls onStream', () => {
    it('control: a hand-rolled client completes the handshake and its packets are accepted', async () => {
      const server = await startServer()
      const { peer, session } = await handRolledClient(server.port, { keys: clientKeys, networkKey: NETWORK_KEY, serverKey: serverKeys.publicKey })
      onCleanup(() => { peer.destroy() })
      const body = randomPayload(100)
      peer.write(concat([craftPacket(session, 0, body), sealHeader(session, 1, new Uint8Array(18))]))
      const outcome = await server.outcomes[0]
      assert.equal(outcome?.error, undefined)
      assert.deepEqual(outcome?.delivered, body)
      assert.deepEqual(server.streams[0]?.remotePublicKey, clientKeys.publicKey)
    })

    const families: Array<{ name: string, at: 1 | 3, code: ShsErrorCode, build: (steps: ClientSteps) => Uint8Array }> = [
      { name: 'a random message 1', at: 1, code: 'ERR_SHS_INVALID_HELLO', build: () => randomPayload(HELLO_BYTES) },
      { name: 'message 1 made with a random network key', at: 1, code: 'ERR_SHS_INVALID_HELLO', build: (steps) => helloFor(randomPayload(32), steps.ephemeral.publicKey) },
      { name: 'a random message 3', at: 3, code: 'ERR_SHS_INVALID_CLIENT_AUTH', build: () => randomPayload(CLIENT_AUTH_BYTES) },
      { name: 'message 3 sealed with a random key', at: 3, code: 'ERR_SHS_INVALID_CLIENT_AUTH', build: (steps) => sealOnce(randomPayload(32), steps.authPayload()) },
      { name: 'message 3 sealed with the right key around random contents', at: 3, code: 'ERR_SHS_INVALID_CLIENT_AUTH', build: (steps) => sealOnce(steps.authKey(), randomPayload(CLIENT_AUTH_BYTES - 16)) }
    ]
    for (const { name, at, code, build } of families) {
      it(`${name}: hang-up with zero further bytes, ${code}`, async () => {
        const server = await startServer()
        const peer = await rawConnect(server.port)
        const steps = new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey)
        let answered = 0
        if (at === 3) {
          peer.write(steps.hello)
          const msg2 = await peer.read(HELLO_BYTES)
          assert.ok(msg2 !== undefined && steps.acceptHello(msg2), 'a valid message 1 is answered with a valid message 2')
          answered = HELLO_BYTES
        }
        peer.write(build(steps))
        await peer.waitClosed()
        assert.equal(peer.bytesReceived, answered, 'not one byte after the bad message')
        await waitFor(() => server.errors.length === 1, 'the server to report the refusal')
        assert.equal(server.errors[0]?.code, code)
        assert.equal(server.streams.length, 0)
      })
    }
  })

  describe('shs1-test negative families against connect(): the client writes nothing more and fails with a typed error', () => {
    it('control: a hand-rolled server completes the handshake and its packets are accepted', async () => {
      const body = randomPayload(100)
      const evil = await evilServer(async (peer) => {
        const session = await handRolledAccept(peer, serverKeys, NETWORK_KEY)
        peer.write(concat([craftPacket(session, 0, body), sealHeader(session, 1, new Uint8Array(18))]))
      })
      const stream = await dial(evil.port)
      const outcome = await drain(stream.source)
      assert.equal(outcome.error, undefined)
      assert.deepEqual(outcome.delivered, body)
      await evil.handled[0]
    })

    const families: Array<{ name: string, at: 2 | 4, code: ShsErrorCode, build: (steps: ServerSteps) => Uint8Array }> = [
      { name: 'a random message 2', at: 2, code: 'ERR_SHS_INVALID_HELLO', build: () => randomPayload(HELLO_BYTES) },
      { name: 'message 2 made with a random network key', at: 2, code: 'ERR_SHS_INVALID_HELLO', build: (steps) => helloFor(randomPayload(32), steps.ephemeral.publicKey) },
      { name: 'a random message 4', at: 4, code: 'ERR_SHS_INVALID_SERVER_ACCEPT', build: () => randomPayload(SERVER_ACCEPT_BYTES) },
      { name: 'message 4 sealed with a random key', at: 4, code: 'ERR_SHS_INVALID_SERVER_ACCEPT', build: (steps) => sealOnce(randomPayload(32), steps.acceptPayload()) },
      { name: 'message 4 sealed with the right key around random contents', at: 4, code: 'ERR_SHS_INVALID_SERVER_ACCEPT', build: (steps) => sealOnce(steps.acceptKey(), randomPayload(SERVER_ACCEPT_BYTES - 16)) }
    ]
    for (const { name, at, code, build } of families) {
      it(`${name}: ${code}, and not one byte after it`, async () => {
        let afterBadMessage = -1
        const evil = await evilServer(async (peer) => {
          const steps = new ServerSteps(serverKeys, NETWORK_KEY)
          const msg1 = await peer.read(HELLO_BYTES)
          assert.ok(msg1 !== undefined && steps.acceptHello(msg1), 'our client sends a valid message 1')
          if (at === 4) {
            peer.write(steps.hello)
            const msg3 = await peer.read(CLIENT_AUTH_BYTES)
            assert.ok(msg3 !== undefined && steps.acceptAuth(msg3), 'our client sends a valid message 3')
          }
          const before = peer.bytesReceived
          peer.write(build(steps))
          await peer.waitClosed()
          afterBadMessage = peer.bytesReceived - before
        })
        await assert.rejects(dial(evil.port), expectCode(code))
        await evil.handled[0]
        assert.equal(afterBadMessage, 0)
      })
    }
  })
})
