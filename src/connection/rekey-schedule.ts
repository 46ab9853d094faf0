/**
 * The rekey extension's key schedule and packets (docs/REKEY.md, "Key schedule" and "Packets").
 * Each direction's next key and first nonce are hashed from its current key and a fresh X25519
 * result, so a passive observer holding the current key cannot follow (it lacks the DH), and the
 * next key does not give the current one back (the hash is one-way).
 */
import { PUBLIC_KEY_BYTES, concatBytes, sha256, wipe, NONCE_BYTES } from '../crypto/primitives.ts'
import { BoxStreamError } from '../errors.ts'

/** The first byte of a control packet's body. */
export const REQUEST = 1
export const RESPONSE = 2
export const SWITCH = 3
export type ControlType = typeof REQUEST | typeof RESPONSE | typeof SWITCH

/** The direction a key protects, by the handshake's roles: in every hash, so the two never share a key and nonce. */
export type Direction = 'client-to-server' | 'server-to-client'

const LABEL_KEY = new TextEncoder().encode('shs-rekey/1 key')
const LABEL_NONCE = new TextEncoder().encode('shs-rekey/1 nonce')
const DIRECTION_BYTE: Readonly<Record<Direction, Uint8Array>> = {
  'client-to-server': Uint8Array.of(0x63), // 'c'
  'server-to-client': Uint8Array.of(0x73) // 's'
}

export interface NextKeys {
  readonly key: Uint8Array
  readonly nonce: Uint8Array
}

/**
 * `key' = sha256("shs-rekey/1 key" ‖ d ‖ key ‖ shared ‖ I ‖ R)` and
 * `nonce' = sha256("shs-rekey/1 nonce" ‖ d ‖ key ‖ shared ‖ I ‖ R)[0..24]`, where `I` and `R` are
 * the initiator's and the responder's fresh public keys.
 */
export function nextKeys (direction: Direction, key: Uint8Array, shared: Uint8Array, initiatorKey: Uint8Array, responderKey: Uint8Array): NextKeys {
  const d = DIRECTION_BYTE[direction]
  const nonceHash = sha256(LABEL_NONCE, d, key, shared, initiatorKey, responderKey)
  const nonce = nonceHash.slice(0, NONCE_BYTES)
  wipe(nonceHash)
  return { key: sha256(LABEL_KEY, d, key, shared, initiatorKey, responderKey), nonce }
}

export function wipeNextKeys (keys: NextKeys | undefined): void {
  if (keys !== undefined) wipe(keys.key, keys.nonce)
}

/** A control packet's body: its type, then (REQUEST, RESPONSE) the sender's fresh public key. */
export function controlBody (type: ControlType, publicKey?: Uint8Array): Uint8Array {
  return publicKey === undefined ? Uint8Array.of(type) : concatBytes(Uint8Array.of(type), publicKey)
}

export type ControlMessage =
  | { readonly type: typeof REQUEST | typeof RESPONSE, readonly publicKey: Uint8Array }
  | { readonly type: typeof SWITCH }

/** Reads a control body; anything else than the three packets, each of its exact length, is a protocol violation. */
export function parseControl (body: Uint8Array): ControlMessage {
  const type = body[0]
  if ((type === REQUEST || type === RESPONSE) && body.byteLength === 1 + PUBLIC_KEY_BYTES) {
    return { type, publicKey: body.slice(1) }
  }
  if (type === SWITCH && body.byteLength === 1) return { type }
  throw new BoxStreamError('ERR_BOX_STREAM_BAD_CONTROL',
    `the peer sent a rekey control packet of type ${String(type)} and ${body.byteLength} bytes, which is none of ours ` +
    '(request and response: 33 bytes, switch: 1): the peer speaks another version of the rekey extension, or is broken')
}
