/**
 * What libsodium alone does on this machine, the floors the bounds are computed from:
 * - seal / open: `crypto_secretbox_easy` / `_open_easy` over the same bytes in 4 KiB chunks (the
 *   box stream's packet body) into reused buffers: no allocation, no I/O, no header packets;
 *   bytes per second of this process's CPU time, so time other processes take is not counted;
 * - the crypto of one server handshake: each libsodium call SHS1 requires of one side, timed on
 *   its own, times how often one side makes it. Work an implementation adds (copies, re-checks)
 *   is not in the floor. A client makes the same calls, so a pair costs twice as much.
 */
import sodium from 'sodium-native'
import { MS_PER_SECOND, MiB, US_PER_MS, mibPerSecond } from './config.ts'

/** The box stream's largest packet body. */
const PACKET_BYTES = 4096
const MAC_BYTES = 16

function random (length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  sodium.randombytes_buf(bytes)
  return bytes
}

const key = random(32)
const nonce = random(24)
const plain = random(PACKET_BYTES)
const sealed = new Uint8Array(PACKET_BYTES + MAC_BYTES)
const opened = new Uint8Array(PACKET_BYTES)
sodium.crypto_secretbox_easy(sealed, plain, nonce, key)

/** Milliseconds of this process's CPU time that `work` takes. */
function cpuMs (work: () => void): number {
  const cpu = process.cpuUsage()
  work()
  const used = process.cpuUsage(cpu)
  return (used.user + used.system) / US_PER_MS
}

/** MiB per CPU second sealing `bytes` in packet-sized chunks. */
export function measureSeal (bytes: number): number {
  return mibPerSecond(bytes, cpuMs(() => {
    for (let done = 0; done < bytes; done += PACKET_BYTES) sodium.crypto_secretbox_easy(sealed, plain, nonce, key)
  }))
}

/** MiB per CPU second authenticating and opening `bytes` in packet-sized chunks. */
export function measureOpen (bytes: number): number {
  let valid = true
  const ms = cpuMs(() => {
    for (let done = 0; done < bytes; done += PACKET_BYTES) valid &&= sodium.crypto_secretbox_open_easy(opened, sealed, nonce, key)
  })
  if (!valid) throw new Error('secretbox_open failed on its own ciphertext')
  return mibPerSecond(bytes, ms)
}

/** The box stream's header: the body length (2 bytes) and the body's MAC, sealed apart. */
const HEADER_PLAINTEXT_BYTES = 2 + MAC_BYTES
const headerPlain = random(HEADER_PLAINTEXT_BYTES)
const headerSealed = new Uint8Array(HEADER_PLAINTEXT_BYTES + MAC_BYTES)
const headerOpened = new Uint8Array(HEADER_PLAINTEXT_BYTES)
sodium.crypto_secretbox_easy(headerSealed, headerPlain, nonce, key)

/**
 * What the protocol adds to seal and open, which their floors leave out: every packet also seals
 * (sender) and opens (receiver) its 34-byte header box. MiB of payload per CPU second spent on
 * those header boxes alone, one seal and one open per 4 KiB packet, or (`'open'`) only the
 * receiver's open; informational, not in any goal's bound.
 */
export function measureHeaderBoxes (bytes: number, sides: 'seal and open' | 'open' = 'seal and open'): number {
  const seal = sides === 'seal and open'
  let valid = true
  const ms = cpuMs(() => {
    for (let done = 0; done < bytes; done += PACKET_BYTES) {
      if (seal) sodium.crypto_secretbox_easy(headerSealed, headerPlain, nonce, key)
      valid &&= sodium.crypto_secretbox_open_easy(headerOpened, headerSealed, nonce, key)
    }
  })
  if (!valid) throw new Error('secretbox_open failed on its own header box')
  return mibPerSecond(bytes, ms)
}

/** Microseconds one 4 KiB packet spends in header boxes (seal + open) at `rate` MiB/s of payload. */
export function headerMicrosecondsPerPacket (rate: number): number {
  return PACKET_BYTES / MiB / rate * MS_PER_SECOND * US_PER_MS
}

/** [call, times per side]: per side one ephemeral key pair, three X25519 (ab, aB, Ab), one signature and
 * one verification, the hello HMAC and its check, two Ed25519 → Curve25519 conversions, six SHA-256
 * (hash of ab, two box keys, the shared secret, two session keys), one small secretbox and one open. */
function handshakeCalls (): Array<[() => void, number]> {
  const edPublic = new Uint8Array(32)
  const edSecret = new Uint8Array(64)
  sodium.crypto_sign_keypair(edPublic, edSecret)
  const curvePublic = new Uint8Array(32)
  const curveSecret = new Uint8Array(32)
  sodium.crypto_box_keypair(curvePublic, curveSecret)
  const out = new Uint8Array(32)
  const signed = random(160)
  const signature = new Uint8Array(64)
  sodium.crypto_sign_detached(signature, signed, edSecret)
  const mac = new Uint8Array(32)
  const macKey = random(32)
  sodium.crypto_auth(mac, curvePublic, macKey)
  const hashed = random(128)
  const box = random(96)
  const boxed = new Uint8Array(96 + MAC_BYTES)
  sodium.crypto_secretbox_easy(boxed, box, nonce, key)
  const unboxed = new Uint8Array(96)
  const check = (ok: boolean): void => { if (!ok) throw new Error('a libsodium check failed on valid input') }
  return [
    [() => { sodium.crypto_box_keypair(curvePublic, curveSecret) }, 1],
    [() => { sodium.crypto_scalarmult(out, curveSecret, curvePublic) }, 3],
    [() => { sodium.crypto_sign_detached(signature, signed, edSecret) }, 1],
    [() => { check(sodium.crypto_sign_verify_detached(signature, signed, edPublic)) }, 1],
    [() => { sodium.crypto_sign_ed25519_pk_to_curve25519(out, edPublic) }, 1],
    [() => { sodium.crypto_sign_ed25519_sk_to_curve25519(out, edSecret) }, 1],
    [() => { sodium.crypto_auth(mac, curvePublic, macKey) }, 1],
    [() => { check(sodium.crypto_auth_verify(mac, curvePublic, macKey)) }, 1],
    [() => { sodium.crypto_hash_sha256(out, hashed) }, 6],
    [() => { sodium.crypto_secretbox_easy(boxed, box, nonce, key) }, 1],
    [() => { check(sodium.crypto_secretbox_open_easy(unboxed, boxed, nonce, key)) }, 1]
  ]
}

/**
 * Each call runs in SLICES short slices; per slice the process's CPU time (not wall time, so
 * preemption by other processes does not count) is divided by the calls, and the cheapest slice
 * counts: other work on the machine only ever adds time.
 */
const SLICES = 10
const SLICE_MS = 2

function microsecondsPerCall (call: () => void): number {
  let best = Number.POSITIVE_INFINITY
  for (let slice = 0; slice < SLICES; slice++) {
    let calls = 0
    const cpu = process.cpuUsage()
    const started = performance.now()
    while (performance.now() - started < SLICE_MS) { call(); calls++ }
    const used = process.cpuUsage(cpu)
    best = Math.min(best, (used.user + used.system) / calls)
  }
  return best
}

/** Microseconds of libsodium work in one server handshake (half a pair). */
export function measureServerHandshakeFloor (): number {
  return handshakeCalls().reduce((sum, [call, times]) => sum + microsecondsPerCall(call) * times, 0)
}
