import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { generateKeyPair, InvalidKeyError, SecretHandshake, SSB_NETWORK_KEY } from '../src/index.ts'
import { diffieHellman, generateCurveKeyPair } from '../src/crypto/primitives.ts'
import { fromHex, toHex } from './helpers/bytes.ts'

const require = createRequire(import.meta.url)
const referenceCrypto = require('secret-handshake/crypto') as { toKeys: (seed: Buffer) => { publicKey: Buffer, secretKey: Buffer } }

describe('crypto: keys', () => {
  it('generates distinct random Ed25519 key pairs in libsodium layout', () => {
    const a = generateKeyPair()
    const b = generateKeyPair()
    assert.equal(a.publicKey.byteLength, 32)
    assert.equal(a.secretKey.byteLength, 64)
    assert.deepEqual(a.secretKey.subarray(32), a.publicKey, 'secret key ends with the public key')
    assert.notDeepEqual(a.publicKey, b.publicKey)
  })

  it('derives the same key pair from a seed as the reference implementation', () => {
    const seed = fromHex('2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90')
    const ours = generateKeyPair(seed)
    const theirs = referenceCrypto.toKeys(Buffer.from(seed))
    assert.equal(toHex(ours.publicKey), toHex(theirs.publicKey))
    assert.equal(toHex(ours.secretKey), toHex(theirs.secretKey))
    assert.equal(toHex(ours.publicKey), 'd5bf4a3fcce717b0388bcc2749ebc148ad9969b23f45ee1b605fd58778576ac4')
  })

  it('refuses seeds of the wrong size', () => {
    assert.throws(() => generateKeyPair(new Uint8Array(31)), (err: unknown) =>
      err instanceof InvalidKeyError && err.code === 'ERR_SHS_INVALID_KEY' && /seed must be 32 bytes/.test(err.message))
  })

  describe('refuses malformed keys before any byte is sent', () => {
    const keys = generateKeyPair()
    const server = generateKeyPair()
    const cases: Array<[string, () => unknown, RegExp]> = [
      ['a short network key', () => SecretHandshake.client({ keys, networkKey: new Uint8Array(31), remotePublicKey: server.publicKey }), /networkKey must be 32 bytes/],
      ['a network key given as text', () => SecretHandshake.client({ keys, networkKey: 'abc', remotePublicKey: server.publicKey }), /networkKey must be a Uint8Array.*decode/],
      ['a short remote key', () => SecretHandshake.client({ keys, networkKey: SSB_NETWORK_KEY, remotePublicKey: new Uint8Array(33) }), /remotePublicKey must be 32 bytes/],
      ['a remote key that is not a curve point', () => SecretHandshake.client({ keys, networkKey: SSB_NETWORK_KEY, remotePublicKey: new Uint8Array(32).fill(0xff) }), /not a valid Ed25519 public key/],
      ['a missing key pair', () => SecretHandshake.server({ keys: undefined, networkKey: SSB_NETWORK_KEY }), /keys must be \{ publicKey, secretKey \}/],
      ['a short secret key', () => SecretHandshake.server({ keys: { publicKey: keys.publicKey, secretKey: new Uint8Array(32) }, networkKey: SSB_NETWORK_KEY }), /keys.secretKey must be 64 bytes/],
      ['halves of two different key pairs', () => SecretHandshake.server({ keys: { publicKey: server.publicKey, secretKey: keys.secretKey }, networkKey: SSB_NETWORK_KEY }), /does not belong/]
    ]
    for (const [name, attempt, message] of cases) {
      it(name, () => {
        assert.throws(attempt, (err: unknown) => err instanceof InvalidKeyError && err.code === 'ERR_SHS_INVALID_KEY' && message.test(err.message))
      })
    }
  })

  it('refuses Diffie-Hellman with a low-order point (all-zero shared secret)', () => {
    const { secretKey } = generateCurveKeyPair()
    // The identity point and a point of order 8: both force the shared secret to zero.
    const lowOrderPoints = [
      new Uint8Array(32),
      fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800')
    ]
    for (const point of lowOrderPoints) {
      assert.throws(() => diffieHellman(secretKey, point), (err: unknown) =>
        err instanceof InvalidKeyError && err.code === 'ERR_SHS_WEAK_KEY')
    }
  })
})
