/** What an eavesdropper, a replayer or a man in the middle can learn from a session, over TCP. */
import assert from 'node:assert/strict'
import { ShsError, generateKeyPair } from '../../src/index.ts'
import { concat, randomPayload } from '../helpers/bytes.ts'
import { CLIENT_AUTH_BYTES, HELLO_BYTES, NO_TAMPERING, ServerSteps, curvePublicKey, drain, tamperingRelay } from '../helpers/adversary.ts'
import { CLIENT_HANDSHAKE_BYTES, NETWORK_KEY, SERVER_HANDSHAKE_BYTES, clientKeys, echo, expectCode, serverKeys, useAdversaryFixture } from './fixture.ts'

describe('adversarial peers over TCP', function () {
  this.timeout(20_000)
  const { onCleanup, startServer, dial, rawConnect, evilServer } = useAdversaryFixture()

  describe('what an eavesdropper, a replayer or a man in the middle learns', () => {
    const bannedKeys = generateKeyPair()
    const refuseBanned = (key: Uint8Array): boolean => !Buffer.from(key).equals(bannedKeys.publicKey)

    /** One whole session (handshake, data both ways, goodbyes) recorded by an eavesdropping relay. */
    async function capturedSession (port: number, secret: Uint8Array): Promise<{ toServer: Uint8Array, toClient: Uint8Array }> {
      const relay = await tamperingRelay(port, NO_TAMPERING)
      onCleanup(async () => { await relay.close() })
      const stream = await dial(relay.port)
      const [echoed] = await Promise.all([drain(stream.source), stream.sink([secret])])
      assert.deepEqual(echoed.delivered, secret)
      return { toServer: concat(relay.captured.toServer), toClient: concat(relay.captured.toClient) }
    }

    const contains = (haystack: Uint8Array, needle: Uint8Array): boolean => Buffer.from(haystack).includes(Buffer.from(needle))

    it('a captured session holds neither long-term public key (nor its curve form) nor any plaintext', async () => {
      const server = await startServer({}, echo)
      const secret = new TextEncoder().encode('meet me at the usual place at nine; bring the documents')
      const { toServer, toClient } = await capturedSession(server.port, secret)
      const wire = concat([toServer, toClient])
      assert.equal(toServer.byteLength > CLIENT_HANDSHAKE_BYTES && toClient.byteLength > SERVER_HANDSHAKE_BYTES, true, 'the capture holds the whole session')
      for (const [name, key] of [['client', clientKeys.publicKey], ['server', serverKeys.publicKey]] as const) {
        assert.equal(contains(wire, key), false, `the ${name} key travels in the clear`)
        assert.equal(contains(wire, curvePublicKey(key)), false, `the ${name} key's curve form travels in the clear`)
      }
      assert.equal(contains(wire, secret.subarray(0, 16)), false, 'plaintext travels in the clear')
    })

    it('two captured sessions between the same two peers share no 16-byte sequence: nothing on the wire links them', async () => {
      const WINDOW = 16
      const server = await startServer({}, echo)
      const secret = randomPayload(100)
      const first = await capturedSession(server.port, secret)
      const second = await capturedSession(server.port, secret)
      const windows = new Set<string>()
      const firstWire = concat([first.toServer, first.toClient])
      for (let i = 0; i + WINDOW <= firstWire.byteLength; i++) windows.add(Buffer.from(firstWire.subarray(i, i + WINDOW)).toString('hex'))
      const secondWire = concat([second.toServer, second.toClient])
      for (let i = 0; i + WINDOW <= secondWire.byteLength; i++) {
        assert.equal(windows.has(Buffer.from(secondWire.subarray(i, i + WINDOW)).toString('hex')), false, `bytes ${i}.. of the second session repeat the first`)
      }
    })

    it('replaying the captured messages 1 and 3 of an authorized and of a refused client gets the same answer, and authorize is never asked', async () => {
      const asked: Uint8Array[] = []
      const server = await startServer({ authorize: (key) => { asked.push(key); return refuseBanned(key) } }, echo)
      const authorized = await capturedSession(server.port, randomPayload(10))
      const relay = await tamperingRelay(server.port, NO_TAMPERING)
      onCleanup(async () => { await relay.close() })
      await assert.rejects(dial(relay.port, { keys: bannedKeys }), expectCode('ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH'))
      const refused = concat(relay.captured.toServer)
      assert.equal(asked.length, 2, 'both original clients were put to authorize')

      const answers: number[] = []
      for (const capture of [authorized.toServer, refused]) {
        const peer = await rawConnect(server.port)
        peer.write(capture.subarray(0, CLIENT_HANDSHAKE_BYTES))
        await peer.waitClosed()
        answers.push(peer.bytesReceived)
      }
      assert.deepEqual(answers, [HELLO_BYTES, HELLO_BYTES], 'a fresh message 2, then a hang-up, for both')
      assert.equal(asked.length, 2, 'authorize was not asked about the replays')
    })

    it('a client that dialled the wrong server key and a client the server refuses see exactly the same: message 2, then a hang-up', async () => {
      const server = await startServer({ authorize: refuseBanned })
      const seen: Array<{ code: string, bytes: number }> = []
      for (const overrides of [{ remotePublicKey: generateKeyPair().publicKey }, { keys: bannedKeys }]) {
        const relay = await tamperingRelay(server.port, NO_TAMPERING)
        onCleanup(async () => { await relay.close() })
        const error = await dial(relay.port, overrides).then(() => undefined, (err: unknown) => err)
        assert.ok(error instanceof ShsError)
        seen.push({ code: error.code, bytes: relay.counts.toClient })
      }
      assert.deepEqual(seen[0], seen[1])
      assert.deepEqual(seen[0], { code: 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH', bytes: HELLO_BYTES })
    })

    it('a man in the middle with the network key but not the server\'s secret key cannot open message 3, so never learns the client\'s key', async () => {
      let opened: boolean | undefined
      const impostor = await evilServer(async (peer) => {
        const steps = new ServerSteps(generateKeyPair(), NETWORK_KEY)
        const msg1 = await peer.read(HELLO_BYTES)
        assert.ok(msg1 !== undefined && steps.acceptHello(msg1), 'the network key is enough to answer message 1')
        peer.write(steps.hello)
        const msg3 = await peer.read(CLIENT_AUTH_BYTES)
        assert.ok(msg3 !== undefined)
        opened = steps.acceptAuth(msg3)
        assert.equal(contains(msg3, clientKeys.publicKey), false)
        peer.destroy()
      })
      await assert.rejects(dial(impostor.port), expectCode('ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH'))
      await impostor.handled[0]
      assert.equal(opened, false)
    })
  })
})
