/**
 * Box stream: valid streams from our encoder, mutated and cut anywhere, and validly sealed
 * headers with arbitrary contents. Only `BoxStreamError` may escape, the decoder never holds
 * more than one packet, and what it delivers is always a prefix of what was sealed.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import sodium from 'sodium-native'
import { BoxStreamDecoder, BoxStreamEncoder, BoxStreamError, HEADER_BYTES, MAX_BODY_BYTES, type ShsErrorCode } from '../../src/index.ts'
import { concatBytes } from '../../src/crypto/primitives.ts'
import { type FuzzTarget, KEY_BYTES, cuts, equalBytes, filler, fillerBytes, fragment, mutate, mutations, runProperty } from './common.ts'

/** The most a decoder may hold back: one whole packet (docs/PROTOCOL.md, "Box stream"). */
const MAX_BUFFERED_BYTES = HEADER_BYTES + MAX_BODY_BYTES
const HEADER_PLAINTEXT_BYTES = 18
const NONCE_BYTES = 24

/** Any key but the all-zero one, which the codecs refuse as a wiped key (tested in connection.test.ts). */
const key = fc.uint8Array({ minLength: KEY_BYTES, maxLength: KEY_BYTES }).filter((k) => k.some((b) => b !== 0))
/** Random nonces, and nonces a few steps from 2^192, whose counter wraps inside the stream. */
const nonce = fc.oneof(
  fc.uint8Array({ minLength: NONCE_BYTES, maxLength: NONCE_BYTES }),
  fc.nat({ max: 16 }).map((k) => { const n = new Uint8Array(NONCE_BYTES).fill(0xff); n[NONCE_BYTES - 1] = 0xff - k; return n })
)
/** Up to four writes of up to 6000 bytes: up to six packets, with every boundary case in reach. */
const writes = fc.array(fc.oneof(filler(6000), fc.constantFrom(4095, 4096, 4097, 1).map((n) => fillerBytes(n, n))), { maxLength: 4 })

function sealStream (k: Uint8Array, n: Uint8Array, plaintexts: readonly Uint8Array[], goodbye: boolean): Uint8Array {
  const encoder = new BoxStreamEncoder(k, n)
  return concatBytes(...[...plaintexts.map((p) => encoder.encode(p)), ...(goodbye ? [encoder.goodbye()] : [])])
}

interface Decoded {
  delivered: Uint8Array
  error: BoxStreamError | undefined
  ended: boolean
  maxBuffered: number
  finalBuffered: number
}

/**
 * Feeds `pieces` to a fresh decoder the way an adapter does (stop at the first failure, call
 * `finish()` at the end), checking on the way that only BoxStreamErrors escape, that the buffer
 * stays within one packet, and that a failure is final.
 */
function decode (k: Uint8Array, n: Uint8Array, pieces: readonly Uint8Array[]): Decoded {
  const decoder = new BoxStreamDecoder(k, n)
  const delivered: Uint8Array[] = []
  let error: BoxStreamError | undefined
  let maxBuffered = 0
  const typed = (err: unknown): BoxStreamError => {
    assert.ok(err instanceof BoxStreamError, `the decoder threw something other than a BoxStreamError: ${String(err)}`)
    return err
  }
  for (const piece of pieces) {
    try {
      delivered.push(...decoder.push(piece))
    } catch (err) {
      error = typed(err)
      break
    }
    maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes)
    if (decoder.error !== undefined) {
      error = decoder.error
      break
    }
  }
  if (error === undefined) {
    try {
      decoder.finish()
    } catch (err) {
      error = typed(err)
    }
  }
  if (error !== undefined) {
    const failure = error
    assert.throws(() => decoder.push(new Uint8Array([0])), (err: unknown) => err === failure, 'a failed decoder must keep failing')
  }
  return { delivered: concatBytes(...delivered), error, ended: decoder.ended, maxBuffered, finalBuffered: decoder.bufferedBytes }
}

function assertPrefix (delivered: Uint8Array, sealed: Uint8Array): void {
  assert.ok(delivered.byteLength <= sealed.byteLength && equalBytes(delivered, sealed.subarray(0, delivered.byteLength)),
    `delivered ${delivered.byteLength} bytes that are not a prefix of what was sealed`)
}

export const cleanSplit: FuzzTarget = {
  name: 'box stream: a clean stream split at any points decodes to the same plaintext',
  run: (numRuns, seed) => runProperty(fc.property(key, nonce, writes, cuts, (k, n, plaintexts, cutPoints) => {
    const result = decode(k, n, fragment(sealStream(k, n, plaintexts, true), cutPoints))
    assert.equal(result.error, undefined, result.error?.message)
    assert.ok(result.ended)
    assert.ok(equalBytes(result.delivered, concatBytes(...plaintexts)))
    assert.ok(result.maxBuffered <= MAX_BUFFERED_BYTES)
    assert.equal(result.finalBuffered, 0)
  }), numRuns, seed)
}

export const mutatedStreams: FuzzTarget = {
  name: 'box stream: mutated valid streams in any fragmentation deliver only a prefix of the sealed plaintext',
  run: (numRuns, seed) => runProperty(fc.property(key, nonce, writes, fc.boolean(), mutations, cuts, (k, n, plaintexts, goodbye, list, cutPoints) => {
    const original = sealStream(k, n, plaintexts, goodbye)
    const wire = mutate(original, list)
    const plaintext = concatBytes(...plaintexts)
    const result = decode(k, n, fragment(wire, cutPoints))
    assert.ok(result.maxBuffered <= MAX_BUFFERED_BYTES, `buffered ${result.maxBuffered} bytes`)
    assertPrefix(result.delivered, plaintext)
    if (equalBytes(wire, original)) {
      assert.ok(equalBytes(result.delivered, plaintext))
      assert.equal(result.error?.code, goodbye ? undefined : 'ERR_BOX_STREAM_TRUNCATED')
    } else {
      // Any change at all is noticed (a failed MAC, a bad length, bytes after goodbye, or bytes
      // missing at the end): nobody without the key can make a changed stream end cleanly.
      assert.ok(result.error !== undefined, 'a changed stream ended cleanly')
    }
  }), numRuns, seed)
}

export const randomStreams: FuzzTarget = {
  name: 'box stream: random bytes in any fragmentation deliver nothing',
  run: (numRuns, seed) => runProperty(fc.property(key, nonce, fc.oneof(filler(10_000), fc.uint8Array({ maxLength: 100 })), cuts, (k, n, bytes, cutPoints) => {
    const result = decode(k, n, fragment(bytes, cutPoints))
    assert.equal(result.delivered.byteLength, 0, 'random bytes were delivered as plaintext')
    assert.ok(result.error !== undefined, 'random bytes ended cleanly')
    assert.ok(result.maxBuffered <= MAX_BUFFERED_BYTES)
  }), numRuns, seed)
}

/**
 * Random bytes almost never get past a header's MAC, so this target seals headers with the
 * right key and nonce around arbitrary contents (any length field, any body MAC) after a few
 * genuine packets, followed by an arbitrary body. The outcome is fully predictable.
 */
export const forgedHeaders: FuzzTarget = {
  name: 'box stream: validly sealed headers with arbitrary lengths and contents',
  run: (numRuns, seed) => runProperty(fc.property(
    key, nonce, writes,
    fc.oneof(fc.constantFrom(0, 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, 0xffff), fc.nat({ max: 0xffff })),
    fc.oneof(fc.constant(new Uint8Array(16)), fc.uint8Array({ minLength: 16, maxLength: 16 })),
    filler(5000), cuts,
    (k, n, plaintexts, length, mac, body, cutPoints) => {
      const encoder = new BoxStreamEncoder(k, n)
      const genuine = plaintexts.map((p) => encoder.encode(p))
      const packets = plaintexts.reduce((count, p) => count + Math.ceil(p.byteLength / MAX_BODY_BYTES), 0)
      encoder.destroy()
      const headerNonce = n.slice()
      for (let i = 0; i < 2 * packets; i++) increment(headerNonce)
      const plaintextHeader = new Uint8Array(HEADER_PLAINTEXT_BYTES)
      plaintextHeader[0] = length >>> 8
      plaintextHeader[1] = length & 0xff
      plaintextHeader.set(mac, 2)
      const header = new Uint8Array(HEADER_BYTES)
      sodium.crypto_secretbox_easy(header, plaintextHeader, headerNonce, k)

      const result = decode(k, n, fragment(concatBytes(...genuine, header, body), cutPoints))
      assert.ok(equalBytes(result.delivered, concatBytes(...plaintexts)), 'exactly the genuine packets are delivered')
      assert.ok(result.maxBuffered <= MAX_BUFFERED_BYTES)
      const goodbye = plaintextHeader.every((b) => b === 0)
      let expected: ShsErrorCode | undefined
      if (goodbye) expected = body.byteLength > 0 ? 'ERR_BOX_STREAM_AFTER_GOODBYE' : undefined
      // A zero-length header that is not goodbye announces an empty message (as pull-box-stream
      // and go-secretstream read it): its empty body's MAC, arbitrary here, decides.
      else if (length > MAX_BODY_BYTES) expected = 'ERR_BOX_STREAM_BAD_LENGTH'
      else if (body.byteLength < length) expected = 'ERR_BOX_STREAM_TRUNCATED'
      else expected = 'ERR_BOX_STREAM_BAD_BODY'
      assert.equal(result.error?.code, expected, result.error?.message)
    }), numRuns, seed)
}

/** Big-endian +1, as docs/PROTOCOL.md specifies the box-stream nonce (wrapping at 2^192). */
function increment (nonceBytes: Uint8Array): void {
  for (let i = nonceBytes.length - 1; i >= 0; i--) {
    nonceBytes[i] = ((nonceBytes[i] as number) + 1) & 0xff
    if (nonceBytes[i] !== 0) return
  }
}
