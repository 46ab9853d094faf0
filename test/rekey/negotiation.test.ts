/**
 * The rekey extension's negotiation (docs/REKEY.md, "Negotiation"), in memory: who gets it, who
 * does not, and that SHS1 peers see exactly SHS1.
 */
import assert from 'node:assert/strict'
import { type HandshakeError, SecretHandshake, type SessionKeys, sessionOutcome } from '../../src/index.ts'
import { deterministicClient, deterministicServer } from '../../src/handshake/deterministic.ts'
import { type CurveKeyPair, generateCurveKeyPair, hmac } from '../../src/crypto/primitives.ts'
import { REKEY_LABEL, rekeyNetworkKey } from '../../src/handshake/rekey-options.ts'
import type { NetworkKey } from '../../src/crypto/keys.ts'
import { clientKeys, handshake, networkKey, serverKeys, sessions, written } from './helpers.ts'

/** A handshake wipes its ephemeral secret: each run gets its own copy. */
function copy (pair: CurveKeyPair): CurveKeyPair {
  return { publicKey: new Uint8Array(pair.publicKey), secretKey: new Uint8Array(pair.secretKey) }
}

function client (rekey?: unknown): SecretHandshake {
  return SecretHandshake.client({ keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey, rekey })
}
function server (rekey?: unknown): SecretHandshake {
  return SecretHandshake.server({ keys: serverKeys, networkKey, rekey })
}

describe('rekey extension: negotiation', () => {
  for (const mode of ['prefer', 'require'] as const) {
    it(`a client that asks for it and a server with rekey '${mode}' agree on it: both sessions carry it, with their roles`, () => {
      const [c, s] = sessions({ client: 'require', server: mode })
      assert.equal(c.rekey?.role, 'client')
      assert.equal(s.rekey?.role, 'server')
      assert.equal(s.rekey?.mode, mode)
    })
  }

  it('K\' is hmac_K("shs-rekey/1") (HMAC-SHA-512-256, as the hellos\' MACs)', () => {
    assert.deepEqual(rekeyNetworkKey(networkKey as NetworkKey), hmac(networkKey, new TextEncoder().encode(REKEY_LABEL)))
  })

  it('a client that asks for it MACs its hello with K\', not K', () => {
    const hello = written(client('prefer'))
    const ephemeral = hello.subarray(32)
    assert.deepEqual(hello.subarray(0, 32), hmac(rekeyNetworkKey(networkKey as NetworkKey), ephemeral))
    assert.notDeepEqual(hello.subarray(0, 32), hmac(networkKey, ephemeral))
  })

  it('a plain SHS1 client and a server with rekey \'prefer\' run plain SHS1: the very session keys a plain server gives', () => {
    const clientEphemeral = generateCurveKeyPair()
    const serverEphemeral = generateCurveKeyPair()
    const run = (serverRekey: unknown): SessionKeys[] => handshake(
      deterministicClient({ keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey }, copy(clientEphemeral)),
      deterministicServer({ keys: serverKeys, networkKey, rekey: serverRekey }, copy(serverEphemeral)))
    const [plainClient, plainServer] = run(undefined)
    const [offeredClient, offeredServer] = run('prefer')
    assert.equal(offeredServer?.rekey, undefined)
    assert.equal(offeredClient?.rekey, undefined)
    assert.deepEqual(sessionOutcome(offeredServer as SessionKeys), sessionOutcome(plainServer as SessionKeys))
    assert.deepEqual(sessionOutcome(offeredClient as SessionKeys), sessionOutcome(plainClient as SessionKeys))
  })

  it('an extension handshake gives other session keys than SHS1 with the same ephemeral keys (it runs under K\')', () => {
    const clientEphemeral = generateCurveKeyPair()
    const serverEphemeral = generateCurveKeyPair()
    const run = (rekey: unknown): SessionKeys[] => handshake(
      deterministicClient({ keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey, rekey }, copy(clientEphemeral)),
      deterministicServer({ keys: serverKeys, networkKey, rekey: 'prefer' }, copy(serverEphemeral)))
    const [plain] = run(undefined)
    const [extension] = run('require')
    assert.notDeepEqual(sessionOutcome(extension as SessionKeys), sessionOutcome(plain as SessionKeys))
  })

  it('a plain SHS1 client and a server with rekey \'require\': the server refuses message 1 with ERR_SHS_REKEY_REQUIRED and sends nothing', () => {
    const s = server('require')
    assert.throws(() => { s.receive(written(client())) }, (err: HandshakeError) => {
      assert.equal(err.code, 'ERR_SHS_REKEY_REQUIRED')
      assert.match(err.message, /plain SHS1/)
      return true
    })
    assert.throws(() => s.next(), { code: 'ERR_SHS_REKEY_REQUIRED' })
  })

  it('a client that asks for it and a plain server: the server cannot verify the hello (ERR_SHS_INVALID_HELLO), as any stock server', () => {
    assert.throws(() => { server().receive(written(client('prefer'))) }, { code: 'ERR_SHS_INVALID_HELLO' })
  })

  it('a different network key still fails at message 1, with the extension or without', () => {
    const other = SecretHandshake.server({ keys: serverKeys, networkKey: new Uint8Array(32).fill(7), rekey: 'prefer' })
    assert.throws(() => { other.receive(written(client('prefer'))) }, { code: 'ERR_SHS_INVALID_HELLO' })
  })

  describe('cannot be stripped, even by an attacker who knows K (Scuttlebutt\'s is public)', () => {
    it('rewriting the client\'s hello MAC to K: the server takes it for plain SHS1, and message 3 does not verify', () => {
      const c = client('prefer')
      const s = server('prefer')
      const hello = written(c)
      const ephemeral = hello.subarray(32)
      const forged = new Uint8Array(hello)
      forged.set(hmac(networkKey, ephemeral), 0)
      s.receive(forged)
      // The server answers under K: the attacker rewrites that hello to K' in turn.
      const reply = written(s)
      const rewritten = new Uint8Array(reply)
      rewritten.set(hmac(rekeyNetworkKey(networkKey as NetworkKey), reply.subarray(32)), 0)
      c.receive(rewritten)
      assert.throws(() => { s.receive(written(c)) }, { code: 'ERR_SHS_INVALID_CLIENT_AUTH' })
    })

    it('rewriting the server\'s hello from K\' to K: the client, which asked for K\', refuses it', () => {
      const c = client('prefer')
      const s = server('prefer')
      s.receive(written(c))
      const reply = written(s)
      const forged = new Uint8Array(reply)
      forged.set(hmac(networkKey, reply.subarray(32)), 0)
      assert.throws(() => { c.receive(forged) }, { code: 'ERR_SHS_INVALID_HELLO' })
    })
  })

  describe('the option', () => {
    const bad: unknown[] = ['yes', 1, null, [], { mode: 'always' }, { afterBytes: 1024 }, { afterBytes: 1.5 }, { afterMs: 10 }, { timeout: 0 }, { timeout: -1 }, { afterMs: Infinity }]
    for (const value of bad) {
      it(`rekey: ${JSON.stringify(value) ?? String(value)} is an InvalidOptionError naming the option`, () => {
        assert.throws(() => client(value), (err: Error & { code?: string, option?: string }) => {
          assert.equal(err.code, 'ERR_SHS_INVALID_OPTION')
          assert.match(err.option ?? '', /^rekey/)
          return true
        })
      })
    }

    it('the defaults: prefer, after 1 GiB or 120 s, a rekey must complete within 60 s', () => {
      const [session] = sessions({ client: {}, server: 'prefer' })
      assert.deepEqual({ ...session.rekey }, { mode: 'prefer', afterBytes: 2 ** 30, afterMs: 120_000, timeout: 60_000, role: 'client' })
    })
  })
})
