/**
 * The crypto backend: the libsodium calls SHS1 and the box stream make, with libsodium's names
 * and argument order (outputs first), so that the `sodium-native` module is a backend as it is.
 * Which implementation a build gets is decided by the package's `#crypto-backend` import map
 * (`browser` condition: the portable one; otherwise `sodium-native`), never at run time.
 *
 * Failures keep `sodium-native`'s conventions: the `_verify`/`_open` calls return false, the
 * conversions and `crypto_scalarmult` throw when the input is not a usable key.
 */
type Bytes = Uint8Array

export interface CryptoBackend {
  randombytes_buf (buffer: Bytes): void
  sodium_memzero (buffer: Bytes): void
  /** Constant time; both arrays have the same length. */
  sodium_memcmp (a: Bytes, b: Bytes): boolean
  sodium_is_zero (buffer: Bytes): boolean

  crypto_sign_keypair (publicKey: Bytes, secretKey: Bytes): void
  crypto_sign_seed_keypair (publicKey: Bytes, secretKey: Bytes, seed: Bytes): void
  crypto_sign_detached (signature: Bytes, message: Bytes, secretKey: Bytes): void
  crypto_sign_verify_detached (signature: Bytes, message: Bytes, publicKey: Bytes): boolean
  /** Reads the public half that libsodium's 64-byte secret key carries (seed ‖ public key). */
  crypto_sign_ed25519_sk_to_pk (publicKey: Bytes, secretKey: Bytes): void
  /** Throws when the key is not a point of the prime-order subgroup. */
  crypto_sign_ed25519_pk_to_curve25519 (curvePublicKey: Bytes, publicKey: Bytes): void
  crypto_sign_ed25519_sk_to_curve25519 (curveSecretKey: Bytes, secretKey: Bytes): void

  crypto_box_keypair (publicKey: Bytes, secretKey: Bytes): void
  /** X25519; throws when the result is all zero (a low-order point). */
  crypto_scalarmult (shared: Bytes, secretKey: Bytes, publicKey: Bytes): void

  /** HMAC-SHA-512-256. */
  crypto_auth (mac: Bytes, message: Bytes, key: Bytes): void
  crypto_auth_verify (mac: Bytes, message: Bytes, key: Bytes): boolean
  crypto_hash_sha256 (digest: Bytes, message: Bytes): void

  /** XSalsa20-Poly1305; `_easy` puts the 16-byte MAC before the ciphertext. */
  crypto_secretbox_easy (boxed: Bytes, plaintext: Bytes, nonce: Bytes, key: Bytes): void
  crypto_secretbox_open_easy (plaintext: Bytes, boxed: Bytes, nonce: Bytes, key: Bytes): boolean
  crypto_secretbox_detached (ciphertext: Bytes, mac: Bytes, plaintext: Bytes, nonce: Bytes, key: Bytes): void
  /** `plaintext` may overlap `ciphertext` (the box-stream decoder opens packets in place). */
  crypto_secretbox_open_detached (plaintext: Bytes, ciphertext: Bytes, mac: Bytes, nonce: Bytes, key: Bytes): boolean
}
