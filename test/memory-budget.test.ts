/**
 * The memory budget of a peer that sends and never gets read (docs/HOSTILE-LOAD.md, "Memory per
 * peer"): the app reads nothing, the peer writes as fast as it is let. The read queue fills to
 * READ_QUEUE_HIGH_WATER_MARK, the socket is paused, and the peer's writes stop being taken; what
 * the process holds then is the queue plus one read's worth of buffers, on TCP and on WebSocket.
 * The peers are hand-rolled (they seal by hand and read nothing), so what is measured is the
 * server's side, plus the one write the peer has not got rid of.
 */
import assert from 'node:assert/strict'
import { SSB_NETWORK_KEY, type SecureStream, type SessionKeys, generateKeyPair, listen, listenWebSocket } from '../src/index.ts'
import { READ_QUEUE_HIGH_WATER_MARK } from '../src/driver/secure-stream.ts'
import { MAX_MESSAGE_BYTES } from '../src/ws/node-socket.ts'
import { collectGarbage } from './adversarial/fixture.ts'
import { BOX_MAX_BODY, craftPacket, drain, handRolledClient } from './helpers/adversary.ts'
import { useLeakChecks, waitFor } from './helpers/resources.ts'
import { handRolledWebSocketClient } from './helpers/ws-peer.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const networkKey = SSB_NETWORK_KEY
const KiB = 1024
/** One write of the peer: 16 full packets. */
const PACKETS_PER_WRITE = 16
/** The most the peer tries to send: far past any bound, so a missing backpressure shows. */
const FLOOD_LIMIT_BYTES = 64 * 1024 * KiB
/** A write the server has not taken for this long counts as held back (only ends the flood early). */
const STALL_MS = 300
/** A socket read's worth (Node reads 64 KiB at a time), which may land past the high-water mark. */
const READ_CHUNK_BYTES = 64 * KiB

/**
 * Collections until the external memory settles: an ArrayBuffer freed in one collection is
 * released by a callback that runs after it, so one collection alone can still count garbage.
 */
async function settleGarbage (): Promise<void> {
  for (let i = 0; i < 3; i++) {
    collectGarbage()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/**
 * The bounds, from the code's buffer limits: the read queue, the read that crossed it and the
 * socket's own read buffer, the packet being assembled, and the peer's pending write; over
 * WebSocket also the one message ws assembles (at most MAX_MESSAGE_BYTES).
 */
/** What the peer had not got rid of when it hung up: its pending write. */
const UNSENT_AT_ABORT = PACKETS_PER_WRITE * BOX_MAX_BODY
const TCP_BUDGET = READ_QUEUE_HIGH_WATER_MARK + 4 * READ_CHUNK_BYTES
const WS_BUDGET = TCP_BUDGET + MAX_MESSAGE_BYTES

interface Peer { session: SessionKeys, send: (bytes: Uint8Array) => Promise<void>, destroy: () => void }

describe('memory per peer that sends and is never read: the read queue\'s bound, then backpressure', function () {
  this.timeout(60_000)
  const onCleanup = useLeakChecks()

  /** Writes sealed packets through `send` until one is not taken within STALL_MS; returns the plaintext pushed. */
  async function flood (session: SessionKeys, send: (bytes: Uint8Array) => Promise<void>): Promise<number> {
    const body = new Uint8Array(BOX_MAX_BODY).fill(7)
    let index = 0
    let pushed = 0
    while (pushed < FLOOD_LIMIT_BYTES) {
      const packets: Uint8Array[] = []
      for (let i = 0; i < PACKETS_PER_WRITE; i++) packets.push(craftPacket(session, index++, body))
      const taken = await Promise.race([send(Buffer.concat(packets)).then(() => true, () => false),
        new Promise<false>((resolve) => setTimeout(() => { resolve(false) }, STALL_MS))])
      if (!taken) break
      pushed += PACKETS_PER_WRITE * BOX_MAX_BODY
    }
    return pushed
  }

  async function measure (serve: (onStream: (stream: SecureStream) => void) => Promise<{ port: number, close: () => Promise<void> }>,
    connectPeer: (port: number) => Promise<Peer>): Promise<{ held: number, pushed: number, delivered: number }> {
    const streams: SecureStream[] = []
    const server = await serve((stream) => { streams.push(stream) })
    onCleanup(async () => { await server.close() })
    const peer = await connectPeer(server.port)
    onCleanup(() => { peer.destroy() })
    await waitFor(() => streams.length === 1, 'the stream', 10_000)
    collectGarbage()
    const before = process.memoryUsage().arrayBuffers
    const pushed = await flood(peer.session, peer.send)
    await settleGarbage()
    const held = process.memoryUsage().arrayBuffers - before
    // Held back, not dropped: the app reads every byte once it starts reading.
    const reading = drain((streams[0] as SecureStream).source)
    peer.destroy()
    const { delivered } = await reading
    return { held, pushed, delivered: delivered.byteLength }
  }

  it(`TCP (listen): held back at the read queue, at most ${TCP_BUDGET / KiB} KiB held`, async () => {
    const { held, pushed, delivered } = await measure(async (onStream) => {
      const listener = await listen({ port: 0, keys: serverKeys, networkKey }, onStream)
      return { port: listener.address().port, close: listener.close }
    }, async (port) => {
      const { peer, session } = await handRolledClient(port, { keys: clientKeys, networkKey, serverKey: serverKeys.publicKey })
      // The peer reads nothing.
      peer.socket.pause()
      const send = async (bytes: Uint8Array): Promise<void> => { await new Promise<void>((resolve) => peer.socket.write(bytes, () => { resolve() })) }
      return { session, send, destroy: () => { peer.destroy() } }
    })
    assert.ok(pushed < FLOOD_LIMIT_BYTES, `the peer was held back (it pushed ${pushed} bytes)`)
    assert.ok(held <= TCP_BUDGET, `${(held / KiB).toFixed(0)} KiB held, over the budget of ${TCP_BUDGET / KiB} KiB`)
    assert.ok(delivered >= pushed - UNSENT_AT_ABORT, `${delivered} of ${pushed} bytes delivered`)
  })

  it(`WebSocket (listenWebSocket): held back at the read queue, at most ${WS_BUDGET / KiB} KiB held`, async () => {
    const { held, pushed, delivered } = await measure(async (onStream) => {
      const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey }, onStream)
      return { port: listener.address().port, close: listener.close }
    }, async (port) => {
      const peer = await handRolledWebSocketClient(`ws://127.0.0.1:${port}`, clientKeys, serverKeys.publicKey)
      // The peer reads nothing.
      peer.socket.pause()
      return { session: peer.session, send: peer.send, destroy: () => { peer.socket.terminate() } }
    })
    assert.ok(pushed < FLOOD_LIMIT_BYTES, `the peer was held back (it pushed ${pushed} bytes)`)
    assert.ok(held <= WS_BUDGET, `${(held / KiB).toFixed(0)} KiB held, over the budget of ${WS_BUDGET / KiB} KiB`)
    assert.ok(delivered >= pushed - UNSENT_AT_ABORT, `${delivered} of ${pushed} bytes delivered`)
  })
})
