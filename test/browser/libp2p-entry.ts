/**
 * The browser libp2p test bundle: a js-libp2p node in the page with @libp2p/websockets, shs() as
 * its only connection encrypter and yamux, dialling a Node libp2p node. `shs-transport/libp2p` is
 * imported by the package's own name, so the bundler resolves it through package.json `exports`
 * with the `browser` condition, as an app's build does.
 */
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p } from '@libp2p/interface'
import { ping, type Ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { shs } from 'shs-transport/libp2p'
import { drained } from '../libp2p/drained.ts'
import { firstMismatch, payloadChunk } from './payload.ts'

export interface Libp2pEchoReport {
  /** The page node's own peer id. */
  peerId: string
  /** The remote peer id and encryption protocol of the page's connection to the Node node. */
  remotePeer: string
  encryption: string | undefined
  pingMs: number
  echoMs: number
  received: number
  /** Index of the first byte that differs from what was sent, or -1. */
  firstMismatch: number
}

export interface DialFailure {
  /** 'connected' if the dial unexpectedly succeeded. */
  outcome: 'failed' | 'connected'
  name: string
  message: string
  /** Connections the page node still holds after the failed dial. */
  connections: number
}

/** Odd-sized writes, so they never line up with yamux frames or 4096-byte box-stream packets. */
const WRITE_CHUNK_BYTES = 65_537

async function pageNode (networkKey: number[]): Promise<Libp2p<{ ping: Ping }>> {
  return await createLibp2p({
    // A page cannot accept connections: it only dials.
    addresses: { listen: [] },
    transports: [webSockets()],
    connectionEncrypters: [shs({ networkKey: Uint8Array.from(networkKey) })],
    streamMuxers: [yamux()],
    // libp2p's browser build refuses by default to dial plain ws: and private addresses (its
    // default connection gater); the Node node of this test is at ws://127.0.0.1.
    connectionGater: { denyDialMultiaddr: () => false },
    connectionMonitor: { enabled: false },
    services: { ping: ping() }
  })
}

/** Pings the node at `address`, then sends `totalBytes` on a stream of `protocol` and checks every byte echoed back. */
export async function pingAndEcho (address: string, networkKey: number[], protocol: string, totalBytes: number): Promise<Libp2pEchoReport> {
  const node = await pageNode(networkKey)
  try {
    const target = multiaddr(address)
    const pingMs = await node.services.ping.ping(target)
    const [connection] = node.getConnections()
    if (connection === undefined) throw new Error('the ping left no connection open')

    const echoStarted = performance.now()
    const stream = await node.dialProtocol(target, protocol)
    const reading = (async () => {
      let received = 0
      let mismatch = -1
      for await (const chunk of stream) {
        const bytes = chunk.subarray()
        if (mismatch === -1) mismatch = firstMismatch(bytes, received)
        received += bytes.length
      }
      return { received, mismatch }
    })()
    for (let offset = 0; offset < totalBytes; offset += WRITE_CHUNK_BYTES) {
      if (!stream.send(payloadChunk(offset, Math.min(WRITE_CHUNK_BYTES, totalBytes - offset)))) await drained(stream)
    }
    await stream.close()
    const { received, mismatch } = await reading
    return {
      peerId: node.peerId.toString(),
      remotePeer: connection.remotePeer.toString(),
      encryption: connection.encryption,
      pingMs,
      echoMs: performance.now() - echoStarted,
      received,
      firstMismatch: mismatch
    }
  } finally {
    await node.stop()
  }
}

/** Dials `address` and reports how the dial failed (or that it did not). */
export async function dialFailure (address: string, networkKey: number[]): Promise<DialFailure> {
  const node = await pageNode(networkKey)
  try {
    await node.dial(multiaddr(address))
    return { outcome: 'connected', name: '', message: '', connections: node.getConnections().length }
  } catch (err) {
    return { outcome: 'failed', name: (err as Error).name, message: (err as Error).message, connections: node.getConnections().length }
  } finally {
    await node.stop()
  }
}
