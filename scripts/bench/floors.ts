/**
 * The floors: what libsodium alone and raw TCP alone do on this machine, and the best a box
 * stream could reach from them.
 *
 * - seal / open: `crypto_secretbox_easy` / `crypto_secretbox_open_easy` over the same bytes in
 *   4 KiB chunks (the box stream's packet body), output buffers reused: no allocation, no I/O.
 * - one-thread floor = 1 / (1/seal + 1/open): one thread seals and opens every byte (issue 5's
 *   definition). Shown beside it, not used by any goal: the same with the thread also moving the
 *   bytes through loopback TCP, the most a one-process box stream could reach on this machine.
 * - two-process floor = min(seal, open, TCP between two processes): each process does one side,
 *   so the slowest stage sets the pace.
 * Raw TCP is measured by throughput.ts in the same interleaved loop (impl/tcp.ts).
 */
import sodium from 'sodium-native'
import type { Results } from './model.ts'
import { mibPerSecond } from './rig.ts'
import { summarize } from './stats.ts'

/** The box stream's largest packet body. */
export const PACKET_BYTES = 4096
const KEY_BYTES = 32
const NONCE_BYTES = 24
const MAC_BYTES = 16

export const FLOORS_SECTION = 'Floors (libsodium alone, raw TCP alone)'

function randomBytes (length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  sodium.randombytes_buf(bytes)
  return bytes
}

const key = randomBytes(KEY_BYTES)
const nonce = randomBytes(NONCE_BYTES)
const plaintext = randomBytes(PACKET_BYTES)
const sealed = new Uint8Array(PACKET_BYTES + MAC_BYTES)
const opened = new Uint8Array(PACKET_BYTES)
sodium.crypto_secretbox_easy(sealed, plaintext, nonce, key)

/** Seals `bytes` in 4 KiB chunks into one reused output buffer; MiB/s. */
export function measureSeal (bytes: number): number {
  const packets = Math.ceil(bytes / PACKET_BYTES)
  const started = performance.now()
  for (let packet = 0; packet < packets; packet++) sodium.crypto_secretbox_easy(sealed, plaintext, nonce, key)
  return mibPerSecond(bytes, performance.now() - started)
}

/** Opens (authenticates and decrypts) `bytes` in 4 KiB chunks into one reused output buffer; MiB/s. */
export function measureOpen (bytes: number): number {
  const packets = Math.ceil(bytes / PACKET_BYTES)
  let valid = true
  const started = performance.now()
  for (let packet = 0; packet < packets; packet++) valid &&= sodium.crypto_secretbox_open_easy(opened, sealed, nonce, key)
  const elapsed = performance.now() - started
  if (!valid) throw new Error('secretbox_open failed on its own ciphertext')
  return mibPerSecond(bytes, elapsed)
}

/** Adds the derived floors, run by run, from the seal, open and TCP samples already in `results`. */
export function deriveFloors (results: Results): void {
  const seal = results.metrics.get('floors.seal')?.samples ?? []
  const open = results.metrics.get('floors.open')?.samples ?? []
  const tcpTwo = results.metrics.get('floors.tcp.two')?.samples ?? []
  const oneThread = seal.map((rate, run) => 1 / (1 / rate + 1 / (open[run] ?? Number.NaN)))
  const tcpOne = results.metrics.get('floors.tcp.one')?.samples ?? []
  const oneThreadWithTcp = seal.map((rate, run) => 1 / (1 / rate + 1 / (open[run] ?? Number.NaN) + 1 / (tcpOne[run] ?? Number.NaN)))
  const twoProcess = seal.map((rate, run) => Math.min(rate, open[run] ?? Number.NaN, tcpTwo[run] ?? Number.NaN))
  results.add({
    id: 'floors.one', section: FLOORS_SECTION, label: 'one-thread floor = 1 / (1/seal + 1/open)',
    unit: 'MiB/s', samples: oneThread, summary: summarize(oneThread), better: 'higher'
  })
  results.add({
    id: 'floors.oneWithTcp', section: FLOORS_SECTION, label: 'one thread, TCP included = 1 / (1/seal + 1/open + 1/TCP one process)',
    unit: 'MiB/s', samples: oneThreadWithTcp, summary: summarize(oneThreadWithTcp), better: 'higher'
  })
  results.add({
    id: 'floors.two', section: FLOORS_SECTION, label: 'two-process floor = min(seal, open, TCP two processes)',
    unit: 'MiB/s', samples: twoProcess, summary: summarize(twoProcess), better: 'higher'
  })
}
