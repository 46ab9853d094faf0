/** Shared fixtures for the libp2p tests: nodes, an echo protocol, a tampering TCP proxy, counters. */
import { once } from 'node:events'
import net from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { ComponentLogger, Counter, Libp2p, Logger, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { type Libp2pOptions, createLibp2p } from 'libp2p'
import { shs } from '../../src/libp2p/index.ts'
import { drained } from './drained.ts'

export { drained }

export const ECHO_PROTOCOL = '/shs-test/echo/1.0.0'
/** Where a node listens, per transport: loopback only, any free port. */
const LOOPBACK_LISTEN = { tcp: '/ip4/127.0.0.1/tcp/0', webSockets: '/ip4/127.0.0.1/tcp/0/ws' } as const

export type Encrypter = NonNullable<Libp2pOptions['connectionEncrypters']>[number]
export type TestNode = Libp2p<{ ping: Ping }>

export interface NodeOptions {
  encrypters: Encrypter[]
  privateKey?: PrivateKey
  /** Listen on loopback (default); dialling-only nodes can skip it. */
  listen?: boolean
  /** Plain TCP (default) or WebSockets, which is what a browser node can dial. */
  transport?: keyof typeof LOOPBACK_LISTEN
  /** libp2p's component logger (default: libp2p's own). */
  logger?: ComponentLogger
}

/** A TCP (or WebSockets) + yamux node with ping and an echo protocol, started, with no background dials or pings. */
export async function createNode (options: NodeOptions): Promise<TestNode> {
  const transport = options.transport ?? 'tcp'
  const node = await createLibp2p({
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    addresses: { listen: options.listen === false ? [] : [LOOPBACK_LISTEN[transport]] },
    transports: [transport === 'tcp' ? tcp() : webSockets()],
    connectionEncrypters: options.encrypters,
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { ping: ping() }
  })
  await node.handle(ECHO_PROTOCOL, echoHandler)
  return node
}

/**
 * Sends back everything it reads, then half-closes. Written here rather than taken from
 * @libp2p/utils because that `echo()` pauses the stream while waiting for drain, and the stream's
 * async iterator (@libp2p/utils 7.4) ends at the remote's close even with paused data unread
 * (asserted in test/libp2p/upstream.test.ts, which fails once upstream fixes it).
 */
async function echoHandler (stream: Stream): Promise<void> {
  try {
    for await (const chunk of stream) {
      if (!stream.send(chunk)) await drained(stream)
    }
    await stream.close()
  } catch (err) {
    stream.abort(err as Error)
  }
}

/** shs() with a given network key, typed for libp2p's component bag. */
export function shsWith (networkKey?: Uint8Array): Encrypter {
  return shs(networkKey === undefined ? {} : { networkKey })
}

export function noiseEncrypter (): Encrypter {
  return noise()
}

/** The node's first listen address, which ends in /p2p/<its peer id>. */
export function addressOf (node: Libp2p): Multiaddr {
  const address = node.getMultiaddrs()[0]
  if (address === undefined) throw new Error('the node is not listening')
  return address
}

/** The same address without its /p2p/<peer id> part. */
export function withoutPeerId (address: Multiaddr): Multiaddr {
  return multiaddr(address.toString().replace(/\/p2p\/[^/]+$/, ''))
}

/**
 * Sends `data` on a stream in `chunkSize` pieces, honouring backpressure, then half-closes; reads
 * everything that comes back at the same time. Resolves with what was read, and how reading ended.
 */
export async function exchange (stream: Stream, data: Uint8Array, chunkSize: number): Promise<{ received: Uint8Array, readError: Error | undefined }> {
  const reading = (async () => {
    const chunks: Uint8Array[] = []
    let readError: Error | undefined
    try {
      for await (const chunk of stream) chunks.push(chunk.subarray())
    } catch (err) {
      readError = err as Error
    }
    return { received: Buffer.concat(chunks), readError }
  })()
  try {
    for (let offset = 0; offset < data.byteLength; offset += chunkSize) {
      if (!stream.send(data.subarray(offset, offset + chunkSize))) await drained(stream)
    }
    await stream.close()
  } catch (err) {
    // The connection went away under the writer (the tampering test wants exactly that); the
    // reader's outcome is what the caller checks.
    stream.abort(err as Error)
  }
  return await reading
}

export interface CountingCounter extends Counter {
  value: number
}

/** Just enough of libp2p's Metrics for shs: counters that remember their value, by name. */
export class CountingMetrics {
  readonly counters = new Map<string, CountingCounter>()

  registerCounter = (name: string): CountingCounter => {
    const counter: CountingCounter = {
      value: 0,
      increment (value = 1) { counter.value += value },
      reset () { counter.value = 0 }
    }
    this.counters.set(name, counter)
    return counter
  }

  value (name: string): number {
    const counter = this.counters.get(name)
    if (counter === undefined) throw new Error(`no counter named ${name} was registered`)
    return counter.value
  }
}

/**
 * A TCP proxy that flips one bit of the client→server byte stream at `tamperAt` (counted from
 * the first byte the client sends; Infinity: never). Everything else passes through unchanged,
 * until `stalled` is set: from then on the client's bytes are dropped, a peer gone silent.
 */
export class TamperingProxy {
  readonly #server: net.Server
  readonly #sockets = new Set<net.Socket>()
  tampered = false
  stalled = false

  private constructor (server: net.Server) {
    this.#server = server
  }

  static async start (target: { host: string, port: number }, tamperAt: number): Promise<TamperingProxy> {
    const server = net.createServer()
    const proxy = new TamperingProxy(server)
    server.on('connection', (client) => { proxy.#relay(client, target, tamperAt) })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return proxy
  }

  /** The proxy's address, dialled as the target peer. */
  addressFor (peer: PeerId): Multiaddr {
    const address = this.#server.address()
    if (address === null || typeof address === 'string') throw new Error('the proxy is not listening on TCP')
    return multiaddr(`/ip4/127.0.0.1/tcp/${address.port}/p2p/${peer.toString()}`)
  }

  async stop (): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    this.#server.close()
    await once(this.#server, 'close')
  }

  #relay (client: net.Socket, target: { host: string, port: number }, tamperAt: number): void {
    const upstream = net.connect(target.port, target.host)
    this.#sockets.add(client)
    this.#sockets.add(upstream)
    let forwarded = 0
    client.on('data', (chunk: Buffer) => {
      if (this.stalled) return
      const end = forwarded + chunk.byteLength
      if (!this.tampered && tamperAt >= forwarded && tamperAt < end) {
        const copy = Buffer.from(chunk)
        copy[tamperAt - forwarded] = (copy[tamperAt - forwarded] as number) ^ 0x01
        this.tampered = true
        chunk = copy
      }
      forwarded = end
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => { client.write(chunk) })
    const closeBoth = (): void => { client.destroy(); upstream.destroy() }
    client.on('close', closeBoth)
    upstream.on('close', closeBoth)
    client.on('error', closeBoth)
    upstream.on('error', closeBoth)
  }
}

/** Resolves once `node` has no open connection to `peer`. */
export async function waitUntilDisconnected (node: Libp2p, peer: PeerId): Promise<void> {
  while (node.getConnections(peer).some((connection) => connection.status === 'open')) {
    await once(node, 'connection:close')
  }
}

/** Host and port of a node's TCP listener. */
export function tcpTarget (node: Libp2p): { host: string, port: number } {
  const components = addressOf(node).getComponents()
  const host = components.find((component) => component.name === 'ip4')?.value
  const port = components.find((component) => component.name === 'tcp')?.value
  if (host === undefined || port === undefined) throw new Error('the node has no TCP address')
  return { host, port: Number(port) }
}

/** A component logger that drops everything but remembers what was logged at error level, and by whom. */
export function errorRecordingLogger (): { logger: ComponentLogger, errors: Array<{ name: string, text: string }> } {
  const errors: Array<{ name: string, text: string }> = []
  const make = (name: string): Logger => {
    const log = Object.assign((): void => {}, {
      enabled: false,
      error: (formatter: unknown, ...args: unknown[]): void => {
        errors.push({ name, text: [formatter, ...args].map((part) => part instanceof Error ? part.message : String(part)).join(' ') })
      },
      trace: (): void => {},
      newScope: (scope: string): Logger => make(`${name}:${scope}`)
    })
    return log
  }
  return { logger: { forComponent: make }, errors }
}
