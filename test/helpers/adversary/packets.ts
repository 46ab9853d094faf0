/** Box-stream packets sealed by hand, with any header, body or nonce a test wants. */
import sodium from 'sodium-native'
import type { SessionKeys } from '../../../src/index.ts'
import { concatBytes } from '../../../src/crypto/primitives.ts'
import { BOX_HEADER_BYTES, MAC_BYTES } from './wire.ts'

/** `nonce + steps` as a 24-byte big-endian counter (docs/PROTOCOL.md, "Box stream"). */
export function nonceAt (start: Uint8Array, steps: number): Uint8Array {
  // A copy whatever `start` is: a Buffer's slice() is a view, and would count up the session's own nonce.
  const nonce = new Uint8Array(start)
  let carry = steps
  for (let i = nonce.length - 1; i >= 0 && carry > 0; i--) {
    const sum = (nonce[i] as number) + carry
    nonce[i] = sum & 0xff
    carry = Math.floor(sum / 256)
  }
  return nonce
}

/**
 * One packet sealed by hand: a header announcing `announced` bytes (whatever that is) with the
 * body's real MAC, then the body. Packet `index` of a stream uses nonces N+2·index and N+2·index+1.
 */
export function craftPacket (session: SessionKeys, index: number, body: Uint8Array, announced = body.byteLength): Uint8Array {
  const bodyNonce = nonceAt(session.encryptNonce, 2 * index + 1)
  const sealedBody = new Uint8Array(body.byteLength)
  const bodyMac = new Uint8Array(MAC_BYTES)
  sodium.crypto_secretbox_detached(sealedBody, bodyMac, body, bodyNonce, session.encryptKey)
  const headerPlaintext = new Uint8Array(2 + MAC_BYTES)
  headerPlaintext[0] = announced >>> 8
  headerPlaintext[1] = announced & 0xff
  headerPlaintext.set(bodyMac, 2)
  return concatBytes(sealHeader(session, index, headerPlaintext), sealedBody)
}

/** A header sealing exactly `plaintext` (18 bytes) with packet `index`'s header nonce. */
export function sealHeader (session: SessionKeys, index: number, plaintext: Uint8Array): Uint8Array {
  const header = new Uint8Array(BOX_HEADER_BYTES)
  sodium.crypto_secretbox_easy(header, plaintext, nonceAt(session.encryptNonce, 2 * index), session.encryptKey)
  return header
}
