/**
 * Live peers built from Scuttlebutt's reference packages (secret-handshake@1.1.21 with
 * pull-box-stream@1.0.13, wired to TCP the usual way), for interop tests.
 */
import { createRequire } from 'node:module'
import net from 'node:net'
import type { KeyPair } from '../../src/index.ts'
import { concat } from './bytes.ts'

const require = createRequire(import.meta.url)

type Callback<T> = (err: unknown, value?: T) => void
type PullSource = (end: unknown, cb: (end: unknown, data?: Buffer) => void) => void
interface PullDuplex { source: PullSource, sink: (source: PullSource) => void }
interface ReferenceStream extends PullDuplex { remote: Buffer }

const shs = require('secret-handshake') as {
  createServer: (keys: RefKeys, authorize: (pub: Buffer, cb: Callback<boolean>) => void, appKey: Buffer, timeout: number) => (cb: Callback<ReferenceStream>) => PullDuplex
  createClient: (keys: RefKeys, appKey: Buffer, timeout: number) => (remote: Buffer, cb: Callback<ReferenceStream>) => PullDuplex
}
const pull = require('pull-stream') as (...streams: unknown[]) => unknown
const collectValues = (require('pull-stream') as { collect: (cb: Callback<Buffer[]>) => unknown }).collect
const toPull = require('stream-to-pull-stream') as { duplex: (socket: net.Socket) => PullDuplex }

interface RefKeys { publicKey: Buffer, secretKey: Buffer }
const refKeys = (keys: KeyPair): RefKeys => ({ publicKey: Buffer.from(keys.publicKey), secretKey: Buffer.from(keys.secretKey) })

const REFERENCE_TIMEOUT_MS = 10_000

/**
 * A source of `chunks` that stays open until `holdUntil` settles: the reference has no real
 * half-close, so ending its sink early could cut what is still arriving.
 */
function holdOpenSource (chunks: Uint8Array[], holdUntil: Promise<unknown>): PullSource {
  let index = 0
  return (end, cb) => {
    if (end != null && end !== false) { cb(end); return }
    if (index < chunks.length) { cb(null, Buffer.from(chunks[index++] as Uint8Array)); return }
    holdUntil.then(() => { cb(true) }, () => { cb(true) })
  }
}

/** Everything `source` yields until it ends; `onProgress` hears the running byte count. */
function collect (source: PullSource, onProgress: (bytes: number) => void = () => {}): Promise<Uint8Array> {
  let total = 0
  const counted: PullSource = (end, cb) => {
    source(end, (done, data) => {
      if (data !== undefined) {
        total += data.byteLength
        onProgress(total)
      }
      cb(done, data)
    })
  }
  return new Promise((resolve, reject) => {
    pull(counted, collectValues((err, values) => {
      if (err != null && err !== true) reject(err instanceof Error ? err : new Error(String(err)))
      else resolve(concat(values ?? []))
    }))
  })
}

export interface ReferenceServer {
  port: number
  /** One entry per accepted connection: the client's key and what the client sent. */
  readonly sessions: Array<Promise<{ remote: Uint8Array, received: Uint8Array }>>
  close: () => Promise<void>
}

/**
 * A reference server. Mode `echo` pipes the stream back; mode `send` sends `reply` while
 * collecting what the client sends, both at once.
 */
export async function startReferenceServer (keys: KeyPair, networkKey: Uint8Array, mode: { echo: true } | { reply: Uint8Array[] }, authorize = true): Promise<ReferenceServer> {
  const createStream = shs.createServer(refKeys(keys), (_pub, cb) => { cb(null, authorize) }, Buffer.from(networkKey), REFERENCE_TIMEOUT_MS)
  const sessions: ReferenceServer['sessions'] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    sessions.push(new Promise((resolve, reject) => {
      const handshake = createStream((err, stream) => {
        if (err != null || stream === undefined) { reject(err instanceof Error ? err : new Error(String(err))); return }
        if ('echo' in mode) {
          pull(stream, stream)
          resolve({ remote: new Uint8Array(stream.remote), received: new Uint8Array(0) })
          return
        }
        const received = collect(stream.source)
        stream.sink(holdOpenSource(mode.reply, received))
        received.then((bytes) => { resolve({ remote: new Uint8Array(stream.remote), received: bytes }) }, reject)
      })
      const wire = toPull.duplex(socket)
      pull(wire, handshake, wire)
    }))
    sessions.at(-1)?.catch(() => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    sessions,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

/** A reference client that sends `chunks` while collecting what the server sends, both at once. */
export function referenceClient (keys: KeyPair, networkKey: Uint8Array, serverKey: Uint8Array, port: number, chunks: Uint8Array[], expectedBytes: number): Promise<{ remote: Uint8Array, received: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    const createStream = shs.createClient(refKeys(keys), Buffer.from(networkKey), REFERENCE_TIMEOUT_MS)
    const handshake = createStream(Buffer.from(serverKey), (err, stream) => {
      if (err != null || stream === undefined) { socket.destroy(); reject(err instanceof Error ? err : new Error(String(err))); return }
      let resolveAll: () => void = () => {}
      const allArrived = new Promise<void>((resolve) => { resolveAll = resolve })
      if (expectedBytes === 0) resolveAll()
      const received = collect(stream.source, (total) => { if (total >= expectedBytes) resolveAll() })
      stream.sink(holdOpenSource(chunks, allArrived))
      received.then((bytes) => {
        resolveAll()
        if (bytes.byteLength < expectedBytes) reject(new Error(`reference client got ${bytes.byteLength} of ${expectedBytes} bytes`))
        else resolve({ remote: new Uint8Array(stream.remote), received: bytes })
      }, (e: unknown) => { resolveAll(); reject(e) })
    })
    const wire = toPull.duplex(socket)
    pull(wire, handshake, wire)
  })
}
