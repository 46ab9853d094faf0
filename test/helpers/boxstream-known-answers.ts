/**
 * Box-stream known answers, shared by the Node tests and the browser bundle (no Node imports):
 * pull-box-stream@1.0.13's output for fixed writes, and the ways the decoder must refuse it
 * once a byte is changed. Each entry throws when ours differs.
 */
import assert from 'node:assert/strict'
import { BoxStreamDecoder } from '../../src/boxstream/decoder.ts'
import { BoxStreamEncoder } from '../../src/boxstream/encoder.ts'
import { BoxStreamError } from '../../src/errors.ts'
import { concat, fromHex, toHex } from './hex.ts'

export const KAT_KEY = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
/** Ends in 00 ff ff fe: packet 1's header nonce carries across three bytes. */
export const KAT_NONCE = concat([new Uint8Array(20).fill(0xab), fromHex('00fffffe')])
export const KAT_WRITES = ['hello', 'box-stream']
/** pull-box-stream@1.0.13's output for the writes "hello", "box-stream" and then the end. */
export const KAT_OUTPUT = 'aafe9e649a94cd4907280b15af567a6c66d2fb40755d5c54ab8dc54c9a6bb4ae42503f9a456d9df32a139d2567c9f827e1732ebc8332ab6cc393b864cf842ab19149d6815cdf2007991f9c72a75ab931350bff70164594460cd735cdefe2b65eace924f958fd0b62e31eedc43c4e6889ad574cb3a6'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
/** The first packet: a 34-byte header, then the 5-byte body of "hello". */
const FIRST_BODY_OFFSET = 34

function decodeAll (wire: Uint8Array, pieceBytes: number, reuseInput: boolean): { plaintext: string, ended: boolean, error?: BoxStreamError } {
  const decoder = new BoxStreamDecoder(KAT_KEY, KAT_NONCE)
  const delivered: Uint8Array[] = []
  try {
    for (let offset = 0; offset < wire.byteLength; offset += pieceBytes) {
      delivered.push(...decoder.push(wire.slice(offset, offset + pieceBytes), { reuseInput }))
    }
    decoder.finish()
  } catch (err) {
    assert.ok(err instanceof BoxStreamError, `only BoxStreamErrors escape, got ${String(err)}`)
    return { plaintext: new TextDecoder().decode(concat(delivered)), ended: decoder.ended, error: err }
  }
  return { plaintext: new TextDecoder().decode(concat(delivered)), ended: decoder.ended }
}

function tampered (index: number): Uint8Array {
  const wire = fromHex(KAT_OUTPUT)
  wire[index] = (wire[index] as number) ^ 1
  return wire
}

export const boxStreamKnownAnswers: ReadonlyArray<{ name: string, check: () => void }> = [
  {
    name: 'encodes the known answer (nonce carry across three bytes)',
    check () {
      const encoder = new BoxStreamEncoder(KAT_KEY, KAT_NONCE)
      const wire = concat([...KAT_WRITES.map((write) => encoder.encode(text(write))), encoder.goodbye()])
      assert.equal(toHex(wire), KAT_OUTPUT)
    }
  },
  {
    name: 'encodes the known answer into a buffer the caller passes',
    check () {
      const encoder = new BoxStreamEncoder(KAT_KEY, KAT_NONCE)
      const output = new Uint8Array(BoxStreamEncoder.sealedLength(15))
      const sealed = encoder.encode(KAT_WRITES.map(text), output)
      assert.equal(sealed.buffer, output.buffer)
      // One write of 15 bytes is one packet, so compare with a fresh encoder's single packet.
      const fresh = new BoxStreamEncoder(KAT_KEY, KAT_NONCE)
      assert.equal(toHex(sealed), toHex(fresh.encode(text(KAT_WRITES.join('')))))
    }
  },
  {
    name: 'decodes the known answer byte by byte',
    check () {
      const result = decodeAll(fromHex(KAT_OUTPUT), 1, false)
      assert.equal(result.error, undefined)
      assert.ok(result.ended)
      assert.equal(result.plaintext, 'hellobox-stream')
    }
  },
  {
    name: 'decodes the known answer in place over its input (reuseInput)',
    check () {
      const result = decodeAll(fromHex(KAT_OUTPUT), KAT_OUTPUT.length, true)
      assert.equal(result.error, undefined)
      assert.ok(result.ended)
      assert.equal(result.plaintext, 'hellobox-stream')
    }
  },
  {
    name: 'refuses the known answer with a header byte changed',
    check () {
      const result = decodeAll(tampered(3), 1, false)
      assert.equal(result.error?.code, 'ERR_BOX_STREAM_BAD_HEADER')
      assert.equal(result.plaintext, '')
    }
  },
  {
    name: 'refuses the known answer with a body byte changed, after delivering nothing of it',
    check () {
      const result = decodeAll(tampered(FIRST_BODY_OFFSET + 2), 7, false)
      assert.equal(result.error?.code, 'ERR_BOX_STREAM_BAD_BODY')
      assert.equal(result.plaintext, '')
    }
  },
  {
    name: 'reports a stream cut before its goodbye as truncated',
    check () {
      const wire = fromHex(KAT_OUTPUT)
      const result = decodeAll(wire.subarray(0, wire.byteLength - 34), 1, false)
      assert.equal(result.error?.code, 'ERR_BOX_STREAM_TRUNCATED')
      assert.equal(result.plaintext, 'hellobox-stream')
    }
  }
]
