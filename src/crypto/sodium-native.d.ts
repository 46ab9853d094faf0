// sodium-native ships no type declarations; these cover only the calls this library makes.
declare module 'sodium-native' {
  type Bytes = Uint8Array

  export const crypto_sign_PUBLICKEYBYTES: number
  export const crypto_sign_SECRETKEYBYTES: number
  export const crypto_sign_SEEDBYTES: number
  export const crypto_sign_BYTES: number
  export const crypto_box_PUBLICKEYBYTES: number
  export const crypto_box_SECRETKEYBYTES: number
  export const crypto_scalarmult_BYTES: number
  export const crypto_auth_BYTES: number
  export const crypto_auth_KEYBYTES: number
  export const crypto_hash_sha256_BYTES: number
  export const crypto_hash_sha256_STATEBYTES: number
  export const crypto_secretbox_KEYBYTES: number
  export const crypto_secretbox_NONCEBYTES: number
  export const crypto_secretbox_MACBYTES: number

  export function randombytes_buf (buffer: Bytes): void
  export function sodium_memzero (buffer: Bytes): void
  export function sodium_memcmp (a: Bytes, b: Bytes): boolean
  export function sodium_is_zero (buffer: Bytes, length?: number): boolean

  export function crypto_sign_keypair (pk: Bytes, sk: Bytes): void
  export function crypto_sign_seed_keypair (pk: Bytes, sk: Bytes, seed: Bytes): void
  export function crypto_sign_detached (sig: Bytes, message: Bytes, sk: Bytes): void
  export function crypto_sign_verify_detached (sig: Bytes, message: Bytes, pk: Bytes): boolean
  export function crypto_sign_ed25519_sk_to_pk (pk: Bytes, sk: Bytes): void
  export function crypto_sign_ed25519_pk_to_curve25519 (curvePk: Bytes, edPk: Bytes): void
  export function crypto_sign_ed25519_sk_to_curve25519 (curveSk: Bytes, edSk: Bytes): void

  export function crypto_box_keypair (pk: Bytes, sk: Bytes): void
  export function crypto_scalarmult (q: Bytes, n: Bytes, p: Bytes): void
  export function crypto_scalarmult_base (q: Bytes, n: Bytes): void

  export function crypto_auth (out: Bytes, input: Bytes, key: Bytes): void
  export function crypto_auth_verify (mac: Bytes, input: Bytes, key: Bytes): boolean

  export function crypto_hash_sha256 (out: Bytes, input: Bytes): void
  export function crypto_hash_sha256_init (state: Bytes): void
  export function crypto_hash_sha256_update (state: Bytes, input: Bytes): void
  export function crypto_hash_sha256_final (state: Bytes, out: Bytes): void

  export function crypto_secretbox_easy (c: Bytes, m: Bytes, n: Bytes, k: Bytes): void
  export function crypto_secretbox_open_easy (m: Bytes, c: Bytes, n: Bytes, k: Bytes): boolean
  export function crypto_secretbox_detached (c: Bytes, mac: Bytes, m: Bytes, n: Bytes, k: Bytes): void
  export function crypto_secretbox_open_detached (m: Bytes, c: Bytes, mac: Bytes, n: Bytes, k: Bytes): boolean
}
