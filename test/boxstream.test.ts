/** The box-stream codec on its own: known answers, the reference's own output, and every way a stream can go bad. */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import sodium from 'sodium-native'
import { BoxStreamDecoder, BoxStreamEncoder, BoxStreamError, InvalidOptionError } from '../src/index.ts'
import { incrementNonce } from '../src/boxstream/nonce.ts'
import { concat, fromHex, randomPayload, splitIrregular, toHex } from './helpers/bytes.ts'
import { KAT_KEY, KAT_NONCE, KAT_OUTPUT } from './helpers/boxstream-known-answers.ts'

const require = createRequire(import.meta.url)
type PullSource = (end: unknown, cb: (end: unknown, data?: Buffer) => void) => void
const pull = require('pull-stream') as {
  (...streams: unknown[]): unknown
  values: (values: Buffer[]) => PullSource
  collect: (cb: (err: unknown, values: Buffer[]) => void) => unknown
}
const boxes = require('pull-box-stream') as {
  createBoxStream: (key: Buffer, nonce: Buffer) => unknown
  createUnboxStream: (key: Buffer, nonce: Buffer) => unknown
}

function referenceBox (key: Uint8Array, nonce: Uint8Array, writes: Uint8Array[]): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    pull(pull.values(writes.map((w) => Buffer.from(w))), boxes.createBoxStream(Buffer.from(key), Buffer.from(nonce)),
      pull.collect((err, out) => { if (err != null) reject(err); else resolve(concat(out)) }))
  })
}

function referenceUnbox (key: Uint8Array, nonce: Uint8Array, wire: Uint8Array[]): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    pull(pull.values(wire.map((w) => Buffer.from(w))), boxes.createUnboxStream(Buffer.from(key), Buffer.from(nonce)),
      pull.collect((err, out) => { if (err != null) reject(err); else resolve(concat(out)) }))
  })
}

function encodeAll (writes: Uint8Array[], key: Uint8Array = KAT_KEY, nonce: Uint8Array = KAT_NONCE): Uint8Array {
  const encoder = new BoxStreamEncoder(key, nonce)
  return concat([...writes.map((w) => encoder.encode(w)), encoder.goodbye()])
}

/** Feeds `wire` to a decoder in the given piece sizes; returns what it delivered and how it ended. */
function decodeInPieces (wire: Uint8Array, sizes: readonly number[], key: Uint8Array = KAT_KEY, nonce: Uint8Array = KAT_NONCE): { plaintext: Uint8Array, error?: BoxStreamError, ended: boolean } {
  const decoder = new BoxStreamDecoder(key, nonce)
  const delivered: Uint8Array[] = []
  try {
    for (const piece of splitIrregular(wire, sizes)) delivered.push(...decoder.push(piece))
    decoder.finish()
  } catch (err) {
    assert.ok(err instanceof BoxStreamError, `only BoxStreamErrors escape, got ${String(err)}`)
    return { plaintext: concat(delivered), error: err, ended: decoder.ended }
  }
  return { plaintext: concat(delivered), ended: decoder.ended }
}

function sealHeader (plaintext: Uint8Array, nonce: Uint8Array, key: Uint8Array = KAT_KEY): Uint8Array {
  const sealed = new Uint8Array(34)
  sodium.crypto_secretbox_easy(sealed, plaintext, nonce, key)
  return sealed
}

/** A box stream sealed packet by packet, independent of the encoder (which never sends an empty packet). */
function sealPackets (bodies: readonly Uint8Array[], key: Uint8Array = KAT_KEY, nonce: Uint8Array = KAT_NONCE): Uint8Array {
  const n = Uint8Array.from(nonce)
  const parts: Uint8Array[] = []
  for (const body of bodies) {
    const bodyNonce = Uint8Array.from(n)
    incrementNonce(bodyNonce)
    const sealedBody = new Uint8Array(body.byteLength)
    const mac = new Uint8Array(16)
    sodium.crypto_secretbox_detached(sealedBody, mac, body, bodyNonce, key)
    const header = new Uint8Array(18)
    header[0] = body.byteLength >>> 8
    header[1] = body.byteLength & 0xff
    header.set(mac, 2)
    parts.push(sealHeader(header, n, key), sealedBody)
    incrementNonce(n)
    incrementNonce(n)
  }
  parts.push(sealHeader(new Uint8Array(18), n, key))
  return concat(parts)
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('boxstream: codec', () => {
  describe('wire compatibility', () => {
    it('matches a known answer whose nonce crosses a carry (…ff ff → …00 00)', () => {
      assert.equal(toHex(encodeAll([text('hello'), text('box-stream')])), KAT_OUTPUT)
    })

    it('decodes the known answer', () => {
      const result = decodeInPieces(fromHex(KAT_OUTPUT), [1])
      assert.equal(result.error, undefined)
      assert.ok(result.ended)
      assert.equal(new TextDecoder().decode(result.plaintext), 'hellobox-stream')
    })

    it('produces byte-identical output to pull-box-stream for writes of 1 byte to 100 KiB', async () => {
      const key = randomPayload(32)
      const nonce = randomPayload(24)
      const writes = [1, 4095, 4096, 4097, 8192, 100 * 1024, 3].map(randomPayload)
      assert.equal(toHex(encodeAll(writes, key, nonce)), toHex(await referenceBox(key, nonce, writes)))
    })

    it('pull-box-stream decodes what we encode, and we decode what it encodes', async () => {
      const key = randomPayload(32)
      const nonce = randomPayload(24)
      const payload = randomPayload(300_000)
      const ours = encodeAll(splitIrregular(payload), key, nonce)
      assert.deepEqual(await referenceUnbox(key, nonce, splitIrregular(ours, [999, 17])), payload)
      const theirs = await referenceBox(key, nonce, splitIrregular(payload))
      const decoded = decodeInPieces(theirs, [1, 33, 34, 35, 4130, 65536], key, nonce)
      assert.equal(decoded.error, undefined)
      assert.deepEqual(decoded.plaintext, payload)
    })
  })

  describe('state memory given by the caller (a connection keeps both codecs in one allocation)', () => {
    it('keeps the key and nonces there, seals and opens as without it, and wipes the key there', () => {
      const encoderState = new Uint8Array(BoxStreamEncoder.STATE_BYTES)
      const encoder = new BoxStreamEncoder(KAT_KEY, KAT_NONCE, encoderState)
      assert.deepEqual(encoderState.subarray(0, 32), KAT_KEY, 'the key copied into the given memory')
      const wire = concat([encoder.encode(text('hello')), encoder.encode(text('box-stream')), encoder.goodbye()])
      assert.equal(toHex(wire), KAT_OUTPUT)
      assert.ok(sodium.sodium_is_zero(encoderState.subarray(0, 32)), 'goodbye wiped the key in the given memory')
      const decoderState = new Uint8Array(BoxStreamDecoder.STATE_BYTES)
      const decoder = new BoxStreamDecoder(KAT_KEY, KAT_NONCE, undefined, decoderState)
      assert.equal(new TextDecoder().decode(concat(decoder.push(wire))), 'hellobox-stream')
      assert.ok(decoder.ended)
      assert.ok(sodium.sodium_is_zero(decoderState.subarray(0, 32)), 'the peer\'s goodbye wiped the key in the given memory')
    })

    it('refuses memory of the wrong size with InvalidOptionError, naming STATE_BYTES', () => {
      const wrong = new Uint8Array(BoxStreamEncoder.STATE_BYTES - 1)
      assert.throws(() => new BoxStreamEncoder(KAT_KEY, KAT_NONCE, wrong), (err: unknown) => err instanceof InvalidOptionError && /STATE_BYTES/.test(err.message))
      assert.throws(() => new BoxStreamDecoder(KAT_KEY, KAT_NONCE, undefined, new Uint8Array(BoxStreamDecoder.STATE_BYTES + 1)), InvalidOptionError)
    })
  })

  describe('encoder', () => {
    it('splits writes into bodies of at most 4096 bytes and skips empty writes', () => {
      const encoder = new BoxStreamEncoder(KAT_KEY, KAT_NONCE)
      assert.equal(encoder.encode(new Uint8Array(0)).byteLength, 0)
      assert.equal(encoder.encode(new Uint8Array(4096)).byteLength, 34 + 4096)
      assert.equal(encoder.encode(new Uint8Array(4097)).byteLength, 2 * 34 + 4097)
    })

    it('coalesces many small writes into full packets', () => {
      const encoder = new BoxStreamEncoder(KAT_KEY, KAT_NONCE)
      const writes = Array.from({ length: 1000 }, () => randomPayload(10))
      const wire = encoder.encode(writes)
      assert.equal(wire.byteLength, 10_000 + 3 * 34, '10 000 bytes need three packets, not a thousand')
      const decoder = new BoxStreamDecoder(KAT_KEY, KAT_NONCE)
      assert.deepEqual(concat(decoder.push(wire)), concat(writes))
    })

    it('seals into a buffer the caller passes when it is large enough, and into a new one otherwise', () => {
      const writes = [randomPayload(5000), randomPayload(3)]
      const plain = new BoxStreamEncoder(KAT_KEY, KAT_NONCE)
      const expected = writes.map((w) => plain.encode(w))
      const reusing = new BoxStreamEncoder(KAT_KEY, KAT_NONCE)
      const buffer = new Uint8Array(BoxStreamEncoder.sealedLength(5000))
      const first = reusing.encode(writes[0] as Uint8Array, buffer)
      assert.equal(first.buffer, buffer.buffer, 'the big enough buffer was used')
      assert.equal(toHex(first), toHex(expected[0] as Uint8Array))
      const second = reusing.encode(writes[1] as Uint8Array, new Uint8Array(10))
      assert.notEqual(second.byteLength, 10)
      assert.equal(toHex(second), toHex(expected[1] as Uint8Array), 'a too small buffer is ignored')
    })

    it('refuses writes after goodbye', () => {
      const encoder = new BoxStreamEncoder(KAT_KEY, KAT_NONCE)
      encoder.goodbye()
      assert.throws(() => encoder.encode(text('late')), (err: unknown) => err instanceof BoxStreamError && err.code === 'ERR_BOX_STREAM_CLOSED')
    })
  })

  describe('decoder', () => {
    const payload = randomPayload(20_000)
    const wire = encodeAll(splitIrregular(payload, [5000, 3, 9000]))

    it('decodes the same plaintext however the bytes are fragmented', () => {
      for (const sizes of [[1], [2, 3], [33, 34, 35], [4129, 4130, 4131], [wire.byteLength]]) {
        const result = decodeInPieces(wire, sizes)
        assert.equal(result.error, undefined, `pieces of ${sizes.join(',')}`)
        assert.ok(result.ended)
        assert.deepEqual(result.plaintext, payload)
      }
    })

    it('decodes the same plaintext when it may open packets over its input (reuseInput)', () => {
      for (const sizes of [[1], [2, 3], [33, 34, 35], [4129, 4130, 4131], [5000, 70], [wire.byteLength]]) {
        const decoder = new BoxStreamDecoder(KAT_KEY, KAT_NONCE)
        const delivered: Uint8Array[] = []
        // Fresh copies, as a socket hands over fresh chunks: the decoder writes over them.
        for (const piece of splitIrregular(wire.slice(), sizes)) delivered.push(...decoder.push(piece.slice(), { reuseInput: true }))
        decoder.finish()
        assert.deepEqual(concat(delivered), payload, `pieces of ${sizes.join(',')}`)
      }
    })

    it('keeps each stream apart when decoders take turns and each header arrives without its body', () => {
      // Two connections interleaved as sockets may deliver them: a header alone, then the other
      // stream's header, then the first one's body. Each body must be opened with its own MAC.
      const otherKey = Uint8Array.from(KAT_KEY, (byte) => byte ^ 0xff)
      const payloads = [randomPayload(3 * 4096), randomPayload(3 * 4096)]
      const wires = [encodeAll([payloads[0] as Uint8Array]), encodeAll([payloads[1] as Uint8Array], otherKey)]
      // Three full packets, then goodbye: header, body, header, body, header, body, goodbye.
      const sizes = [34, 4096, 34, 4096, 34, 4096, 34]
      for (const reuseInput of [false, true]) {
        const decoders = [new BoxStreamDecoder(KAT_KEY, KAT_NONCE), new BoxStreamDecoder(otherKey, KAT_NONCE)]
        const delivered: Uint8Array[][] = [[], []]
        const pieces = wires.map((wire) => splitIrregular(wire.slice(), sizes))
        for (let i = 0; i < sizes.length; i++) {
          for (const d of [0, 1]) delivered[d]?.push(...(decoders[d] as BoxStreamDecoder).push((pieces[d]?.[i] as Uint8Array).slice(), { reuseInput }))
        }
        for (const d of [0, 1]) {
          (decoders[d] as BoxStreamDecoder).finish()
          assert.deepEqual(concat(delivered[d] as Uint8Array[]), payloads[d], `stream ${d}, reuseInput: ${String(reuseInput)}`)
        }
      }
    })

    it('with exact: false, hands out views whose buffer holds only that plaintext and zeros (no ciphertext, no unauthenticated byte)', () => {
      for (const reuseInput of [false, true]) {
        for (const sizes of [[1], [33, 34, 35], [4129, 4130, 4131], [5000, 70], [wire.byteLength]]) {
          const decoder = new BoxStreamDecoder(KAT_KEY, KAT_NONCE)
          const delivered: Uint8Array[] = []
          for (const piece of splitIrregular(wire.slice(), sizes)) {
            for (const chunk of decoder.push(piece.slice(), { reuseInput, exact: false })) {
              const whole = new Uint8Array(chunk.buffer)
              assert.equal(chunk.byteOffset, 0)
              assert.ok(whole.subarray(chunk.byteLength).every((byte) => byte === 0), `reuseInput ${String(reuseInput)}, pieces of ${sizes.join(',')}: the rest of the buffer is zeroed`)
              delivered.push(chunk)
            }
          }
          decoder.finish()
          assert.deepEqual(concat(delivered), payload, `reuseInput ${String(reuseInput)}, pieces of ${sizes.join(',')}`)
        }
      }
    })

    it('never buffers more than one packet', () => {
      const decoder = new BoxStreamDecoder(KAT_KEY, KAT_NONCE)
      for (const piece of splitIrregular(wire, [7])) {
        decoder.push(piece)
        assert.ok(decoder.bufferedBytes <= 34 + 4096)
      }
    })

    // Packet 0 of `wire` is a 4096-byte body; its header occupies bytes 0..33.
    const tamperCases: Array<[string, number, string]> = [
      ['a flipped bit in the header MAC', 3, 'ERR_BOX_STREAM_BAD_HEADER'],
      ['a flipped bit in the header contents', 20, 'ERR_BOX_STREAM_BAD_HEADER'],
      ['a flipped bit in the body', 34 + 100, 'ERR_BOX_STREAM_BAD_BODY'],
      ['a flipped bit in the second packet', 34 + 4096 + 34 + 5, 'ERR_BOX_STREAM_BAD_BODY']
    ]
    for (const [name, offset, code] of tamperCases) {
      it(`fails on ${name}, delivering only the authentic packets before it`, () => {
        const tampered = wire.slice()
        tampered[offset] = (tampered[offset] as number) ^ 0x01
        const result = decodeInPieces(tampered, [wire.byteLength])
        assert.equal(result.error?.code, code)
        const packetsBefore = offset < 34 + 4096 ? 0 : 1
        assert.deepEqual(result.plaintext, payload.subarray(0, packetsBefore * 4096))
      })
    }

    it('reports a stream cut at or between packet boundaries as truncated, not as a clean end', () => {
      for (const cut of [0, 17, 34, 34 + 4096, 34 + 4096 + 1, wire.byteLength - 34, wire.byteLength - 1]) {
        const result = decodeInPieces(wire.subarray(0, cut), [1000])
        assert.equal(result.error?.code, 'ERR_BOX_STREAM_TRUNCATED', `cut at ${cut}`)
        assert.equal(result.ended, false)
        assert.deepEqual(result.plaintext, payload.subarray(0, result.plaintext.byteLength), 'only a prefix was delivered')
      }
    })

    it('fails on reordered, replayed and duplicated packets', () => {
      const uniform = encodeAll([randomPayload(3 * 4096)])
      const packet = (i: number): Uint8Array => uniform.subarray(i * 4130, (i + 1) * 4130)
      const cases = [
        concat([packet(1), packet(0)]),
        concat([packet(0), packet(0)]),
        concat([packet(0), packet(1), packet(1)])
      ]
      for (const stream of cases) {
        const result = decodeInPieces(stream, [stream.byteLength])
        assert.equal(result.error?.code, 'ERR_BOX_STREAM_BAD_HEADER')
      }
    })

    it('fails on a header announcing more than 4096 bytes, even with a valid MAC', () => {
      const header = new Uint8Array(18)
      header[0] = 0x10
      header[1] = 0x01
      header[2] = 1
      const result = decodeInPieces(sealHeader(header, KAT_NONCE), [34])
      assert.equal(result.error?.code, 'ERR_BOX_STREAM_BAD_LENGTH')
      assert.match(result.error?.message ?? '', /4097 bytes/)
    })

    it('accepts a zero-length packet that is not goodbye as an empty message, as pull-box-stream does, in any fragmentation', async () => {
      // Packets sealed by hand: "ab", then an empty one, then "cd", then goodbye.
      const wire = sealPackets([text('ab'), new Uint8Array(0), text('cd')])
      // The reference accepts it: it is what the wire format allows.
      assert.deepEqual(await referenceUnbox(KAT_KEY, KAT_NONCE, [wire]), text('abcd'))
      for (const sizes of [[wire.byteLength], [1], [34, 18, 1], [52, 34]]) {
        const result = decodeInPieces(wire, sizes)
        assert.equal(result.error, undefined, `sizes ${sizes.join(',')}`)
        assert.ok(result.ended)
        assert.deepEqual(result.plaintext, text('abcd'))
      }
    })

    it('fails on a zero-length header whose MAC does not match an empty body', () => {
      const header = new Uint8Array(18)
      header[5] = 9
      const result = decodeInPieces(sealHeader(header, KAT_NONCE), [34])
      assert.equal(result.error?.code, 'ERR_BOX_STREAM_BAD_BODY')
    })

    it('fails on bytes after goodbye', () => {
      const result = decodeInPieces(concat([wire, new Uint8Array([1, 2, 3])]), [wire.byteLength + 3])
      assert.equal(result.error?.code, 'ERR_BOX_STREAM_AFTER_GOODBYE')
      assert.deepEqual(result.plaintext, payload)
    })

    it('keeps failing once it failed', () => {
      const decoder = new BoxStreamDecoder(KAT_KEY, KAT_NONCE)
      assert.throws(() => decoder.push(randomPayload(34)))
      assert.throws(() => decoder.push(wire), (err: unknown) => err instanceof BoxStreamError && err.code === 'ERR_BOX_STREAM_BAD_HEADER')
      assert.throws(() => decoder.finish(), (err: unknown) => err instanceof BoxStreamError && err.code === 'ERR_BOX_STREAM_BAD_HEADER')
    })
  })

  describe('nonce counter', () => {
    it('increments big-endian with carry', () => {
      const nonce = fromHex('00'.repeat(21) + '01ffff')
      incrementNonce(nonce)
      assert.equal(toHex(nonce), '00'.repeat(21) + '020000')
    })

    it('wraps around at 2^192', () => {
      const nonce = new Uint8Array(24).fill(0xff)
      incrementNonce(nonce)
      assert.equal(toHex(nonce), '00'.repeat(24))
    })
  })
})
