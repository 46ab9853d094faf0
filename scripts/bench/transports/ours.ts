/** This library over TCP, through its public API only (`listen`, `connect`, `SecureStream`). */
import { pushable } from 'it-pushable'
import { SSB_NETWORK_KEY as networkKey, type SecureStream, connect, generateKeyPair, listen } from '../../../src/index.ts'
import { HOST } from '../config.ts'
import { type BenchServer, ONE_BYTE, type ServerMode, type Target, type Transport, ignore, signal, writes } from './types.ts'

const keys = generateKeyPair()
/** Above the clients the bench runs at once, so the listener never refuses one as a flood. */
const MAX_PENDING_HANDSHAKES = 1024

async function serve (mode: ServerMode, host = HOST): Promise<BenchServer> {
  let accepted = 0
  const listener = await listen({
    host, port: 0, keys, networkKey, maxPendingHandshakes: MAX_PENDING_HANDSHAKES,
    // Every bench client comes from 127.0.0.1, many at once: no per-source cap, no random drop.
    maxPendingPerSource: Infinity, earlyDropFrom: MAX_PENDING_HANDSHAKES
  }, (stream) => {
    accepted++
    if (mode.kind === 'echo') stream.sink(stream.source).catch(ignore)
    else if (mode.kind === 'idle') drain(stream.source).catch(ignore)
    else {
      const received = signal()
      // Answer once everything arrived; end (goodbye) when the client does.
      stream.sink((async function * () { await received.promise; yield ONE_BYTE })()).catch(ignore)
      countUntil(stream.source, mode.bytes, received.resolve).catch(ignore).finally(received.resolve)
    }
  })
  return {
    target: { port: listener.address().port, publicKey: keys.publicKey },
    accepted: () => accepted,
    close: async () => { await listener.close() }
  }
}

async function countUntil (source: AsyncIterable<Uint8Array>, bytes: number, onAll: () => void): Promise<void> {
  let total = 0
  for await (const chunk of source) {
    total += chunk.byteLength
    if (total >= bytes) onAll()
  }
}

async function drain (source: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of source) void chunk
}

async function open (target: Target): Promise<SecureStream> {
  return await connect({ host: HOST, port: target.port, keys, remotePublicKey: target.publicKey, networkKey })
}

async function transfer (target: Target, bytes: number, writeBytes: number): Promise<number> {
  const stream = await open(target)
  const answered = signal()
  const started = performance.now()
  // The source stays open until the answer: ending it would send goodbye mid-measurement.
  const sending = stream.sink((async function * () {
    yield * writes(bytes, writeBytes)
    await answered.promise
  })())
  let elapsed = Number.NaN
  try {
    for await (const chunk of stream.source) {
      if (chunk.byteLength > 0 && Number.isNaN(elapsed)) {
        elapsed = performance.now() - started
        answered.resolve()
      }
    }
  } finally {
    answered.resolve()
  }
  await sending
  if (Number.isNaN(elapsed)) throw new Error('ours: the sink closed without answering')
  return elapsed
}

async function connectAndClose (target: Target): Promise<void> {
  const stream = await open(target)
  // Goodbye from us, then the echo server's goodbye ends our source: both directions closed.
  await Promise.all([stream.sink([]), drain(stream.source)])
}

async function hold (target: Target): Promise<() => void> {
  const stream = await open(target)
  drain(stream.source).catch(ignore)
  return () => { stream.abort() }
}

async function roundTrip (target: Target, count: number): Promise<number> {
  const stream = await open(target)
  const outbox = pushable<Uint8Array>()
  const sending = stream.sink(outbox)
  const replies = stream.source[Symbol.asyncIterator]()
  const started = performance.now()
  for (let trip = 0; trip < count; trip++) {
    outbox.push(ONE_BYTE)
    if ((await replies.next()).done === true) throw new Error('ours: the echo server hung up')
  }
  const elapsed = performance.now() - started
  outbox.end()
  await sending
  // The echo server's goodbye follows ours and ends the source.
  let rest = await replies.next()
  while (rest.done !== true) rest = await replies.next()
  return elapsed / count
}

export const ours: Transport = { serve, transfer, connectAndClose, hold, roundTrip }
