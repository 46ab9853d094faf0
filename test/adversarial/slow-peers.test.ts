/** Slow, dripping, stuck and hanging-up peers over TCP: timeouts, stalls, bounded memory. */
import assert from 'node:assert/strict'
import { mock } from 'node:test'
import { BoxStreamDecoder, HandshakeTimeoutError, ShsError } from '../../src/index.ts'
import { concat, randomPayload } from '../helpers/bytes.ts'
import {
  ClientSteps, type Drained, HELLO_BYTES, RawPeer, SERVER_ACCEPT_BYTES, ServerSteps, drain, handRolledClient, sealHeader, sendHelloAndAuth
} from '../helpers/adversary.ts'
import { waitFor } from '../helpers/resources.ts'
import {
  CLIENT_HANDSHAKE_BYTES, MiB, NETWORK_KEY, SHORT_TIMEOUT_MS, clientKeys, collectGarbage, expectCode, serverKeys, sleep, useAdversaryFixture
} from './fixture.ts'

describe('adversarial peers over TCP', function () {
  this.timeout(20_000)
  const { onCleanup, startServer, dial, rawConnect, evilServer } = useAdversaryFixture()

  describe('slow and stuck peers', () => {
    it('a client dripping a valid hello one byte every 100 ms is cut off by the handshake timeout: activity does not extend it (fake timers)', async () => {
      const DRIP_MS = 100
      const TICKS = SHORT_TIMEOUT_MS / DRIP_MS
      let accepted: () => void = () => {}
      const acceptedNow = new Promise<void>((resolve) => { accepted = resolve })
      const server = await startServer({ timeout: SHORT_TIMEOUT_MS, onConnection: () => { accepted() } })
      // Only setTimeout is faked (the handshake deadline's timer): sockets and setImmediate stay real.
      mock.timers.enable({ apis: ['setTimeout'] })
      onCleanup(() => { mock.timers.reset() })
      const peer = await rawConnect(server.port)
      // The deadline's timer starts as the server accepts: from here fake time is the handshake's time.
      await acceptedNow
      const hello = new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey).hello
      for (let sent = 0; sent < TICKS; sent++) {
        assert.equal(peer.socket.destroyed, false, `still connected after ${sent * DRIP_MS} ms of a ${SHORT_TIMEOUT_MS} ms timeout`)
        peer.write(hello.subarray(sent, sent + 1))
        mock.timers.tick(DRIP_MS)
      }
      // Six bytes of 64 sent, each one "in time": the timeout fired anyway and the server hangs up.
      await peer.closed
      mock.timers.reset()
      assert.equal(peer.bytesReceived, 0)
      await waitFor(() => server.errors.length === 1, 'the timeout to be reported')
      assert.ok(server.errors[0] instanceof HandshakeTimeoutError)
      assert.match(server.errors[0].message, /clientHello/)
    })

    it('a client that sends message 1 and then message 3 at one byte a second is cut off by the timeout: it covers the whole handshake', async () => {
      const DRIP_MS = 1000
      const server = await startServer({ timeout: SHORT_TIMEOUT_MS })
      const peer = await rawConnect(server.port)
      const steps = new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey)
      peer.write(steps.hello)
      const msg2 = await peer.read(HELLO_BYTES)
      assert.ok(msg2 !== undefined && steps.acceptHello(msg2))
      const msg3 = steps.auth()
      let sent = 0
      const dripOne = (): void => { if (!peer.socket.destroyed) peer.write(msg3.subarray(sent, ++sent)) }
      dripOne()
      const drip = setInterval(dripOne, DRIP_MS)
      onCleanup(() => { clearInterval(drip) })
      await peer.waitClosed()
      clearInterval(drip)
      assert.equal(peer.bytesReceived, HELLO_BYTES, 'message 2 and nothing more')
      await waitFor(() => server.errors.length === 1, 'the timeout to be reported')
      expectCode('ERR_SHS_HANDSHAKE_TIMEOUT')(server.errors[0])
      assert.match(server.errors[0]?.message ?? '', /clientAuth/)
    })

    it('a server dripping message 2 one byte every 100 ms is cut off by the client timeout', async () => {
      const DRIP_MS = 100
      let drip: ReturnType<typeof setInterval> | undefined
      onCleanup(() => { clearInterval(drip) })
      const evil = await evilServer(async (peer) => {
        const steps = new ServerSteps(serverKeys, NETWORK_KEY)
        await peer.read(HELLO_BYTES)
        let sent = 0
        drip = setInterval(() => { if (!peer.socket.destroyed) peer.write(steps.hello.subarray(sent, ++sent)) }, DRIP_MS)
        await peer.waitClosed()
      })
      // The whole message would take 6.4 s to drip: a timeout naming serverHello proves the
      // bytes that kept arriving did not extend the 600 ms deadline (no wall-clock reading needed).
      await assert.rejects(dial(evil.port, { timeout: SHORT_TIMEOUT_MS }), (err: unknown) => {
        assert.ok(err instanceof HandshakeTimeoutError, String(err))
        assert.match(err.message, /serverHello/)
        return true
      })
      await evil.handled[0]
      assert.equal(evil.peers[0]?.bytesReceived, HELLO_BYTES, 'message 1 and nothing more')
    })

    it('a server that answers message 1 and then stalls is cut off by the client timeout while waiting for message 4', async () => {
      const evil = await evilServer(async (peer) => {
        const steps = new ServerSteps(serverKeys, NETWORK_KEY)
        const msg1 = await peer.read(HELLO_BYTES)
        assert.ok(msg1 !== undefined && steps.acceptHello(msg1))
        peer.write(steps.hello)
        await peer.waitClosed()
      })
      await assert.rejects(dial(evil.port, { timeout: SHORT_TIMEOUT_MS }), (err: unknown) => {
        assert.ok(err instanceof HandshakeTimeoutError, String(err))
        assert.match(err.message, /serverAccept/)
        return true
      })
      await evil.handled[0]
      assert.equal(evil.peers[0]?.bytesReceived, CLIENT_HANDSHAKE_BYTES, 'messages 1 and 3, nothing more')
    })

    describe('a peer that stops reading: the writer stalls instead of buffering', () => {
      const ATTEMPT_BYTES = 200 * MiB
      const CHUNK_BYTES = 64 * 1024
      /** Loopback socket buffers hold a few MiB; anything near the attempt means no backpressure. */
      const STALL_LIMIT_BYTES = 64 * MiB
      const MEMORY_LIMIT_BYTES = 64 * MiB
      const STILL_MS = 500

      /** An application source of fresh 64 KiB chunks that counts what the sink pulled. */
      function counted (): { source: AsyncGenerator<Uint8Array>, pulled: () => number, closed: () => boolean } {
        let pulled = 0
        let closed = false
        async function * generate (): AsyncGenerator<Uint8Array> {
          try {
            while (pulled < ATTEMPT_BYTES) {
              pulled += CHUNK_BYTES
              yield new Uint8Array(CHUNK_BYTES)
            }
          } finally {
            closed = true
          }
        }
        return { source: generate(), pulled: () => pulled, closed: () => closed }
      }

      /** Waits until `pulled` has not moved for STILL_MS, then checks that it stays still. */
      async function assertStalls (pulled: () => number): Promise<number> {
        collectGarbage()
        const memoryBefore = process.memoryUsage()
        let last = -1
        let stillSince = performance.now()
        await waitFor(() => {
          const now = pulled()
          if (now !== last) { last = now; stillSince = performance.now() }
          return performance.now() - stillSince >= STILL_MS
        }, 'the writer to stall', 15_000)
        const stalledAt = pulled()
        assert.ok(stalledAt < STALL_LIMIT_BYTES, `the sink pulled ${stalledAt / MiB} MiB of ${ATTEMPT_BYTES / MiB} MiB from a peer that reads nothing`)
        await sleep(STILL_MS)
        assert.equal(pulled(), stalledAt, 'no progress while the peer does not read')
        // Measured after a full collection: what is left is what the stalled connection holds.
        collectGarbage()
        const memoryAfter = process.memoryUsage()
        const growth = (memoryAfter.heapUsed + memoryAfter.arrayBuffers) - (memoryBefore.heapUsed + memoryBefore.arrayBuffers)
        assert.ok(growth < MEMORY_LIMIT_BYTES, `memory grew by ${Math.round(growth / MiB)} MiB`)
        return stalledAt
      }

      it('a hand-rolled client that stops reading after the handshake: the server\'s sink stalls, memory stays flat, and its hang-up fails the sink and closes the application\'s source', async () => {
        const writer = counted()
        let sinkDone: Promise<unknown> | undefined
        const server = await startServer({}, (stream) => { sinkDone = stream.sink(writer.source).then(() => 'finished', (err: unknown) => err) })
        const { peer } = await handRolledClient(server.port, { keys: clientKeys, networkKey: NETWORK_KEY, serverKey: serverKeys.publicKey })
        onCleanup(() => { peer.destroy() })
        peer.socket.pause()
        await waitFor(() => sinkDone !== undefined, 'the server to accept the stream')
        await assertStalls(writer.pulled)
        peer.destroy()
        assert.ok(await sinkDone instanceof ShsError, 'the sink fails with a typed error once the reader hangs up')
        await waitFor(writer.closed, 'the application source to be closed (its finally ran)')
      })

      it('our client whose application never reads its source: the server\'s sink stalls too (backpressure crosses the decoder)', async () => {
        const writer = counted()
        let sinkDone: Promise<unknown> | undefined
        const server = await startServer({}, (stream) => { sinkDone = stream.sink(writer.source).then(() => 'finished', (err: unknown) => err) })
        const client = await dial(server.port)
        await waitFor(() => sinkDone !== undefined, 'the server to accept the stream')
        await assertStalls(writer.pulled)
        client.abort()
        assert.ok(await sinkDone instanceof ShsError, 'the sink fails with a typed error once the client aborts')
        await waitFor(writer.closed, 'the application source to be closed (its finally ran)')
      })
    })

    describe('half-open sockets', () => {
      it('a client that half-closes after message 1 is fully disconnected, gets at most message 2, and is reported as a hang-up', async () => {
        const server = await startServer()
        const peer = await rawConnect(server.port)
        peer.write(new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey).hello)
        peer.socket.end()
        await peer.waitClosed()
        assert.ok(peer.bytesReceived <= HELLO_BYTES, `got ${peer.bytesReceived} bytes`)
        await waitFor(() => server.errors.length === 1, 'the hang-up to be reported')
        expectCode('ERR_SHS_CLIENT_HUNG_UP')(server.errors[0])
        assert.equal(server.streams.length, 0)
      })

      it('a server that half-closes after message 2 makes our client fail with a hang-up after auth and close the socket', async () => {
        const evil = await evilServer(async (peer) => {
          const steps = new ServerSteps(serverKeys, NETWORK_KEY)
          const msg1 = await peer.read(HELLO_BYTES)
          assert.ok(msg1 !== undefined && steps.acceptHello(msg1))
          peer.write(steps.hello)
          peer.socket.end()
          await peer.waitClosed()
        })
        await assert.rejects(dial(evil.port), expectCode('ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH'))
        await evil.handled[0]
        assert.ok((evil.peers[0]?.bytesReceived ?? Infinity) <= CLIENT_HANDSHAKE_BYTES)
      })

      for (const [how, hangUp] of [['half-closes (FIN)', (peer: RawPeer) => { peer.socket.end() }], ['resets the connection', (peer: RawPeer) => { peer.destroy() }]] as const) {
        it(`a client that ${how} while a slow authorize decides: the stream handed to onStream fails at once, and the socket is released`, async () => {
          /** Long enough for the hang-up to reach the server before authorize answers. */
          const HANG_UP_SETTLE_MS = 100
          let decide: (accepted: boolean) => void = () => {}
          let asked = false
          const server = await startServer({ authorize: async () => await new Promise<boolean>((resolve) => { asked = true; decide = resolve }) })
          onCleanup(() => { decide(false) })
          const peer = await rawConnect(server.port)
          await sendHelloAndAuth(peer, new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey))
          await waitFor(() => asked, 'authorize to be called')
          hangUp(peer)
          await sleep(HANG_UP_SETTLE_MS)
          decide(true)
          await waitFor(() => server.outcomes.length === 1, 'the server to hand over the stream')
          const outcome = await (server.outcomes[0] as Promise<Drained>)
          assert.ok(outcome.error instanceof ShsError, String(outcome.error))
          assert.ok(['ERR_BOX_STREAM_TRUNCATED', 'ERR_SHS_CONNECTION'].includes(outcome.error.code), outcome.error.code)
          assert.equal(outcome.delivered.byteLength, 0)
          await peer.closed
        })
      }

      it('a client that sends goodbye and half-closes still gets the whole reply, then both sides close', async () => {
        const reply = randomPayload(100_000)
        const server = await startServer({}, (stream) => {
          void (async () => {
            const question = await drain(stream.source)
            assert.equal(question.error, undefined)
            await stream.sink([reply])
          })()
        })
        const { peer, session } = await handRolledClient(server.port, { keys: clientKeys, networkKey: NETWORK_KEY, serverKey: serverKeys.publicKey })
        onCleanup(() => { peer.destroy() })
        peer.write(sealHeader(session, 0, new Uint8Array(18)))
        peer.socket.end()
        await peer.waitClosed()
        const rest = await peer.read(peer.bytesReceived - SERVER_ACCEPT_BYTES - HELLO_BYTES)
        assert.ok(rest !== undefined)
        const decoder = new BoxStreamDecoder(session.decryptKey, session.decryptNonce)
        const plaintext = concat(decoder.push(rest))
        assert.ok(decoder.ended, 'the server ended with goodbye')
        assert.deepEqual(plaintext, reply)
      })
    })
  })
})
