/**
 * Long-term identities: Ed25519 key pairs in libsodium's layout (64-byte secret key = seed ‖
 * public key), their Curve25519 forms for SHS1's Diffie-Hellman steps, and the checks that
 * turn malformed input into an `InvalidKeyError` before any of it reaches libsodium.
 */
import { sodium } from '#crypto-backend'
import { InvalidKeyError } from '../errors.ts'
import { describeValue } from '../options.ts'
import {
  CURVE_KEY_BYTES, NETWORK_KEY_BYTES, PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, SEED_BYTES,
  equalConstantTime, wipe
} from './primitives.ts'

export interface KeyPair {
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** 64-byte Ed25519 secret key in libsodium's layout: seed ‖ public key. */
  readonly secretKey: Uint8Array
}

declare const brand: unique symbol
/** `T` marked as checked: only the function that checked it can make one, so it cannot be passed unchecked. */
export type Branded<T, Name extends string> = T & { readonly [brand]: Name }

/** A public key that has been checked to be a valid Ed25519 point. */
export type Ed25519PublicKey = Branded<Uint8Array, 'Ed25519PublicKey'>
/** A key pair whose halves have been checked to belong together. */
export type CheckedKeyPair = Branded<KeyPair, 'CheckedKeyPair'>
/** The 32-byte network key (SSB calls it the app key or caps). */
export type NetworkKey = Branded<Uint8Array, 'NetworkKey'>

/** Makes an Ed25519 key pair: random, or derived from a 32-byte seed for reproducible identities. */
export function generateKeyPair (seed?: Uint8Array): KeyPair {
  const publicKey = new Uint8Array(PUBLIC_KEY_BYTES)
  const secretKey = new Uint8Array(SECRET_KEY_BYTES)
  if (seed === undefined) {
    sodium.crypto_sign_keypair(publicKey, secretKey)
  } else {
    checkLength(seed, SEED_BYTES, 'seed')
    sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  }
  return { publicKey, secretKey }
}

export function asPublicKey (bytes: unknown, name: string): Ed25519PublicKey {
  return checkPublicKey(bytes, name).publicKey
}

/**
 * Checks a peer's public key and returns its Curve25519 form too: the conversion is the check
 * (a key that is not a curve point cannot be converted, and could never complete a handshake),
 * and the handshake needs the converted key anyway, so it is done once.
 */
export function checkPublicKey (bytes: unknown, name: string): { publicKey: Ed25519PublicKey, curveKey: Uint8Array } {
  checkLength(bytes, PUBLIC_KEY_BYTES, name)
  try {
    return { publicKey: bytes as Ed25519PublicKey, curveKey: toCurvePublicKey(bytes as Ed25519PublicKey) }
  } catch {
    throw new InvalidKeyError(`${name} is not a valid Ed25519 public key: check that you copied the right 32 bytes`, undefined, name)
  }
}

export function asKeyPair (keys: unknown, name = 'keys'): CheckedKeyPair {
  if (typeof keys !== 'object' || keys === null) {
    throw new InvalidKeyError(`${name} must be { publicKey, secretKey } as returned by generateKeyPair(), got ${describe(keys)}`, undefined, name)
  }
  const { publicKey, secretKey } = keys as Partial<KeyPair>
  // No curve check here: a public key that its own seed derives is a valid point.
  checkLength(publicKey, PUBLIC_KEY_BYTES, `${name}.publicKey`, name)
  checkLength(secretKey, SECRET_KEY_BYTES, `${name}.secretKey`, name)
  // The secret key holds its seed and a copy of the public key: both must give `publicKey`, or
  // the peer would only find out on the wire, as a signature that blames our key (or theirs).
  const derivedPublic = new Uint8Array(PUBLIC_KEY_BYTES)
  const derivedSecret = new Uint8Array(SECRET_KEY_BYTES)
  sodium.crypto_sign_seed_keypair(derivedPublic, derivedSecret, secretKey.subarray(0, SEED_BYTES))
  const matches = equalConstantTime(derivedSecret, secretKey) && equalConstantTime(derivedPublic, publicKey)
  wipe(derivedSecret)
  if (!matches) {
    throw new InvalidKeyError(`${name}.secretKey does not belong to ${name}.publicKey (its seed derives another key pair): ` +
      'pass both halves of the same key pair, as generateKeyPair() returns them', undefined, name)
  }
  return keys as CheckedKeyPair
}

export function asNetworkKey (bytes: unknown): NetworkKey {
  checkLength(bytes, NETWORK_KEY_BYTES, 'networkKey')
  return bytes as NetworkKey
}

export function toCurvePublicKey (publicKey: Ed25519PublicKey): Uint8Array {
  const curve = new Uint8Array(CURVE_KEY_BYTES)
  sodium.crypto_sign_ed25519_pk_to_curve25519(curve, publicKey)
  return curve
}

/** The Curve25519 form of a long-term secret key; the caller wipes it after its one DH. */
export function toCurveSecretKey (keys: CheckedKeyPair): Uint8Array {
  const curve = new Uint8Array(CURVE_KEY_BYTES)
  sodium.crypto_sign_ed25519_sk_to_curve25519(curve, keys.secretKey)
  return curve
}

/** `option` is the option the bytes came in (`keys` for `keys.secretKey`). */
function checkLength (bytes: unknown, length: number, name: string, option = name): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidKeyError(`${name} must be a Uint8Array of ${length} bytes, got ${describe(bytes)}`, undefined, option)
  }
  if (bytes.byteLength !== length) {
    throw new InvalidKeyError(`${name} must be ${length} bytes, got ${bytes.byteLength}: ` +
      'check that it is raw bytes, not base64 or hex text, and not a key of another kind', undefined, option)
  }
}

function describe (value: unknown): string {
  if (typeof value === 'string') return 'a string (decode base64 or hex to bytes first)'
  return describeValue(value)
}

/**
 * A server's long-term identity prepared once for all its handshakes: the key pair checked and
 * the Curve25519 form of its secret key computed at `listen()`, not per connection. The owner
 * (the listener) wipes it when it closes; a handshake that still used it then fails.
 */
export class LocalIdentity {
  readonly keys: CheckedKeyPair
  readonly curveSecretKey: Uint8Array

  constructor (keys: unknown, name = 'keys') {
    this.keys = asKeyPair(keys, name)
    this.curveSecretKey = toCurveSecretKey(this.keys)
  }

  wipe (): void {
    wipe(this.curveSecretKey)
  }
}
