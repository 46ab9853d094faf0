/**
 * Scuttlebutt's npm reference: secret-handshake@1.1.21 with pull-box-stream@1.0.13 over TCP,
 * wired the way Scuttlebutt does it (stream-to-pull-stream on a `net` socket). CommonJS, so it
 * is loaded through createRequire; the types below cover only what the bench calls.
 */
import { createRequire } from 'node:module'
import net from 'node:net'
import { SSB_NETWORK_KEY, generateKeyPair } from '../../../src/index.ts'
import {
  ACK, type BenchServer, HOST, type Held, type ServerMode, type Target, type Transport, ignore, pieces, signal
} from './types.ts'

const require = createRequire(import.meta.url)

type Callback<T> = (err: unknown, value?: T) => void
type End = true | Error | null
type PullSource = (end: End, cb: (end: End, data?: Buffer) => void) => void
type PullSink = (source: PullSource) => void
interface PullDuplex { source: PullSource, sink: PullSink }
interface RefKeys { publicKey: Buffer, secretKey: Buffer }

const shs = require('secret-handshake') as {
  createServer: (keys: RefKeys, authorize: (pub: Buffer, cb: Callback<boolean>) => void, appKey: Buffer, timeout: number) => (cb: Callback<PullDuplex>) => PullDuplex
  createClient: (keys: RefKeys, appKey: Buffer, timeout: number) => (remote: Buffer, cb: Callback<PullDuplex>) => PullDuplex
}
const pull = require('pull-stream') as ((...streams: unknown[]) => unknown) & {
  drain: (op?: (data: Buffer) => unknown, done?: (end: End) => void) => PullSink
}
const toPull = require('stream-to-pull-stream') as { duplex: (socket: net.Socket) => PullDuplex }

const generated = generateKeyPair()
const keys: RefKeys = { publicKey: Buffer.from(generated.publicKey), secretKey: Buffer.from(generated.secretKey) }
const appKey = Buffer.from(SSB_NETWORK_KEY)
/** The reference's handshake timeout; generous, a bench handshake never gets near it. */
const TIMEOUT_MS = 10_000
const acceptAll = (_pub: Buffer, cb: Callback<boolean>): void => { cb(null, true) }

/** The reference's API: the raw constructors, for the in-memory handshake benchmark. */
export const referenceApi = { shs, pull, keys, appKey, timeout: TIMEOUT_MS, acceptAll }

async function serve (mode: ServerMode): Promise<BenchServer> {
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
      handle(stream, mode)
    }), wire)
  })
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
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

function handle (stream: PullDuplex, mode: ServerMode): void {
  switch (mode.kind) {
    case 'echo':
      pull(stream, stream)
      return
    case 'idle':
      pull(stream.source, pull.drain(ignore, ignore))
      return
    case 'sink': {
      const received = signal()
      let total = 0
      pull(stream.source, pull.drain((data) => {
        total += data.byteLength
        if (total >= mode.bytes) received.resolve()
      }, received.resolve))
      stream.sink(answerOnce(received.promise))
    }
  }
}

/** Yields ACK once `ready` settles, then ends when the peer ends (the reference has no half-close). */
function answerOnce (ready: Promise<void>): PullSource {
  let answered = false
  return (end, cb) => {
    if (end !== null) { cb(end); return }
    if (answered) { cb(true); return }
    answered = true
    ready.then(() => { cb(null, Buffer.from(ACK)) }, ignore)
  }
}

/** Connects and runs the client handshake; resolves with the box stream and its socket. */
function open (target: Target): Promise<{ stream: PullDuplex, socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: target.port, host: HOST, noDelay: true })
    socket.on('error', ignore)
    const createStream = shs.createClient(keys, appKey, TIMEOUT_MS)
    const handshake = createStream(Buffer.from(target.publicKey), (err, stream) => {
      if (err != null || stream === undefined) {
        socket.destroy()
        reject(err instanceof Error ? err : new Error(`reference handshake failed: ${String(err)}`))
        return
      }
      resolve({ stream, socket })
    })
    const wire = toPull.duplex(socket)
    pull(wire, handshake, wire)
  })
}

/** A pull source over `bytes` of `chunk` that ends only once `until` settles. */
function sendUntil (bytes: number, chunk: Uint8Array, until: Promise<void>): PullSource {
  const iterator = pieces(bytes, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
  return (end, cb) => {
    if (end !== null) { cb(end); return }
    const next = iterator.next()
    if (next.done !== true) { cb(null, next.value as Buffer); return }
    until.then(() => { cb(true) }, ignore)
  }
}

function closed (socket: net.Socket): Promise<void> {
  return socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => { resolve() }))
}

async function transfer (target: Target, bytes: number, chunk: Uint8Array): Promise<number> {
  const { stream, socket } = await open(target)
  const answered = signal()
  const ended = signal()
  const started = performance.now()
  let elapsed = Number.NaN
  pull(stream.source, pull.drain(() => {
    if (Number.isNaN(elapsed)) elapsed = performance.now() - started
    answered.resolve()
  }, () => { answered.resolve(); ended.resolve() }))
  stream.sink(sendUntil(bytes, chunk, answered.promise))
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

async function hold (target: Target): Promise<Held> {
  const { stream, socket } = await open(target)
  pull(stream.source, pull.drain(ignore, ignore))
  return { close: () => { socket.destroy() } }
}

export const reference: Transport = { name: 'reference', serve, transfer, connectAndClose, hold }
