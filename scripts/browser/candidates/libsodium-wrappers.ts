/**
 * Comparison candidate (npm run bench:backends -- --candidates): libsodium compiled to
 * WebAssembly (libsodium-wrappers, in the tree through pull-box-stream's chloride). Its API
 * returns new arrays, so each call copies into the output libsodium-style callers pass; it
 * must be awaited (`ready`) before the first call; and its standard build has no SHA-256, so
 * that one comes from @noble/hashes (the alternative, libsodium-wrappers-sumo, is larger still).
 */
import lib from 'libsodium-wrappers'
import { sha256 } from '@noble/hashes/sha2.js'
import type { CryptoBackend } from '../../../src/crypto/backend.ts'

const KEY_BYTES = 32
const MAC_BYTES = 16

export const ready = lib.ready
export const backendName = 'libsodium-wrappers'

function openInto (plaintext: Uint8Array, open: () => Uint8Array): boolean {
  try {
    plaintext.set(open())
    return true
  } catch {
    return false
  }
}

export const sodium: CryptoBackend = {
  randombytes_buf (buffer) { buffer.set(lib.randombytes_buf(buffer.byteLength)) },
  sodium_memzero (buffer) { lib.memzero(buffer) },
  sodium_memcmp: (a, b) => lib.memcmp(a, b),
  sodium_is_zero: (buffer) => lib.is_zero(buffer),
  crypto_sign_keypair (publicKey, secretKey) {
    const pair = lib.crypto_sign_keypair()
    publicKey.set(pair.publicKey)
    secretKey.set(pair.privateKey)
  },
  crypto_sign_seed_keypair (publicKey, secretKey, seed) {
    const pair = lib.crypto_sign_seed_keypair(seed)
    publicKey.set(pair.publicKey)
    secretKey.set(pair.privateKey)
  },
  crypto_sign_detached (signature, message, secretKey) { signature.set(lib.crypto_sign_detached(message, secretKey)) },
  crypto_sign_verify_detached: (signature, message, publicKey) => lib.crypto_sign_verify_detached(signature, message, publicKey),
  crypto_sign_ed25519_sk_to_pk (publicKey, secretKey) { publicKey.set(secretKey.subarray(KEY_BYTES)) },
  crypto_sign_ed25519_pk_to_curve25519 (curve, publicKey) { curve.set(lib.crypto_sign_ed25519_pk_to_curve25519(publicKey)) },
  crypto_sign_ed25519_sk_to_curve25519 (curve, secretKey) { curve.set(lib.crypto_sign_ed25519_sk_to_curve25519(secretKey)) },
  crypto_box_keypair (publicKey, secretKey) {
    const pair = lib.crypto_box_keypair()
    publicKey.set(pair.publicKey)
    secretKey.set(pair.privateKey)
  },
  crypto_scalarmult (shared, secretKey, publicKey) { shared.set(lib.crypto_scalarmult(secretKey, publicKey)) },
  crypto_auth (mac, message, key) { mac.set(lib.crypto_auth(message, key)) },
  crypto_auth_verify: (mac, message, key) => lib.crypto_auth_verify(mac, message, key),
  crypto_hash_sha256 (digest, message) { digest.set(sha256(message)) },
  crypto_secretbox_easy (boxed, plaintext, nonce, key) { boxed.set(lib.crypto_secretbox_easy(plaintext, nonce, key)) },
  crypto_secretbox_open_easy: (plaintext, boxed, nonce, key) => openInto(plaintext, () => lib.crypto_secretbox_open_easy(boxed, nonce, key)),
  crypto_secretbox_detached (ciphertext, mac, plaintext, nonce, key) {
    const sealed = lib.crypto_secretbox_detached(plaintext, nonce, key)
    ciphertext.set(sealed.cipher)
    mac.set(sealed.mac.subarray(0, MAC_BYTES))
  },
  crypto_secretbox_open_detached: (plaintext, ciphertext, mac, nonce, key) =>
    openInto(plaintext, () => lib.crypto_secretbox_open_detached(ciphertext, mac, nonce, key))
}

export function allocUnsafe (length: number): Uint8Array {
  return new Uint8Array(length)
}
