/**
 * The portable backend, for browsers (the `browser` condition of `#crypto-backend`): the audited
 * pure-JavaScript `@noble` libraries that js-libp2p's Noise encrypter also uses in browsers.
 * Each call reproduces libsodium's output and its refusals byte for byte, so both backends pass
 * the same recorded vectors; docs/BROWSER.md has the measurements behind the choice.
 */
import { secretbox } from '@noble/ciphers/salsa.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import type { CryptoBackend } from './backend.ts'

const MAC_BYTES = 16
/** The work space @noble's XSalsa20-Poly1305 keeps in front of the data (the Poly1305 key). */
const SCRATCH_BYTES = 32
const KEY_BYTES = 32
const AUTH_BYTES = 32
/** `crypto.getRandomValues` fills at most 65536 bytes per call (Web Crypto). */
const RANDOM_CHUNK_BYTES = 65536

function randomFill (buffer: Uint8Array): void {
  for (let offset = 0; offset < buffer.byteLength; offset += RANDOM_CHUNK_BYTES) {
    globalThis.crypto.getRandomValues(buffer.subarray(offset, offset + RANDOM_CHUNK_BYTES))
  }
}

function equal (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let difference = 0
  for (let i = 0; i < a.byteLength; i++) difference |= (a[i] as number) ^ (b[i] as number)
  return difference === 0
}

function isZero (buffer: Uint8Array): boolean {
  let bits = 0
  for (let i = 0; i < buffer.byteLength; i++) bits |= buffer[i] as number
  return bits === 0
}

function seedKeypair (publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void {
  publicKey.set(ed25519.getPublicKey(seed))
  secretKey.set(seed)
  secretKey.set(publicKey, KEY_BYTES)
}

function authenticate (message: Uint8Array, key: Uint8Array): Uint8Array {
  return hmac(sha512, key, message).subarray(0, AUTH_BYTES)
}

function open (plaintext: Uint8Array, boxed: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean {
  let opened: Uint8Array
  try {
    opened = secretbox(key, nonce).open(boxed)
  } catch {
    return false // the MAC did not verify: the caller reports it, the plaintext stays unwritten
  }
  plaintext.set(opened)
  opened.fill(0)
  return true
}

export const sodium: CryptoBackend = {
  randombytes_buf: randomFill,
  sodium_memzero (buffer) { buffer.fill(0) },
  sodium_memcmp: equal,
  sodium_is_zero: isZero,

  crypto_sign_keypair (publicKey, secretKey) {
    const seed = new Uint8Array(KEY_BYTES)
    randomFill(seed)
    seedKeypair(publicKey, secretKey, seed)
    seed.fill(0)
  },
  crypto_sign_seed_keypair: seedKeypair,
  crypto_sign_detached (signature, message, secretKey) {
    signature.set(ed25519.sign(message, secretKey.subarray(0, KEY_BYTES)))
  },
  crypto_sign_verify_detached (signature, message, publicKey) {
    // libsodium verifies strictly (RFC 8032 encodings, not ZIP-215's looser ones).
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false })
    } catch {
      return false
    }
  },
  crypto_sign_ed25519_sk_to_pk (publicKey, secretKey) {
    publicKey.set(secretKey.subarray(KEY_BYTES))
  },
  crypto_sign_ed25519_pk_to_curve25519 (curvePublicKey, publicKey) {
    // libsodium refuses points off the curve, of small order, or outside the prime-order subgroup.
    const point = ed25519.Point.fromBytes(publicKey, false)
    if (point.isSmallOrder() || !point.isTorsionFree()) throw new Error('not a prime-order Ed25519 public key')
    curvePublicKey.set(ed25519.utils.toMontgomery(publicKey))
  },
  crypto_sign_ed25519_sk_to_curve25519 (curveSecretKey, secretKey) {
    // The clamped first half of SHA-512(seed), as libsodium computes it.
    const hash = sha512(secretKey.subarray(0, KEY_BYTES))
    hash[0] = (hash[0] as number) & 248
    hash[31] = ((hash[31] as number) & 127) | 64
    curveSecretKey.set(hash.subarray(0, KEY_BYTES))
    hash.fill(0)
  },

  crypto_box_keypair (publicKey, secretKey) {
    randomFill(secretKey)
    publicKey.set(x25519.getPublicKey(secretKey))
  },
  crypto_scalarmult (shared, secretKey, publicKey) {
    const result = x25519.scalarMult(secretKey, publicKey)
    if (isZero(result)) throw new Error('X25519 gave an all-zero shared secret')
    shared.set(result)
    result.fill(0)
  },

  crypto_auth (mac, message, key) {
    const full = authenticate(message, key)
    mac.set(full)
    full.fill(0)
  },
  crypto_auth_verify (mac, message, key) {
    const expected = authenticate(message, key)
    const valid = mac.byteLength === AUTH_BYTES && equal(mac, expected)
    expected.fill(0)
    return valid
  },
  crypto_hash_sha256 (digest, message) {
    digest.set(sha256(message))
  },

  crypto_secretbox_easy (boxed, plaintext, nonce, key) {
    boxed.set(secretbox(key, nonce).seal(plaintext))
  },
  crypto_secretbox_open_easy: open,
  crypto_secretbox_detached (ciphertext, mac, plaintext, nonce, key) {
    const boxed = secretbox(key, nonce).seal(plaintext)
    mac.set(boxed.subarray(0, MAC_BYTES))
    ciphertext.set(boxed.subarray(MAC_BYTES))
  },
  crypto_secretbox_open_detached (plaintext, ciphertext, mac, nonce, key) {
    // @noble opens in a scratch buffer laid out as [32 bytes of work space | MAC | ciphertext];
    // building that layout here, and handing it over as both input and output, saves a copy per
    // packet. Being a fresh copy, it also lets the plaintext overwrite the ciphertext.
    const scratch = new Uint8Array(SCRATCH_BYTES + MAC_BYTES + ciphertext.byteLength)
    scratch.set(mac, SCRATCH_BYTES)
    scratch.set(ciphertext, SCRATCH_BYTES + MAC_BYTES)
    let opened: Uint8Array
    try {
      opened = secretbox(key, nonce).open(scratch.subarray(SCRATCH_BYTES), scratch)
    } catch {
      return false
    }
    plaintext.set(opened)
    scratch.fill(0)
    return true
  }
}
export const backendName = '@noble (portable)'

/** Browsers have no pool of uninitialised memory: a plain (zeroed) array. */
export function allocUnsafe (length: number): Uint8Array {
  return new Uint8Array(length)
}

/** A plain array always owns its whole ArrayBuffer. */
export function allocOwned (length: number): Uint8Array {
  return new Uint8Array(length)
}

export function viewOf (buffer: ArrayBuffer): Uint8Array {
  return new Uint8Array(buffer)
}
