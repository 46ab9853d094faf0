/**
 * The portable backend against sodium-native, call by call on random and hostile inputs: same
 * outputs, same refusals. (The recorded vectors in test/backends.test.ts cover the protocol;
 * this covers the edges the vectors never reach: off-curve and mixed-order keys, non-canonical
 * signatures, low-order Diffie-Hellman points, overlapping buffers.)
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { sodium as native } from '../src/crypto/backend-sodium.ts'
import { sodium as portable } from '../src/crypto/backend-portable.ts'
import type { CryptoBackend } from '../src/crypto/backend.ts'
import { toHex } from './helpers/hex.ts'

const SAMPLES = 64
const bytes = (length: number): Uint8Array => new Uint8Array(randomBytes(length))

/** Runs `call` on both backends; both must throw, or both return the same value and outputs. */
function agree<T> (what: string, call: (backend: CryptoBackend) => { result: T, outputs: Uint8Array[] }): T | undefined {
  const outcome = (backend: CryptoBackend): { threw: boolean, result?: T, outputs?: string[] } => {
    try {
      const { result, outputs } = call(backend)
      return { threw: false, result, outputs: outputs.map(toHex) }
    } catch {
      return { threw: true }
    }
  }
  const expected = outcome(native)
  assert.deepEqual(outcome(portable), expected, `the backends disagree on ${what}`)
  return expected.result
}

function seedKeys (backend: CryptoBackend, seed: Uint8Array): { publicKey: Uint8Array, secretKey: Uint8Array } {
  const publicKey = new Uint8Array(32)
  const secretKey = new Uint8Array(64)
  backend.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  return { publicKey, secretKey }
}

/** Ed25519's group order L, little-endian: adding it to S gives the same signature, non-canonically. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n
function addOrder (signature: Uint8Array): Uint8Array {
  let s = 0n
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i] as number)
  s += L
  const changed = new Uint8Array(signature)
  for (let i = 32; i < 64; i++) { changed[i] = Number(s & 0xffn); s >>= 8n }
  return changed
}

describe('crypto backends: the portable one agrees with sodium-native', () => {
  it('derives the same Ed25519 key pairs, signatures and Curve25519 secret keys', () => {
    for (let i = 0; i < 8; i++) {
      const seed = bytes(32)
      const message = bytes(i * 37)
      agree('seed key pairs and signatures', (backend) => {
        const keys = seedKeys(backend, seed)
        const signature = new Uint8Array(64)
        backend.crypto_sign_detached(signature, message, keys.secretKey)
        const curveSecret = new Uint8Array(32)
        backend.crypto_sign_ed25519_sk_to_curve25519(curveSecret, keys.secretKey)
        const embedded = new Uint8Array(32)
        backend.crypto_sign_ed25519_sk_to_pk(embedded, keys.secretKey)
        return { result: undefined, outputs: [keys.publicKey, keys.secretKey, signature, curveSecret, embedded] }
      })
    }
  })

  it('accepts and refuses the same signatures, strictly (tampered, wrong key, S + L)', () => {
    const keys = seedKeys(native, bytes(32))
    const other = seedKeys(native, bytes(32))
    const message = bytes(100)
    const signature = new Uint8Array(64)
    native.crypto_sign_detached(signature, message, keys.secretKey)
    const tampered = new Uint8Array(signature)
    tampered[5] = (tampered[5] as number) ^ 4
    const cases: Array<[string, Uint8Array, Uint8Array, boolean]> = [
      ['valid', signature, keys.publicKey, true],
      ['tampered', tampered, keys.publicKey, false],
      ['wrong key', signature, other.publicKey, false],
      ['non-canonical S', addOrder(signature), keys.publicKey, false],
      ['all-zero key', signature, new Uint8Array(32), false]
    ]
    for (const [name, sig, publicKey, valid] of cases) {
      const result = agree(`verify (${name})`, (backend) => ({ result: backend.crypto_sign_verify_detached(sig, message, publicKey), outputs: [] }))
      assert.equal(result, valid, name)
    }
  })

  it('converts the same public keys to Curve25519 and refuses the same ones (random 32 bytes, low order)', () => {
    const lowOrder = ['0100000000000000000000000000000000000000000000000000000000000000', '0000000000000000000000000000000000000000000000000000000000000000',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a']
    const inputs = [...lowOrder.map((hex) => Uint8Array.from(Buffer.from(hex, 'hex'))), ...Array.from({ length: SAMPLES }, () => bytes(32)),
      ...Array.from({ length: 8 }, () => seedKeys(native, bytes(32)).publicKey)]
    let refused = 0
    for (const input of inputs) {
      agree(`pk_to_curve25519(${toHex(input)})`, (backend) => {
        const curve = new Uint8Array(32)
        try {
          backend.crypto_sign_ed25519_pk_to_curve25519(curve, input)
        } catch (err) {
          refused++
          throw err
        }
        return { result: undefined, outputs: [curve] }
      })
    }
    assert.ok(refused >= 2 * lowOrder.length, 'the samples include keys both refuse')
  })

  it('computes the same X25519 results and refuses the same low-order points', () => {
    const lowOrder = [new Uint8Array(32), Uint8Array.from([1, ...new Array(31).fill(0)])]
    for (const point of [...lowOrder, ...Array.from({ length: 8 }, () => bytes(32))]) {
      const secret = bytes(32)
      agree(`scalarmult with ${toHex(point)}`, (backend) => {
        const shared = new Uint8Array(32)
        backend.crypto_scalarmult(shared, secret, point)
        return { result: undefined, outputs: [shared] }
      })
    }
    for (const point of lowOrder) assert.throws(() => { portable.crypto_scalarmult(new Uint8Array(32), bytes(32), point) })
  })

  it('computes the same HMAC-SHA-512-256 and SHA-256, and verifies the same MACs', () => {
    for (const length of [0, 1, 64, 127, 128, 1000]) {
      const key = bytes(32)
      const message = bytes(length)
      agree(`auth and sha256 of ${length} bytes`, (backend) => {
        const mac = new Uint8Array(32)
        const digest = new Uint8Array(32)
        backend.crypto_auth(mac, message, key)
        backend.crypto_hash_sha256(digest, message)
        const wrong = new Uint8Array(mac)
        wrong[31] = (wrong[31] as number) ^ 1
        return { result: [backend.crypto_auth_verify(mac, message, key), backend.crypto_auth_verify(wrong, message, key)], outputs: [mac, digest] }
      })
    }
  })

  it('seals the same secretboxes (easy and detached) and opens and refuses the same ones', () => {
    for (const length of [0, 1, 18, 4096]) {
      const key = bytes(32)
      const nonce = bytes(24)
      const plaintext = bytes(length)
      agree(`secretbox of ${length} bytes`, (backend) => {
        const boxed = new Uint8Array(length + 16)
        backend.crypto_secretbox_easy(boxed, plaintext, nonce, key)
        const ciphertext = new Uint8Array(length)
        const mac = new Uint8Array(16)
        backend.crypto_secretbox_detached(ciphertext, mac, plaintext, nonce, key)
        const opened = new Uint8Array(length)
        const openedEasy = backend.crypto_secretbox_open_easy(opened, boxed, nonce, key)
        const badMac = new Uint8Array(mac)
        badMac[0] = (badMac[0] as number) ^ 1
        const refused = backend.crypto_secretbox_open_detached(new Uint8Array(length), ciphertext, badMac, nonce, key)
        // In place, as the box-stream decoder opens packets: plaintext over its own ciphertext.
        const inPlace = new Uint8Array(ciphertext)
        const openedInPlace = backend.crypto_secretbox_open_detached(inPlace, inPlace, mac, nonce, key)
        return { result: [openedEasy, refused, openedInPlace], outputs: [boxed, ciphertext, mac, opened, inPlace] }
      })
    }
  })

  it('compares in the same way and wipes', () => {
    const a = bytes(32)
    const b = new Uint8Array(a)
    b[31] = (b[31] as number) ^ 1
    for (const backend of [native, portable]) {
      assert.equal(backend.sodium_memcmp(a, new Uint8Array(a)), true)
      assert.equal(backend.sodium_memcmp(a, b), false)
      const wiped = bytes(16)
      backend.sodium_memzero(wiped)
      assert.equal(backend.sodium_is_zero(wiped), true)
      assert.equal(backend.sodium_is_zero(b), false)
    }
  })
})
