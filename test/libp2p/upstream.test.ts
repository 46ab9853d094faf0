/**
 * Known bugs of upstream libp2p packages that this repository works around (test/libp2p/helpers.ts)
 * or documents (docs/BROWSER.md). Each test asserts the bug as it is today, so it fails on the day
 * upstream fixes it: then the workaround or the note can go, and this test with it. Checked against
 * @libp2p/utils 7.4.1 and @libp2p/websockets 10.1.21.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { Connection, MultiaddrConnection, Upgrader } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { AbstractMessageStream, type SendResult } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { WebSocketServer } from 'ws'

type ByteList = Parameters<AbstractMessageStream['sendData']>[0]

/** The smallest concrete stream: its transport takes everything, or reports itself full. */
class ProbeStream extends AbstractMessageStream {
  transportFull = false

  constructor () {
    super({ log: defaultLogger().forComponent('test:upstream'), direction: 'outbound' })
  }

  sendData (data: ByteList): SendResult {
    return { sentBytes: data.byteLength, canSendMore: !this.transportFull }
  }

  sendReset (): void {}
  sendPause (): void {}
  sendResume (): void {}
  async close (): Promise<void> {}
}

/** 'settled' if `promise` settles within a few turns of the event loop, else 'pending'. */
async function stateOf (promise: Promise<unknown>): Promise<'settled' | 'pending'> {
  const pending = new Promise<'pending'>((resolve) => { setImmediate(() => { setImmediate(() => { resolve('pending') }) }) })
  return await Promise.race([promise.then(() => 'settled' as const, () => 'settled' as const), pending])
}

describe('@libp2p/utils bugs we work around (each test fails once upstream fixes the bug)', () => {
  it('onDrain() waits only once: after the first drain it keeps returning its resolved promise, though the stream needs draining again', async () => {
    // Workaround: test/libp2p/helpers.ts drained() listens for the 'drain' event itself.
    const stream = new ProbeStream()
    stream.transportFull = true
    stream.send(new Uint8Array(10))
    assert.equal(stream.writableNeedsDrain, true)
    const first = stream.onDrain()
    assert.equal(await stateOf(first), 'pending', 'the first wait does wait')
    stream.safeDispatchEvent('drain')
    await first
    stream.send(new Uint8Array(10))
    assert.equal(stream.writableNeedsDrain, true, 'the transport is full again')
    // The bug: the promise from the first drain is reused (never cleared), so this does not wait.
    assert.equal(await stateOf(stream.onDrain()), 'settled')
  })

  it('the stream\'s async iterator ends at the remote\'s close while paused data is still unread', async () => {
    // Workaround: test/libp2p/helpers.ts echoHandler() is written out instead of using echo().
    const stream = new ProbeStream()
    const read: Uint8Array[] = []
    const reading = (async () => { for await (const chunk of stream) read.push(chunk.subarray()) })()
    stream.pause()
    stream.onData(new Uint8Array([1, 2, 3]))
    stream.onRemoteCloseWrite()
    await reading
    // The bug: the iterator ended with the 3 bytes still in the read buffer, never yielded.
    assert.deepEqual(read, [])
    assert.equal(stream.readBufferLength, 3)
  })
})

describe('@libp2p/websockets bugs we document (each test fails once upstream fixes the bug)', () => {
  it('abort() leaves the WebSocket open: its reset calls websocket.close(1006), a code no WebSocket may send', async () => {
    // Documented in docs/BROWSER.md and test/libp2p/browser.test.ts: a refused handshake over
    // WebSockets is not signalled to the peer, which waits for its own timeout.
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await once(server, 'listening')
    const accepted = once(server, 'connection') as Promise<[import('ws').WebSocket]>
    // The dialling side reads only the logger; events feed its listener, which this test does not create.
    const transport = webSockets()({ logger: defaultLogger(), events: new EventTarget() as never })
    let aborted: MultiaddrConnection | undefined
    // An upgrader that refuses the connection, as a failed handshake makes libp2p's upgrader do.
    const upgrader = {
      upgradeOutbound: async (maConn: MultiaddrConnection): Promise<Connection> => {
        aborted = maConn
        maConn.abort(new Error('handshake refused'))
        throw new Error('handshake refused')
      }
    } as unknown as Upgrader
    try {
      const port = (server.address() as AddressInfo).port
      await assert.rejects(transport.dial(multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws`), { upgrader, signal: new AbortController().signal }), /handshake refused/)
      assert.equal(aborted?.status, 'aborted', 'libp2p considers the connection gone')
      // The bug: the socket under it was never asked to close (it would be CLOSING at once).
      const socket = (aborted as unknown as { websocket: WebSocket }).websocket
      assert.equal(socket.readyState, WebSocket.OPEN)
      const [serverSide] = await accepted
      const serverClosed = once(serverSide, 'close')
      socket.close()
      await serverClosed
    } finally {
      server.close()
    }
  })
})
