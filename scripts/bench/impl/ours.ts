/** This library over TCP, through its public API (`listen`, `connect`, `SecureStream`). */
import {
  SSB_NETWORK_KEY, connect, generateKeyPair, listen, type SecureStream
} from '../../../src/index.ts'
import {
  ACK, type BenchServer, HOST, type Held, type ServerMode, type Target, type Transport, ignore, pieces, signal
} from './types.ts'

const keys = generateKeyPair()
/** Well above the clients the bench runs at once, so the listener never refuses one as a flood. */
const MAX_PENDING_HANDSHAKES = 1024

async function serve (mode: ServerMode): Promise<BenchServer> {
  let accepted = 0
  const listener = await listen({
    port: 0, keys, networkKey: SSB_NETWORK_KEY, maxPendingHandshakes: MAX_PENDING_HANDSHAKES,
    // The benchmark's clients all come from 127.0.0.1, many at once.
    maxPendingPerSource: Infinity
  }, (stream) => {
    accepted++
    handle(stream, mode)
  })
  return {
    target: { port: listener.address().port, publicKey: keys.publicKey },
    accepted: () => accepted,
    close: async () => { await listener.close() }
  }
}

function handle (stream: SecureStream, mode: ServerMode): void {
  switch (mode.kind) {
    case 'echo':
      stream.sink(stream.source).catch(ignore)
      return
    case 'idle':
      drain(stream.source).catch(ignore)
      return
    case 'sink': {
      const received = signal()
      // Answer once everything arrived, then say goodbye.
      stream.sink((async function * () {
        await received.promise
        yield ACK
      })()).catch(ignore)
      countUntil(stream.source, mode.bytes, received.resolve).catch(ignore).finally(received.resolve)
    }
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
  return await connect({ host: HOST, port: target.port, keys, remotePublicKey: target.publicKey, networkKey: SSB_NETWORK_KEY })
}

async function transfer (target: Target, bytes: number, chunk: Uint8Array): Promise<number> {
  const stream = await open(target)
  const answered = signal()
  const started = performance.now()
  // The source stays open until the answer: ending it would send goodbye mid-measurement.
  const sending = stream.sink((async function * () {
    yield * pieces(bytes, chunk)
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

async function hold (target: Target): Promise<Held> {
  const stream = await open(target)
  drain(stream.source).catch(ignore)
  return { close: () => { stream.abort() } }
}

export const ours: Transport = { name: 'ours', serve, transfer, connectAndClose, hold }
