/** Checks on the session key material handed to the box stream. */
import { InvalidKeyError } from '../errors.ts'
import { NONCE_BYTES, SECRETBOX_KEY_BYTES } from '../crypto/primitives.ts'

export function checkSessionKey (key: Uint8Array, nonce: Uint8Array, direction: 'encrypt' | 'decrypt'): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== SECRETBOX_KEY_BYTES) {
    throw new InvalidKeyError(`the box-stream ${direction} key must be ${SECRETBOX_KEY_BYTES} bytes: pass the session keys a handshake produced`)
  }
  if (!(nonce instanceof Uint8Array) || nonce.byteLength !== NONCE_BYTES) {
    throw new InvalidKeyError(`the box-stream ${direction} nonce must be ${NONCE_BYTES} bytes: pass the session keys a handshake produced`)
  }
}
