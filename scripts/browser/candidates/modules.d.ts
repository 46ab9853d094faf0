// The two comparison candidates ship no type declarations; these cover only the calls the adapters make.
declare module 'sodium-javascript' {
  import type { CryptoBackend } from '../../../src/crypto/backend.ts'
  const sodium: CryptoBackend
  export default sodium
}

declare module 'libsodium-wrappers' {
  type Bytes = Uint8Array
  const sodium: {
    ready: Promise<void>
    randombytes_buf (length: number): Bytes
    memzero (buffer: Bytes): void
    memcmp (a: Bytes, b: Bytes): boolean
    is_zero (buffer: Bytes): boolean
    crypto_sign_seed_keypair (seed: Bytes): { publicKey: Bytes, privateKey: Bytes }
    crypto_sign_keypair (): { publicKey: Bytes, privateKey: Bytes }
    crypto_sign_detached (message: Bytes, secretKey: Bytes): Bytes
    crypto_sign_verify_detached (signature: Bytes, message: Bytes, publicKey: Bytes): boolean
    crypto_sign_ed25519_pk_to_curve25519 (publicKey: Bytes): Bytes
    crypto_sign_ed25519_sk_to_curve25519 (secretKey: Bytes): Bytes
    crypto_box_keypair (): { publicKey: Bytes, privateKey: Bytes }
    crypto_scalarmult (secretKey: Bytes, publicKey: Bytes): Bytes
    crypto_auth (message: Bytes, key: Bytes): Bytes
    crypto_auth_verify (mac: Bytes, message: Bytes, key: Bytes): boolean
    crypto_secretbox_easy (message: Bytes, nonce: Bytes, key: Bytes): Bytes
    crypto_secretbox_open_easy (boxed: Bytes, nonce: Bytes, key: Bytes): Bytes
    crypto_secretbox_detached (message: Bytes, nonce: Bytes, key: Bytes): { cipher: Bytes, mac: Bytes }
    crypto_secretbox_open_detached (cipher: Bytes, mac: Bytes, nonce: Bytes, key: Bytes): Bytes
  }
  export default sodium
}
