/** The sans-IO handshake machine on its own: no sockets, no timers, just bytes in and out. */
import assert from 'node:assert/strict'
import {
  SSB_NETWORK_KEY, SecretHandshake, ShsError, generateKeyPair, type HandshakeAction, type SessionKeys
} from '../src/index.ts'
import { generateCurveKeyPair, randomBytes } from '../src/crypto/primitives.ts'
import { deterministicClient, deterministicServer } from '../src/handshake/deterministic.ts'
import { createHandshakeState, acceptHello, createHello, createClientAuth, acceptClientAuth, wipeHandshakeState } from '../src/handshake/steps.ts'
import { asKeyPair, asNetworkKey, asPublicKey } from '../src/crypto/keys.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()

function writeOf (action: HandshakeAction): Uint8Array {
  assert.equal(action.type, 'write')
  return (action as { bytes: Uint8Array }).bytes
}

function sessionOf (machine: SecretHandshake): SessionKeys {
  const action = machine.next()
  assert.equal(action.type, 'complete')
  return (action as { session: SessionKeys }).session
}

function expectCode (code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ShsError, `expected an ShsError, got ${String(err)}`)
    assert.equal(err.code, code)
    return true
  }
}

function pair (options: { serverNetworkKey?: Uint8Array, remotePublicKey?: Uint8Array } = {}): { client: SecretHandshake, server: SecretHandshake } {
  return {
    client: SecretHandshake.client({ keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: options.remotePublicKey ?? serverKeys.publicKey }),
    server: SecretHandshake.server({ keys: serverKeys, networkKey: options.serverNetworkKey ?? SSB_NETWORK_KEY })
  }
}

describe('handshake: sans-IO state machine', () => {
  it('completes with mirrored session keys and each side knowing the other', () => {
    const { client, server } = pair()
    const msg1 = writeOf(client.next())
    assert.equal(msg1.byteLength, 64)
    assert.deepEqual(server.next(), { type: 'read', message: 'clientHello', length: 64 })
    server.receive(msg1)
    const msg2 = writeOf(server.next())
    assert.equal(msg2.byteLength, 64)
    client.receive(msg2)
    const msg3 = writeOf(client.next())
    assert.equal(msg3.byteLength, 112)
    server.receive(msg3)
    const decision = server.next()
    assert.equal(decision.type, 'authorize')
    assert.deepEqual((decision as { remotePublicKey: Uint8Array }).remotePublicKey, clientKeys.publicKey)
    server.authorize(true)
    const msg4 = writeOf(server.next())
    assert.equal(msg4.byteLength, 80)
    client.receive(msg4)

    const c = sessionOf(client)
    const s = sessionOf(server)
    assert.deepEqual(c.remotePublicKey, serverKeys.publicKey)
    assert.deepEqual(s.remotePublicKey, clientKeys.publicKey)
    assert.deepEqual(c.encryptKey, s.decryptKey)
    assert.deepEqual(c.decryptKey, s.encryptKey)
    assert.deepEqual(c.encryptNonce, s.decryptNonce)
    assert.deepEqual(c.decryptNonce, s.encryptNonce)
    assert.notDeepEqual(c.encryptKey, c.decryptKey, 'each direction has its own key')
    // docs/PROTOCOL.md: the nonces come from the hello MACs.
    assert.deepEqual(c.decryptNonce, msg1.subarray(0, 24))
    assert.deepEqual(c.encryptNonce, msg2.subarray(0, 24))
    assert.ok(client.isComplete && server.isComplete)
  })

  it('uses fresh ephemeral keys: two handshakes between the same peers share no message or key', () => {
    const run = (): { msg1: Uint8Array, session: SessionKeys } => {
      const { client, server } = pair()
      const msg1 = writeOf(client.next())
      server.receive(msg1)
      client.receive(writeOf(server.next()))
      server.receive(writeOf(client.next()))
      server.next()
      server.authorize(true)
      client.receive(writeOf(server.next()))
      return { msg1, session: sessionOf(client) }
    }
    const first = run()
    const second = run()
    assert.notDeepEqual(first.msg1, second.msg1)
    assert.notDeepEqual(first.session.encryptKey, second.session.encryptKey)
  })

  it('server refuses a hello made with another network key; the client reads the hang-up as a wrong network key', () => {
    const { client, server } = pair({ serverNetworkKey: randomBytes(32) })
    assert.throws(() => server.receive(writeOf(client.next())), expectCode('ERR_SHS_INVALID_HELLO'))
    assert.throws(() => server.next(), expectCode('ERR_SHS_INVALID_HELLO'), 'a failed machine writes nothing more')
    const hangUp = client.peerHungUp()
    assert.equal(hangUp.code, 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')
    assert.match(hangUp.message, /wrong network key, not an SHS server, or the server is busy \(try again\)/)
  })

  it('server refuses a client that assumed a different server key; the client reads that hang-up correctly', () => {
    const { client, server } = pair({ remotePublicKey: generateKeyPair().publicKey })
    server.receive(writeOf(client.next()))
    client.receive(writeOf(server.next()))
    assert.throws(() => server.receive(writeOf(client.next())), expectCode('ERR_SHS_INVALID_CLIENT_AUTH'))
    const hangUp = client.peerHungUp()
    assert.equal(hangUp.code, 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH')
    assert.match(hangUp.message, /wrong server public key, the server does not authorize our key, or it has too many connections open/)
  })

  it('an unauthorized client is refused after message 3 and gets no message 4', () => {
    const { client, server } = pair()
    server.receive(writeOf(client.next()))
    client.receive(writeOf(server.next()))
    server.receive(writeOf(client.next()))
    assert.equal(server.next().type, 'authorize')
    assert.throws(() => server.authorize(false), expectCode('ERR_SHS_UNAUTHORIZED'))
    assert.throws(() => server.next(), expectCode('ERR_SHS_UNAUTHORIZED'))
  })

  it('a throwing authorize hook refuses the client and keeps the cause', () => {
    const { client, server } = pair()
    server.receive(writeOf(client.next()))
    client.receive(writeOf(server.next()))
    server.receive(writeOf(client.next()))
    server.next()
    const cause = new Error('database down')
    assert.throws(() => server.authorize(false, cause), (err: unknown) => err instanceof ShsError && err.code === 'ERR_SHS_AUTHORIZE_FAILED' && err.cause === cause)
  })

  for (const [name, index] of [['message 2', 1], ['message 4', 3]] as const) {
    it(`client refuses a corrupted ${name}`, () => {
      const { client, server } = pair()
      const messages: Uint8Array[] = []
      const relay = (): void => {
        server.receive(writeOf(client.next()))
        const msg2 = writeOf(server.next())
        messages.push(msg2)
        if (index === 1) {
          msg2[40] = (msg2[40] as number) ^ 1
          client.receive(msg2)
          return
        }
        client.receive(msg2)
        server.receive(writeOf(client.next()))
        server.next()
        server.authorize(true)
        const msg4 = writeOf(server.next())
        msg4[10] = (msg4[10] as number) ^ 0x80
        client.receive(msg4)
      }
      assert.throws(relay, expectCode(index === 1 ? 'ERR_SHS_INVALID_HELLO' : 'ERR_SHS_INVALID_SERVER_ACCEPT'))
    })
  }

  it('refuses messages of the wrong length', () => {
    const { client, server } = pair()
    assert.throws(() => server.receive(writeOf(client.next()).subarray(0, 63)), expectCode('ERR_SHS_INVALID_HELLO'))
  })

  it('refuses calls out of order with ERR_SHS_INVALID_STATE', () => {
    const { client, server } = pair()
    assert.throws(() => client.receive(new Uint8Array(64)), expectCode('ERR_SHS_INVALID_STATE'))
    assert.throws(() => server.authorize(true), expectCode('ERR_SHS_INVALID_STATE'))
  })

  it('explains a client that hangs up on the server', () => {
    const { server } = pair()
    assert.equal(server.peerHungUp().code, 'ERR_SHS_CLIENT_HUNG_UP')
  })

  describe('wipes its secrets', () => {
    it('zeroes the ephemeral secret once the handshake completes', () => {
      const clientEphemeral = generateCurveKeyPair()
      const serverEphemeral = generateCurveKeyPair()
      const client = deterministicClient({ keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey }, clientEphemeral)
      const server = deterministicServer({ keys: serverKeys, networkKey: SSB_NETWORK_KEY }, serverEphemeral)
      server.receive(writeOf(client.next()))
      client.receive(writeOf(server.next()))
      server.receive(writeOf(client.next()))
      server.next()
      server.authorize(true)
      client.receive(writeOf(server.next()))
      assert.ok(clientEphemeral.secretKey.every((b) => b === 0))
      assert.ok(serverEphemeral.secretKey.every((b) => b === 0))
    })

    it('zeroes the ephemeral secret when the handshake fails', () => {
      const serverEphemeral = generateCurveKeyPair()
      const server = deterministicServer({ keys: serverKeys, networkKey: SSB_NETWORK_KEY }, serverEphemeral)
      assert.throws(() => server.receive(randomBytes(64)))
      assert.ok(serverEphemeral.secretKey.every((b) => b === 0))
    })

    it('zeroes every DH value, the signed hash and message 3 in one place', () => {
      const networkKey = asNetworkKey(SSB_NETWORK_KEY)
      const client = createHandshakeState({ networkKey, local: asKeyPair(clientKeys), remotePublicKey: asPublicKey(serverKeys.publicKey, 'server') })
      const server = createHandshakeState({ networkKey, local: asKeyPair(serverKeys) })
      assert.ok(acceptHello(server, createHello(client)))
      assert.ok(acceptHello(client, createHello(server)))
      assert.ok(acceptClientAuth(server, createClientAuth(client)))
      const secrets = [server.ephemeral.secretKey, server.ab, server.aB, server.Ab, server.abHash, server.clientAuthPayload]
      assert.ok(secrets.every((s) => s !== undefined && s.some((b) => b !== 0)), 'the secrets were set')
      wipeHandshakeState(server)
      for (const secret of secrets) assert.ok(secret?.every((b) => b === 0))
    })
  })
})
