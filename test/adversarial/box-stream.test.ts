/** Tampered, forged, replayed and reordered box-stream packets after a good handshake, over TCP. */
import assert from 'node:assert/strict'
import { BoxStreamError, type SessionKeys, type ShsErrorCode } from '../../src/index.ts'
import { concat, randomPayload } from '../helpers/bytes.ts'
import {
  BOX_HEADER_BYTES, BOX_MAX_BODY, type Drained, RawPeer, craftPacket, drain, handRolledAccept, handRolledClient, sealHeader,
  tamperingRelay
} from '../helpers/adversary.ts'
import {
  CLIENT_HANDSHAKE_BYTES, NETWORK_KEY, PACKET_BYTES, SERVER_HANDSHAKE_BYTES, clientKeys, expectCode, serverKeys, threePackets, useAdversaryFixture
} from './fixture.ts'

describe('adversarial peers over TCP', function () {
  this.timeout(20_000)
  const { onCleanup, waitForStream, startServer, dial, evilServer } = useAdversaryFixture()

  describe('box stream after a good handshake', () => {
    // Offsets inside packet 2 of three: packet 1 precedes the damage and must arrive intact.
    const regions: Array<[string, number, ShsErrorCode]> = [
      ['header MAC', 5, 'ERR_BOX_STREAM_BAD_HEADER'],
      ['header contents', 16 + 1, 'ERR_BOX_STREAM_BAD_HEADER'],
      ['body', BOX_HEADER_BYTES + 1000, 'ERR_BOX_STREAM_BAD_BODY']
    ]
    for (const direction of ['toServer', 'toClient'] as const) {
      for (const [region, offsetInPacket, code] of regions) {
        it(`a relay flipping one bit in the ${region} of packet 2 (${direction === 'toServer' ? 'client to server' : 'server to client'}): ${code}, packet 1 delivered intact, nothing after`, async () => {
          const { chunks } = threePackets()
          const server = await startServer({}, direction === 'toServer'
            ? undefined
            : (stream) => {
                // The client tears the connection down once it detects the damage, so this sink
                // may fail; what matters is what the client delivered.
                stream.sink(chunks).catch(() => {})
              })
          const start = direction === 'toServer' ? CLIENT_HANDSHAKE_BYTES : SERVER_HANDSHAKE_BYTES
          const relay = await tamperingRelay(server.port, { direction, offset: start + PACKET_BYTES + offsetInPacket, mask: 0x10 })
          onCleanup(async () => { await relay.close() })
          const client = await dial(relay.port)
          let outcome: Drained | undefined
          if (direction === 'toServer') {
            // As above: the server hangs up on detecting the damage, which may fail this sink.
            client.sink(chunks).catch(() => {})
            outcome = await server.outcomes[0]
          } else {
            outcome = await drain(client.source)
          }
          assert.ok(outcome !== undefined)
          expectCode(code)(outcome.error)
          assert.deepEqual(outcome.delivered, chunks[0])
        })
      }
    }

    interface Scenario {
      name: string
      /** Undefined: the stream must end cleanly. */
      code?: ShsErrorCode
      /** How many of the three packets' plaintexts must be delivered. */
      delivered: number
      send: (peer: RawPeer, packet: (index: number) => Uint8Array, goodbye: (index: number) => Uint8Array, session: SessionKeys) => void
    }
    const scenarios: Scenario[] = [
      { name: 'control: three packets and goodbye end cleanly', delivered: 3, send: (peer, packet, goodbye) => { peer.write(concat([packet(0), packet(1), packet(2), goodbye(3)])) } },
      { name: 'a stream cut at a packet boundary', code: 'ERR_BOX_STREAM_TRUNCATED', delivered: 1, send: (peer, packet) => { peer.write(packet(0)); peer.socket.end() } },
      { name: 'a stream cut before its first packet', code: 'ERR_BOX_STREAM_TRUNCATED', delivered: 0, send: (peer) => { peer.socket.end() } },
      { name: 'a stream cut inside a header', code: 'ERR_BOX_STREAM_TRUNCATED', delivered: 1, send: (peer, packet) => { peer.write(concat([packet(0), packet(1).subarray(0, 17)])); peer.socket.end() } },
      { name: 'a stream cut inside a body', code: 'ERR_BOX_STREAM_TRUNCATED', delivered: 1, send: (peer, packet) => { peer.write(concat([packet(0), packet(1).subarray(0, BOX_HEADER_BYTES + 100)])); peer.socket.end() } },
      { name: 'reordered packets (1, 3, 2)', code: 'ERR_BOX_STREAM_BAD_HEADER', delivered: 1, send: (peer, packet) => { peer.write(concat([packet(0), packet(2), packet(1)])) } },
      { name: 'a replayed packet (1, 2, 1)', code: 'ERR_BOX_STREAM_BAD_HEADER', delivered: 2, send: (peer, packet) => { peer.write(concat([packet(0), packet(1), packet(0)])) } },
      { name: 'a duplicated packet (1, 1)', code: 'ERR_BOX_STREAM_BAD_HEADER', delivered: 1, send: (peer, packet) => { peer.write(concat([packet(0), packet(0)])) } },
      {
        name: 'a header announcing 4097 bytes, correctly sealed with a 4097-byte body',
        code: 'ERR_BOX_STREAM_BAD_LENGTH',
        delivered: 1,
        send: (peer, packet, _goodbye, session) => { peer.write(concat([packet(0), craftPacket(session, 1, randomPayload(BOX_MAX_BODY + 1))])) }
      },
      {
        name: 'a header announcing 65535 bytes',
        code: 'ERR_BOX_STREAM_BAD_LENGTH',
        delivered: 1,
        send: (peer, packet, _goodbye, session) => { peer.write(concat([packet(0), craftPacket(session, 1, randomPayload(100), 0xffff)])) }
      },
      {
        name: 'a zero-length header whose MAC does not match an empty body',
        code: 'ERR_BOX_STREAM_BAD_BODY',
        delivered: 1,
        send: (peer, packet, _goodbye, session) => {
          const notGoodbye = new Uint8Array(18)
          notGoodbye[10] = 1
          peer.write(concat([packet(0), sealHeader(session, 1, notGoodbye)]))
        }
      },
      {
        // pull-box-stream and go-secretstream accept it as an empty message; the references win.
        name: 'a valid zero-length packet that is not goodbye, then goodbye',
        delivered: 1,
        send: (peer, packet, goodbye, session) => { peer.write(concat([packet(0), craftPacket(session, 1, new Uint8Array(0)), goodbye(2)])) }
      },
      { name: 'bytes after goodbye (in the same segment)', code: 'ERR_BOX_STREAM_AFTER_GOODBYE', delivered: 1, send: (peer, packet, goodbye) => { peer.write(concat([packet(0), goodbye(1), new Uint8Array([1, 2, 3])])) } }
    ]

    for (const victim of ['listen', 'connect'] as const) {
      for (const scenario of scenarios) {
        const ending = scenario.code === undefined ? 'clean end' : `${scenario.code}, then a hang-up`
        it(`crafted, to ${victim}(): ${scenario.name}: ${ending}; exactly the ${scenario.delivered} packet(s) before it delivered`, async () => {
          const { chunks } = threePackets()
          const run = (peer: RawPeer, session: SessionKeys): void => {
            scenario.send(peer, (i) => craftPacket(session, i, chunks[i] as Uint8Array), (i) => sealHeader(session, i, new Uint8Array(18)), session)
          }
          let outcome: Drained | undefined
          let attacker: RawPeer | undefined
          if (victim === 'listen') {
            const server = await startServer()
            const { peer, session } = await handRolledClient(server.port, { keys: clientKeys, networkKey: NETWORK_KEY, serverKey: serverKeys.publicKey })
            onCleanup(() => { peer.destroy() })
            attacker = peer
            run(peer, session)
            outcome = await server.outcomes[0]
          } else {
            const evil = await evilServer(async (peer) => {
              attacker = peer
              run(peer, await handRolledAccept(peer, serverKeys, NETWORK_KEY))
            })
            const stream = await dial(evil.port)
            outcome = await drain(stream.source)
            await evil.handled[0]
          }
          assert.ok(outcome !== undefined && attacker !== undefined)
          assert.deepEqual(outcome.delivered, concat(chunks.slice(0, scenario.delivered)))
          if (scenario.code === undefined) {
            assert.equal(outcome.error, undefined)
            return
          }
          assert.ok(outcome.error instanceof BoxStreamError, String(outcome.error))
          expectCode(scenario.code)(outcome.error)
          await attacker.waitClosed()
        })
      }
    }

    it('bytes that arrive after goodbye in a later segment are never delivered, fail the stream with ERR_BOX_STREAM_AFTER_GOODBYE and close the socket', async () => {
      let sinkOutcome: Promise<unknown> | undefined
      // The server reads to the end and keeps its own side open (a slow writer): the connection is not finished.
      let stopWriting: () => void = () => {}
      const server = await startServer({}, (stream) => {
        // A source that yields nothing until stopWriting() ends it.
        const silent: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: async () => { await new Promise<void>((resolve) => { stopWriting = resolve }); return { done: true, value: undefined } } }) }
        sinkOutcome = stream.sink(silent)
          .then(() => undefined, (err: unknown) => err)
      })
      onCleanup(() => { stopWriting() })
      const { peer, session } = await handRolledClient(server.port, { keys: clientKeys, networkKey: NETWORK_KEY, serverKey: serverKeys.publicKey })
      onCleanup(() => { peer.destroy() })
      const body = randomPayload(500)
      peer.write(concat([craftPacket(session, 0, body), sealHeader(session, 1, new Uint8Array(18))]))
      const outcome = await drain((server.streams[0] ?? await waitForStream(server)).source)
      assert.equal(outcome.error, undefined)
      assert.deepEqual(outcome.delivered, body)
      // Sealed as if goodbye had not happened: a well-formed packet 3, in a later segment.
      peer.write(craftPacket(session, 2, randomPayload(500)))
      // The same rule as in the goodbye's own segment: a typed error, and the socket closes (no FIN from the peer needed).
      await peer.waitClosed()
      expectCode('ERR_BOX_STREAM_AFTER_GOODBYE')(await sinkOutcome)
    })
  })
})
