/** Checks on the session key material handed to the box stream. */
import { sodium } from '#crypto-backend'
import { InvalidKeyError, InvalidOptionError } from '../errors.ts'
import { NONCE_BYTES, SECRETBOX_KEY_BYTES, carve } from '../crypto/primitives.ts'

export { NONCE_BYTES, SECRETBOX_KEY_BYTES as KEY_BYTES }

export function checkSessionKey (key: Uint8Array, nonce: Uint8Array, direction: 'encrypt' | 'decrypt'): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== SECRETBOX_KEY_BYTES) {
    throw new InvalidKeyError(`the box-stream ${direction} key must be ${SECRETBOX_KEY_BYTES} bytes: pass the session keys a handshake produced`)
  }
  // A wiped key is all zeros: sealing with it would be readable by anyone, and a session key that
  // was wiped has been handed to another codec already (same key, same nonces).
  if (sodium.sodium_is_zero(key)) {
    throw new InvalidKeyError(`the box-stream ${direction} key is all zeros: the session was already used (and wiped) by another box stream; run a new handshake`)
  }
  if (!(nonce instanceof Uint8Array) || nonce.byteLength !== NONCE_BYTES) {
    throw new InvalidKeyError(`the box-stream ${direction} nonce must be ${NONCE_BYTES} bytes: pass the session keys a handshake produced`)
  }
}

/**
 * A codec's key and nonces as views of `sizes`: over `state` when the caller gives memory (the
 * box stream gives each codec its part of one allocation), else over a fresh buffer. Either way
 * one allocation, not one per array: a connection holds its codecs for its whole life.
 */
export function carveState<const Sizes extends readonly number[]> (state: Uint8Array | undefined, total: number, sizes: Sizes): { [Index in keyof Sizes]: Uint8Array } {
  if (state !== undefined && (!(state instanceof Uint8Array) || state.byteLength !== total)) {
    throw new InvalidOptionError('state', `a box-stream codec's state must be a Uint8Array of exactly ${total} bytes (STATE_BYTES), used by nothing else`)
  }
  return carve(sizes, state)
}
