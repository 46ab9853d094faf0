/** An AbortSignal fired at each handshake step, in both roles, over TCP. */
import assert from 'node:assert/strict'
import net from 'node:net'
import { type SecureStream, serverHandshake } from '../../src/index.ts'
import { CLIENT_AUTH_BYTES, ClientSteps, HELLO_BYTES, HOST, ServerSteps, sendHelloAndAuth, socketAsDuplex } from '../helpers/adversary.ts'
import { waitFor } from '../helpers/resources.ts'
import { NETWORK_KEY, clientKeys, expectCode, isAbortError, serverKeys, useAdversaryFixture } from './fixture.ts'

describe('adversarial peers over TCP', function () {
  this.timeout(20_000)
  const { onCleanup, startServer, dial, rawConnect, evilServer } = useAdversaryFixture()

  describe('aborts at each handshake step reject promptly with an AbortError and release the socket', () => {
    it('client, while connecting (before message 1): the server never receives a byte', async () => {
      const silent = await evilServer(async (peer) => { await peer.waitClosed() })
      const controller = new AbortController()
      const attempt = dial(silent.port, { signal: controller.signal })
      controller.abort()
      // An AbortError (not the 10 s HandshakeTimeoutError) is the proof it did not wait.
      await assert.rejects(attempt, isAbortError)
      await Promise.all(silent.handled)
      assert.ok(silent.peers.every((peer) => peer.bytesReceived === 0))
    })

    for (const [step, answer, stage] of [['waiting for message 2', false, /serverHello/], ['waiting for message 4', true, /serverAccept/]] as const) {
      it(`client, ${step}`, async () => {
        let ready = false
        const evil = await evilServer(async (peer) => {
          const steps = new ServerSteps(serverKeys, NETWORK_KEY)
          const msg1 = await peer.read(HELLO_BYTES)
          assert.ok(msg1 !== undefined && steps.acceptHello(msg1))
          if (answer) {
            peer.write(steps.hello)
            assert.ok(await peer.read(CLIENT_AUTH_BYTES) !== undefined)
          }
          ready = true
          await peer.waitClosed()
        })
        const controller = new AbortController()
        const attempt = dial(evil.port, { signal: controller.signal })
        await waitFor(() => ready, 'the client to reach the step')
        controller.abort()
        await assert.rejects(attempt, (err: unknown) => {
          assert.ok(isAbortError(err), String(err))
          assert.match((err as Error).message, stage)
          return true
        })
        await evil.handled[0]
      })
    }

    describe('server (serverHandshake over a TCP socket)', () => {
      async function abortableServer (authorize?: (key: Uint8Array) => Promise<boolean>): Promise<{ port: number, attempts: Array<Promise<SecureStream>>, controller: AbortController }> {
        const controller = new AbortController()
        const attempts: Array<Promise<SecureStream>> = []
        const sockets = new Set<net.Socket>()
        const server = net.createServer({ allowHalfOpen: true }, (socket) => {
          sockets.add(socket)
          socket.once('close', () => sockets.delete(socket))
          const attempt = serverHandshake(socketAsDuplex(socket), { keys: serverKeys, networkKey: NETWORK_KEY, signal: controller.signal, ...(authorize === undefined ? {} : { authorize }) })
          // Awaited by the test; until then a rejection must not count as unhandled.
          attempt.catch(() => {})
          attempts.push(attempt)
        })
        await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
        onCleanup(async () => {
          for (const socket of sockets) socket.destroy()
          await new Promise<void>((resolve) => server.close(() => { resolve() }))
        })
        return { port: (server.address() as net.AddressInfo).port, attempts, controller }
      }

      async function expectAbort (attempt: Promise<SecureStream> | undefined, controller: AbortController, stage: RegExp): Promise<void> {
        assert.ok(attempt !== undefined)
        controller.abort()
        // An AbortError naming the stage, not the 10 s timeout, is the proof it did not wait.
        await assert.rejects(attempt, (err: unknown) => {
          assert.ok(isAbortError(err), String(err))
          assert.match((err as Error).message, stage)
          return true
        })
      }

      it('waiting for message 1: the client gets zero bytes and a closed socket', async () => {
        const { port, attempts, controller } = await abortableServer()
        const peer = await rawConnect(port)
        await waitFor(() => attempts.length === 1, 'the server to accept')
        await expectAbort(attempts[0], controller, /clientHello/)
        await peer.closed
        assert.equal(peer.bytesReceived, 0)
      })

      it('waiting for message 3: the client gets message 2 only and a closed socket', async () => {
        const { port, attempts, controller } = await abortableServer()
        const peer = await rawConnect(port)
        const steps = new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey)
        peer.write(steps.hello)
        assert.ok(await peer.read(HELLO_BYTES) !== undefined)
        await expectAbort(attempts[0], controller, /clientAuth/)
        await peer.closed
        assert.equal(peer.bytesReceived, HELLO_BYTES)
      })

      it('during a slow async authorize: no message 4 is ever sent, even when authorize later says yes', async () => {
        let decide: (accepted: boolean) => void = () => {}
        let asked = false
        const { port, attempts, controller } = await abortableServer(async () => await new Promise<boolean>((resolve) => { asked = true; decide = resolve }))
        const peer = await rawConnect(port)
        await sendHelloAndAuth(peer, new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey))
        await waitFor(() => asked, 'authorize to be called')
        await expectAbort(attempts[0], controller, /authorize/)
        decide(true)
        await peer.closed
        assert.equal(peer.bytesReceived, HELLO_BYTES)
      })
    })

    it('listener.close() during a slow authorize: the handshake ends with ERR_SHS_ABORTED, close() does not wait for authorize', async () => {
      let decide: (accepted: boolean) => void = () => {}
      let asked = false
      const server = await startServer({ authorize: async () => await new Promise<boolean>((resolve) => { asked = true; decide = resolve }) })
      onCleanup(() => { decide(false) })
      const attempt = dial(server.port)
      await waitFor(() => asked, 'authorize to be called')
      // authorize has not decided when close() returns: close() did not wait for it.
      await server.listener.close()
      await assert.rejects(attempt, expectCode('ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH'))
      await waitFor(() => server.errors.length === 1, 'the abort to be reported')
      expectCode('ERR_SHS_ABORTED')(server.errors[0])
      assert.equal(server.streams.length, 0)
    })
  })
})
