/**
 * A js-libp2p 3 node in one lab namespace: TCP, yamux, identify and circuit relay v2, secured by
 * `shs()` (this library) and/or noise. As `relay` it is a stock relay server (noise only);
 * as `peer` it can reserve a slot on a relay and dial through one, with an echo protocol.
 */
import { createHash, randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import type { Connection, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { type Libp2pOptions, createLibp2p } from 'libp2p'
import { shs } from '../../../src/libp2p/index.ts'
import { roleConfig, serve, within } from './serve.ts'

export interface Libp2pRoleConfig {
  readonly relay: boolean
  readonly listen: readonly string[]
  readonly encrypters: ReadonlyArray<'shs' | 'noise'>
}

export interface ConnectionSeen {
  readonly remotePeer: string
  readonly remoteAddr: string
  readonly encryption: string | undefined
  readonly multiplexer: string | undefined
  readonly limited: boolean
}

export interface EchoResult {
  readonly connection: ConnectionSeen
  readonly bytes: number
  readonly intact: boolean
}

const ECHO_PROTOCOL = '/shs-lab/echo/1.0.0'
const WAIT_MS = 15_000
const POLL_MS = 50

type Encrypter = NonNullable<Libp2pOptions['connectionEncrypters']>[number]
const ENCRYPTERS: Record<'shs' | 'noise', () => Encrypter> = { shs: () => shs(), noise: () => noise() }

const config = roleConfig<Libp2pRoleConfig>()
const node = await createLibp2p({
  addresses: { listen: [...config.listen] },
  transports: config.relay ? [tcp()] : [tcp(), circuitRelayTransport()],
  connectionEncrypters: config.encrypters.map((name) => ENCRYPTERS[name]()),
  streamMuxers: [yamux()],
  connectionMonitor: { enabled: false },
  services: { identify: identify(), ...(config.relay ? { relay: circuitRelayServer() } : {}) }
})
await node.handle(ECHO_PROTOCOL, echo, { runOnLimitedConnection: true })

function seen (connection: Connection): ConnectionSeen {
  return {
    remotePeer: connection.remotePeer.toString(),
    remoteAddr: connection.remoteAddr.toString(),
    encryption: connection.encryption,
    multiplexer: connection.multiplexer,
    limited: connection.limits !== undefined
  }
}

async function echo (stream: Stream): Promise<void> {
  try {
    for await (const chunk of stream) stream.send(chunk)
    await stream.close()
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
  }
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** Dials `address`, sends `bytes` random bytes on the echo protocol, and checks they come back. */
async function dialEcho (args: unknown): Promise<EchoResult> {
  const { address, bytes } = args as { address: string, bytes: number }
  const connection = await node.dial(multiaddr(address), { signal: AbortSignal.timeout(WAIT_MS) })
  const stream = await connection.newStream(ECHO_PROTOCOL, { runOnLimitedConnection: true, signal: AbortSignal.timeout(WAIT_MS) })
  const payload = randomBytes(bytes)
  const received: Uint8Array[] = []
  const reading = (async () => {
    for await (const chunk of stream) received.push(chunk.subarray())
  })()
  stream.send(payload)
  await stream.close()
  await within(WAIT_MS, 'the echo', reading)
  const echoed = Buffer.concat(received)
  return { connection: seen(connection), bytes: echoed.byteLength, intact: sha256(echoed) === sha256(payload) }
}

/** Waits until this node has a circuit address (its reservation on a relay is made). */
async function circuitAddresses (): Promise<string[]> {
  const started = performance.now()
  for (;;) {
    const addresses = node.getMultiaddrs().map((address) => address.toString()).filter((address) => address.includes('/p2p-circuit'))
    if (addresses.length > 0) return addresses
    if (performance.now() - started > WAIT_MS) throw new Error(`no /p2p-circuit address after ${WAIT_MS} ms; addresses: ${node.getMultiaddrs().join(', ')}`)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

serve({ peerId: node.peerId.toString(), addresses: node.getMultiaddrs().map((address) => address.toString()) }, {
  circuitAddresses,
  dialEcho,
  connections: async () => node.getConnections().map(seen)
}, async () => { await node.stop() })
