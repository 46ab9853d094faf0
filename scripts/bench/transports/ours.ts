/**
 * This library over TCP, through its public API only (`listen`, `connect`, `SecureStream`): plain
 * SHS1, and with the rekey extension taking fresh keys every 64 MiB each way.
 */
import { pushable } from 'it-pushable'
import { SSB_NETWORK_KEY as networkKey, type RekeyOption, type SecureStream, connect, generateKeyPair, listen } from '../../../src/index.ts'
import { HOST, MiB } from '../config.ts'
import { type BenchServer, ONE_BYTE, type ServerMode, type Target, type Transport, ignore, signal, writes } from './types.ts'

const keys = generateKeyPair()
/** The extension's bench setting: a rekey every 64 MiB sent, required on both ends. */
export const BENCH_REKEY: RekeyOption = { mode: 'require', afterBytes: 64 * MiB }
/** Above the clients the bench runs at once, so the listener never refuses one as a flood. */
const MAX_PENDING_HANDSHAKES = 1024

async function serve (rekey: RekeyOption, mode: ServerMode, host = HOST): Promise<BenchServer> {
  let accepted = 0
  const listener = await listen({
    host, port: 0, keys, networkKey, rekey, maxPendingHandshakes: MAX_PENDING_HANDSHAKES,
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

type Open = (target: Target) => Promise<SecureStream>

async function transfer (open: Open, target: Target, bytes: number, writeBytes: number): Promise<number> {
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

async function connectAndClose (open: Open, target: Target): Promise<void> {
  const stream = await open(target)
  // Goodbye from us, then the echo server's goodbye ends our source: both directions closed.
  await Promise.all([stream.sink([]), drain(stream.source)])
}

async function hold (open: Open, target: Target): Promise<() => void> {
  const stream = await open(target)
  drain(stream.source).catch(ignore)
  return () => { stream.abort() }
}

async function roundTrip (open: Open, target: Target, count: number): Promise<number> {
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

function makeOurs (rekey: RekeyOption): Transport {
  const open: Open = async (target) => await connect({ host: HOST, port: target.port, keys, remotePublicKey: target.publicKey, networkKey, rekey })
  return {
    serve: async (mode, host) => await serve(rekey, mode, host),
    transfer: async (target, bytes, writeBytes) => await transfer(open, target, bytes, writeBytes),
    connectAndClose: async (target) => { await connectAndClose(open, target) },
    hold: async (target) => await hold(open, target),
    roundTrip: async (target, count) => await roundTrip(open, target, count)
  }
}

export const ours = makeOurs(undefined)
export const oursRekeying = makeOurs(BENCH_REKEY)
