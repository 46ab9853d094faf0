/**
 * Scuttlebutt's npm reference: secret-handshake@1.1.21 with pull-box-stream@1.0.13 over TCP,
 * wired as Scuttlebutt does (stream-to-pull-stream on a `net` socket). CommonJS, loaded through
 * createRequire; the types cover only what the bench calls.
 */
import { createRequire } from 'node:module'
import net from 'node:net'
import { SSB_NETWORK_KEY, generateKeyPair } from '../../../src/index.ts'
import { HOST } from '../config.ts'
import { type BenchServer, ONE_BYTE, type ServerMode, type Target, type Transport, ignore, signal, writes } from './types.ts'

const require = createRequire(import.meta.url)

type Callback<T> = (err: unknown, value?: T) => void
type End = true | Error | null
type PullSource = (end: End, cb: (end: End, data?: Buffer) => void) => void
export interface PullDuplex { source: PullSource, sink: (source: PullSource) => void }
export interface RefKeys { publicKey: Buffer, secretKey: Buffer }

export const shs = require('secret-handshake') as {
  createServer: (keys: RefKeys, authorize: (pub: Buffer, cb: Callback<boolean>) => void, appKey: Buffer, timeout: number) => (cb: Callback<PullDuplex>) => PullDuplex
  createClient: (keys: RefKeys, appKey: Buffer, timeout: number) => (remote: Buffer, cb: Callback<PullDuplex>) => PullDuplex
}
export const pull = require('pull-stream') as ((...streams: unknown[]) => unknown) & {
  drain: (op?: (data: Buffer) => unknown, done?: (end: End) => void) => (source: PullSource) => void
}
const toPull = require('stream-to-pull-stream') as { duplex: (socket: net.Socket) => PullDuplex }

export function refKeys (): RefKeys {
  const pair = generateKeyPair()
  return { publicKey: Buffer.from(pair.publicKey), secretKey: Buffer.from(pair.secretKey) }
}

const keys = refKeys()
export const appKey = Buffer.from(SSB_NETWORK_KEY)
/** The reference's handshake timeout; a bench handshake never gets near it. */
export const TIMEOUT_MS = 10_000
export const acceptAll = (_pub: Buffer, cb: Callback<boolean>): void => { cb(null, true) }

async function serve (mode: ServerMode, host = HOST): Promise<BenchServer> {
  const createStream = shs.createServer(keys, acceptAll, appKey, TIMEOUT_MS)
  const sockets = new Set<net.Socket>()
  let accepted = 0
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', ignore)
    const wire = toPull.duplex(socket)
    pull(wire, createStream((err, stream) => {
      if (err != null || stream === undefined) return
      accepted++
      if (mode.kind === 'echo') pull(stream, stream)
      else if (mode.kind === 'idle') pull(stream.source, pull.drain(ignore, ignore))
      else {
        const received = signal()
        let total = 0
        pull(stream.source, pull.drain((data) => {
          total += data.byteLength
          if (total >= mode.bytes) received.resolve()
        }, received.resolve))
        stream.sink(answerOnce(received.promise))
      }
    }), wire)
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return {
    target: { port: (server.address() as net.AddressInfo).port, publicKey: keys.publicKey },
    accepted: () => accepted,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => { resolve() }))
      for (const socket of sockets) socket.destroy()
      await closed
    }
  }
}

/** Yields one byte once `ready` settles, then ends when the peer ends (the reference has no half-close). */
function answerOnce (ready: Promise<void>): PullSource {
  let answered = false
  return (end, cb) => {
    if (end !== null) { cb(end); return }
    if (answered) { cb(true); return }
    answered = true
    ready.then(() => { cb(null, Buffer.from(ONE_BYTE)) }, ignore)
  }
}

/** Connects (from `localAddress` if given) and runs the client handshake; resolves with the box stream and its socket. */
export async function open (target: Target, localAddress?: string): Promise<{ stream: PullDuplex, socket: net.Socket }> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect({ port: target.port, host: HOST, noDelay: true, localAddress })
    socket.on('error', ignore)
    const handshake = shs.createClient(keys, appKey, TIMEOUT_MS)(Buffer.from(target.publicKey), (err, stream) => {
      if (err == null && stream !== undefined) { resolve({ stream, socket }); return }
      socket.destroy()
      reject(err instanceof Error ? err : new Error(`reference handshake failed: ${String(err)}`))
    })
    const wire = toPull.duplex(socket)
    pull(wire, handshake, wire)
  })
}

async function closed (socket: net.Socket): Promise<void> {
  if (!socket.destroyed) await new Promise((resolve) => socket.once('close', resolve))
}

async function transfer (target: Target, bytes: number, writeBytes: number): Promise<number> {
  const { stream, socket } = await open(target)
  const answered = signal()
  const ended = signal()
  const started = performance.now()
  let elapsed = Number.NaN
  pull(stream.source, pull.drain(() => {
    if (Number.isNaN(elapsed)) elapsed = performance.now() - started
    answered.resolve()
  }, () => { answered.resolve(); ended.resolve() }))
  // A pull source over the writes that ends only after the answer.
  const pieces = writes(bytes, writeBytes)
  stream.sink((end, cb) => {
    if (end !== null) { cb(end); return }
    const next = pieces.next()
    if (next.done !== true) cb(null, next.value)
    else answered.promise.then(() => { cb(true) }, ignore)
  })
  await answered.promise
  // Our goodbye ends the socket; without half-close the server's side then goes down too.
  await Promise.race([ended.promise, closed(socket)])
  socket.destroy()
  if (Number.isNaN(elapsed)) throw new Error('reference: the sink closed without answering')
  return elapsed
}

async function connectAndClose (target: Target): Promise<void> {
  const { stream, socket } = await open(target)
  const ended = signal()
  pull(stream.source, pull.drain(ignore, ended.resolve))
  stream.sink((end, cb) => { cb(end ?? true) })
  await Promise.race([ended.promise, closed(socket)])
  socket.destroy()
}

async function hold (target: Target): Promise<() => void> {
  const { stream, socket } = await open(target)
  pull(stream.source, pull.drain(ignore, ignore))
  return () => { socket.destroy() }
}

export const reference: Transport = { serve, transfer, connectAndClose, hold }
