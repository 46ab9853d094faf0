/**
 * The handful of libsodium operations SHS1 and the box stream are built from, with the sizes
 * named. Every function here is synchronous and side-effect free apart from its outputs; the
 * callers decide when to wipe what they were given.
 */
import { sodium } from '#crypto-backend'
import { InvalidKeyError } from '../errors.ts'

export const PUBLIC_KEY_BYTES = 32
export const SECRET_KEY_BYTES = 64
export const SEED_BYTES = 32
export const SIGNATURE_BYTES = 64
export const CURVE_KEY_BYTES = 32
export const HMAC_BYTES = 32
export const HASH_BYTES = 32
export const SECRETBOX_KEY_BYTES = 32
export const NONCE_BYTES = 24
export const MAC_BYTES = 16
export const NETWORK_KEY_BYTES = 32

/** SHS1 seals each handshake box under a single-use key, so an all-zero nonce is safe there. */
const ZERO_NONCE: Readonly<Uint8Array> = new Uint8Array(NONCE_BYTES)

export function randomBytes (length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  sodium.randombytes_buf(bytes)
  return bytes
}

/** Overwrite secrets so they cannot be read later from memory dumps or reused buffers. */
export function wipe (...buffers: Array<Uint8Array | undefined>): void {
  for (const buffer of buffers) {
    if (buffer !== undefined) sodium.sodium_memzero(buffer)
  }
}

/** Constant-time equality, for anything derived from a secret. */
export function equalConstantTime (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && sodium.sodium_memcmp(a, b)
}

/** HMAC-SHA-512-256 (`crypto_auth`). */
export function hmac (key: Uint8Array, message: Uint8Array): Uint8Array {
  const mac = new Uint8Array(HMAC_BYTES)
  sodium.crypto_auth(mac, message, key)
  return mac
}

export function verifyHmac (mac: Uint8Array, message: Uint8Array, key: Uint8Array): boolean {
  return sodium.crypto_auth_verify(mac, message, key)
}

/**
 * SHA-256 over the concatenation of `parts`; the temporary concatenation (of secrets) is wiped
 * here, so the caller has nothing extra to wipe.
 */
export function sha256 (...parts: Uint8Array[]): Uint8Array {
  const digest = new Uint8Array(HASH_BYTES)
  if (parts.length === 1) {
    sodium.crypto_hash_sha256(digest, parts[0] as Uint8Array)
    return digest
  }
  const joined = concatBytes(...parts)
  sodium.crypto_hash_sha256(digest, joined)
  wipe(joined)
  return digest
}

/**
 * X25519. libsodium refuses results that are all zero (the peer sent a low-order point); we
 * turn that into a typed error, because accepting it would let a peer force a known secret.
 */
export function diffieHellman (localSecret: Uint8Array, remotePublic: Uint8Array): Uint8Array {
  const shared = new Uint8Array(CURVE_KEY_BYTES)
  try {
    sodium.crypto_scalarmult(shared, localSecret, remotePublic)
  } catch {
    // libsodium refuses exactly one case here, and says nothing more about it than that.
    throw new InvalidKeyError(
      'the peer sent a Diffie-Hellman key that gives an all-zero shared secret (a low-order point): ' +
      'this is either a broken or a hostile peer', 'ERR_SHS_WEAK_KEY')
  }
  return shared
}

export interface CurveKeyPair {
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
}

export function generateCurveKeyPair (): CurveKeyPair {
  const publicKey = new Uint8Array(CURVE_KEY_BYTES)
  const secretKey = new Uint8Array(CURVE_KEY_BYTES)
  sodium.crypto_box_keypair(publicKey, secretKey)
  return { publicKey, secretKey }
}

/** `secretbox` with the all-zero nonce, for the two single-use handshake keys. */
export function sealOnce (key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const boxed = new Uint8Array(plaintext.byteLength + MAC_BYTES)
  sodium.crypto_secretbox_easy(boxed, plaintext, ZERO_NONCE, key)
  return boxed
}

/** Opens what `sealOnce` sealed; undefined when the MAC does not verify. */
export function openOnce (key: Uint8Array, boxed: Uint8Array): Uint8Array | undefined {
  if (boxed.byteLength < MAC_BYTES) return undefined
  const plaintext = new Uint8Array(boxed.byteLength - MAC_BYTES)
  return sodium.crypto_secretbox_open_easy(plaintext, boxed, ZERO_NONCE, key) ? plaintext : undefined
}

export function sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const signature = new Uint8Array(SIGNATURE_BYTES)
  sodium.crypto_sign_detached(signature, message, secretKey)
  return signature
}

export function verifySignature (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  return sodium.crypto_sign_verify_detached(signature, message, publicKey)
}

/**
 * A fresh copy. Never `bytes.slice()`: on a Node Buffer (what sockets deliver) that is a view of
 * the same memory, and a later write through one alias would silently change the other.
 */
export function copyBytes (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}

/** Consecutive views of the given sizes over `buffer` (default: one fresh zeroed buffer): one allocation for many small arrays. */
export function carve<const Sizes extends readonly number[]> (sizes: Sizes, buffer?: Uint8Array): { [Index in keyof Sizes]: Uint8Array } {
  let total = 0
  for (const size of sizes) total += size
  buffer ??= new Uint8Array(total)
  const views: Uint8Array[] = []
  let offset = 0
  for (const size of sizes) {
    views.push(buffer.subarray(offset, offset + size))
    offset += size
  }
  return views as { [Index in keyof Sizes]: Uint8Array }
}

/** Joins byte arrays; used for public or short-lived values that the caller wipes. */
export function concatBytes (...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.byteLength
  const joined = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    joined.set(part, offset)
    offset += part.byteLength
  }
  return joined
}
