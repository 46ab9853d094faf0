/**
 * The encrypter on its own, over libp2p's in-memory connection pair: abort and timeout at every
 * handshake step, the errors a misconfigured dial gets, the ends of the box stream (goodbye,
 * half-close, truncation, forged bytes), backpressure, metrics, and wire compatibility with the
 * core codec. No sockets: nothing can outlive a test.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { MessageStream, MultiaddrConnection, PrivateKey, StreamCloseEvent } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { byteStream, multiaddrConnectionPair } from '@libp2p/utils'
import { BoxStreamDecoder, BoxStreamEncoder, HEADER_BYTES, InvalidOptionError, SecretHandshake, type SessionKeys } from '../../src/index.ts'
import { ShsEncrypter, shs } from '../../src/libp2p/index.ts'
import { CountingMetrics } from './helpers.ts'

const NETWORK_KEY = randomBytes(32)
/** Far beyond any test's run time: only an abort can end a handshake that waits this long. */
const NEVER_MS = 600_000

interface Party {
  privateKey: PrivateKey
  encrypter: ShsEncrypter
  metrics: CountingMetrics
}

async function party (init: { timeout?: number } = {}): Promise<Party> {
  const privateKey = await generateKeyPair('Ed25519')
  const metrics = new CountingMetrics()
  // Plain /shs/1.0.0: these tests play SHS1 and the box stream by hand (muxer-negotiation.test.ts has /shs/1.1.0).
  const encrypter = new ShsEncrypter(
    { privateKey, logger: defaultLogger(), metrics },
    { networkKey: NETWORK_KEY, timeout: init.timeout ?? NEVER_MS, muxerNegotiation: false })
  return { privateKey, encrypter, metrics }
}

function keysOf (privateKey: PrivateKey): { publicKey: Uint8Array, secretKey: Uint8Array } {
  if (privateKey.type !== 'Ed25519') throw new Error('test keys are Ed25519')
  return { publicKey: privateKey.publicKey.raw, secretKey: privateKey.raw }
}

/** Secures both ends of a fresh in-memory pair; resolves with [client side, server side]. */
async function securedPair (client: Party, server: Party, transport: { chunkSize?: number } = {}): Promise<[MessageStream, MessageStream, MultiaddrConnection, MultiaddrConnection]> {
  const [rawClient, rawServer] = multiaddrConnectionPair(transport)
  const [outbound, inbound] = await Promise.all([
    client.encrypter.secureOutbound(rawClient, { remotePeer: peerIdFromPrivateKey(server.privateKey) }),
    server.encrypter.secureInbound(rawServer)
  ])
  return [outbound.connection, inbound.connection, rawClient, rawServer]
}

/**
 * Plays one side of SHS1 by hand with the core machine over a raw connection, and stops before
 * writing `stopBefore` (or runs to the end). Returns the session keys if it completed.
 */
async function playHandshake (raw: MessageStream, machine: SecretHandshake, stopBefore?: string): Promise<SessionKeys | undefined> {
  const bytes = byteStream(raw)
  for (;;) {
    const action = machine.next()
    if (action.type === 'complete') {
      bytes.unwrap()
      return action.session
    }
    if (action.type === 'write') {
      if (action.message === stopBefore) return undefined
      raw.send(action.bytes)
    } else if (action.type === 'read') {
      machine.receive((await bytes.read({ bytes: action.length })).subarray())
    } else {
      machine.authorize(true)
    }
  }
}

/**
 * Plays the server by hand up to the end, but holds message 4 back instead of sending it, so the
 * test can send it together with what follows.
 */
async function serveHoldingMessage4 (raw: MessageStream, serverKey: PrivateKey): Promise<{ message4: Uint8Array, session: SessionKeys, bytes: ReturnType<typeof byteStream> }> {
  const machine = SecretHandshake.server({ keys: keysOf(serverKey), networkKey: NETWORK_KEY })
  const bytes = byteStream(raw)
  let message4: Uint8Array | undefined
  for (let action = machine.next(); ; action = machine.next()) {
    if (action.type === 'complete') {
      if (message4 === undefined) throw new Error('the server never produced message 4')
      return { message4, session: action.session, bytes }
    }
    if (action.type === 'read') machine.receive((await bytes.read({ bytes: action.length })).subarray())
    else if (action.type === 'authorize') machine.authorize(true)
    else if (action.message === 'serverAccept') message4 = action.bytes
    else raw.send(action.bytes)
  }
}

/** Everything the stream delivers until it ends, and the error it ended with, if any. */
async function readAll (stream: MessageStream): Promise<{ data: Buffer, error: Error | undefined }> {
  const chunks: Uint8Array[] = []
  try {
    for await (const chunk of stream) chunks.push(chunk.subarray())
    return { data: Buffer.concat(chunks), error: undefined }
  } catch (err) {
    return { data: Buffer.concat(chunks), error: err as Error }
  }
}

async function closeEvent (stream: MessageStream): Promise<StreamCloseEvent> {
  if (stream.status === 'closed' || stream.status === 'aborted' || stream.status === 'reset') {
    throw new Error(`the stream is already ${stream.status}`)
  }
  return await new Promise((resolve) => { stream.addEventListener('close', resolve, { once: true }) })
}

describe('ShsEncrypter on an in-memory connection', function () {
  this.timeout(10_000)

  describe('honours the AbortSignal at every step of the handshake', () => {
    it('rejects at once, sending nothing, when the signal is already aborted', async () => {
      const client = await party()
      const server = await party()
      const [rawClient, rawServer] = multiaddrConnectionPair()
      const received: unknown[] = []
      rawServer.addEventListener('message', (evt) => { received.push(evt.data) })

      await assert.rejects(client.encrypter.secureOutbound(rawClient, {
        remotePeer: peerIdFromPrivateKey(server.privateKey), signal: AbortSignal.abort()
      }), { name: 'AbortError', code: 'ERR_SHS_ABORTED' })
      assert.equal(rawClient.status, 'aborted')
      assert.deepEqual(received, [])
      assert.equal(client.metrics.value('libp2p_shs_handshake_errors_total'), 1)
    })

    const clientStalls: Array<{ waitingFor: string, peerStopsBefore: string }> = [
      { waitingFor: 'serverHello', peerStopsBefore: 'serverHello' },
      { waitingFor: 'serverAccept', peerStopsBefore: 'serverAccept' }
    ]
    for (const { waitingFor, peerStopsBefore } of clientStalls) {
      it(`client: rejects with AbortError while waiting for ${waitingFor}`, async () => {
        const client = await party()
        const server = await party()
        const [rawClient, rawServer] = multiaddrConnectionPair()
        const controller = new AbortController()
        const serverMachine = SecretHandshake.server({ keys: keysOf(server.privateKey), networkKey: NETWORK_KEY })
        const securing = client.encrypter.secureOutbound(rawClient, {
          remotePeer: peerIdFromPrivateKey(server.privateKey), signal: controller.signal
        })
        await playHandshake(rawServer, serverMachine, peerStopsBefore)
        controller.abort()

        await assert.rejects(securing, (err: Error & { code?: string }) => {
          assert.equal(err.name, 'AbortError')
          assert.equal(err.code, 'ERR_SHS_ABORTED')
          assert.match(err.message, new RegExp(`waiting for ${waitingFor}`))
          return true
        })
        assert.equal(rawClient.status, 'aborted')
      })
    }

    const serverStalls: Array<{ waitingFor: string, peerStopsBefore: string }> = [
      { waitingFor: 'clientHello', peerStopsBefore: 'clientHello' },
      { waitingFor: 'clientAuth', peerStopsBefore: 'clientAuth' }
    ]
    for (const { waitingFor, peerStopsBefore } of serverStalls) {
      it(`server: rejects with AbortError while waiting for ${waitingFor}`, async () => {
        const server = await party()
        const client = await party()
        const [rawClient, rawServer] = multiaddrConnectionPair()
        const controller = new AbortController()
        const clientMachine = SecretHandshake.client({
          keys: keysOf(client.privateKey), networkKey: NETWORK_KEY, remotePublicKey: keysOf(server.privateKey).publicKey
        })
        const securing = server.encrypter.secureInbound(rawServer, { signal: controller.signal })
        await playHandshake(rawClient, clientMachine, peerStopsBefore)
        controller.abort()

        await assert.rejects(securing, (err: Error) => {
          assert.equal(err.name, 'AbortError')
          assert.match(err.message, new RegExp(`waiting for ${waitingFor}`))
          return true
        })
        assert.equal(rawServer.status, 'aborted')
      })
    }

    it('times out with HandshakeTimeoutError when the peer never answers', async () => {
      const client = await party({ timeout: 50 })
      const server = await party()
      const [rawClient] = multiaddrConnectionPair()
      await assert.rejects(client.encrypter.secureOutbound(rawClient, { remotePeer: peerIdFromPrivateKey(server.privateKey) }),
        { name: 'HandshakeTimeoutError', code: 'ERR_SHS_HANDSHAKE_TIMEOUT' })
      assert.equal(rawClient.status, 'aborted')
    })
  })

  describe('misconfigured dials', () => {
    it('refuses an outbound connection without a remote peer, telling the user to dial /p2p/<peer id>', async () => {
      const client = await party()
      const [rawClient] = multiaddrConnectionPair()
      await assert.rejects(client.encrypter.secureOutbound(rawClient), (err: Error & { code?: string }) => {
        assert.equal(err.name, 'RemotePeerRequiredError')
        assert.equal(err.code, 'ERR_SHS_REMOTE_PEER_REQUIRED')
        assert.match(err.message, /\/p2p\/<peer id>/)
        assert.match(err.message, /cold/)
        return true
      })
    })

    it('refuses to dial a peer id that is not Ed25519', async () => {
      const client = await party()
      const [rawClient] = multiaddrConnectionPair()
      const secp256k1Peer = peerIdFromPrivateKey(await generateKeyPair('secp256k1'))
      await assert.rejects(client.encrypter.secureOutbound(rawClient, { remotePeer: secp256k1Peer }),
        { name: 'UnsupportedPeerKeyError', code: 'ERR_SHS_UNSUPPORTED_KEY_TYPE' })
    })

    it('rejects a network key that is not 32 bytes, or a bad timeout, where shs() is called and when the node is built', async () => {
      const privateKey = await generateKeyPair('Ed25519')
      assert.throws(() => shs({ networkKey: new Uint8Array(16) }),
        { name: 'InvalidKeyError', code: 'ERR_SHS_INVALID_KEY', option: 'networkKey' })
      assert.throws(() => new ShsEncrypter({ privateKey, logger: defaultLogger() }, { networkKey: new Uint8Array(16) }),
        { name: 'InvalidKeyError', code: 'ERR_SHS_INVALID_KEY' })
      const badTimeout = (err: unknown): boolean => err instanceof InvalidOptionError && err.option === 'timeout' &&
        /timeout must be a whole number of milliseconds from 1 to 2147483647/.test(err.message)
      assert.throws(() => shs({ timeout: 0 }), badTimeout)
      assert.throws(() => new ShsEncrypter({ privateKey, logger: defaultLogger() }, { timeout: 0 }), badTimeout)
    })

    it('fails on both sides when the client dialled the wrong server key', async () => {
      const client = await party()
      const server = await party()
      const someoneElse = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      const [rawClient, rawServer] = multiaddrConnectionPair()
      const [outbound, inbound] = await Promise.allSettled([
        client.encrypter.secureOutbound(rawClient, { remotePeer: someoneElse }),
        server.encrypter.secureInbound(rawServer)
      ])
      assert.equal(outbound.status, 'rejected')
      assert.equal(inbound.status, 'rejected')
      assert.match((inbound.reason as Error).message, /message 3/)
      assert.equal(server.metrics.value('libp2p_shs_handshake_errors_total'), 1)
      assert.equal(server.metrics.value('libp2p_shs_handshake_successes_total'), 0)
    })

    it('hangs up on a peer with the wrong network key by closing the connection, not aborting it', async () => {
      // A close reaches the peer on every transport; @libp2p/websockets 10 cannot send an abort
      // (test/libp2p/upstream.test.ts), so a refused browser would otherwise wait for its dial timeout.
      const server = await party()
      const [rawClient, rawServer] = multiaddrConnectionPair()
      const clientEnded = closeEvent(rawClient)
      const wrongKey = SecretHandshake.client({
        keys: keysOf((await party()).privateKey), networkKey: randomBytes(32), remotePublicKey: keysOf(server.privateKey).publicKey
      })
      const securing = server.encrypter.secureInbound(rawServer)
      const action = wrongKey.next()
      assert.equal(action.type, 'write')
      rawClient.send(action.type === 'write' ? action.bytes : new Uint8Array(0))
      await assert.rejects(securing, (err: Error & { code?: string }) => {
        assert.equal(err.name, 'HandshakeError')
        assert.match(err.message, /network key/)
        return true
      })
      const ended = await clientEnded
      assert.equal(ended.error, undefined, 'the client saw a clean close, not a reset')
      assert.notEqual(rawServer.status, 'aborted')
    })
  })

  describe('the secured stream', () => {
    it('close() sends goodbye: the peer sees a clean end and can still answer (half-close)', async () => {
      const [client, server] = await securedPair(await party(), await party())
      const serverReads = readAll(server)
      const clientReads = readAll(client)

      client.send(Buffer.from('request'))
      await client.close()
      const request = await serverReads
      assert.equal(request.error, undefined)
      assert.equal(request.data.toString(), 'request')

      // Our side said goodbye, the peer has not: it may still send, and we still read.
      server.send(Buffer.from('response after your goodbye'))
      const serverClosed = closeEvent(server)
      await server.close()
      const response = await clientReads
      assert.equal(response.error, undefined)
      assert.equal(response.data.toString(), 'response after your goodbye')
      assert.equal((await serverClosed).error, undefined)
      assert.equal(server.status, 'closed')
      assert.equal(client.status, 'closed')
    })

    it('a raw connection that ends inside a packet is a truncation; between packets it is the clean end libp2p expects of an encrypter', async () => {
      for (const where of ['inside a packet', 'between packets'] as const) {
        const [rawClient, rawServer] = multiaddrConnectionPair()
        const [client, server] = [await party(), await party()]
        const [outbound, inbound] = await Promise.all([
          client.encrypter.secureOutbound(rawClient, { remotePeer: peerIdFromPrivateKey(server.privateKey) }),
          server.encrypter.secureInbound(rawServer)
        ])
        const serverReads = readAll(inbound.connection)
        outbound.connection.send(Buffer.from('whole'))
        // Bytes past the packets, as a cut cable mid-packet leaves: forged straight into the raw connection.
        if (where === 'inside a packet') rawClient.send(randomBytes(20))
        // The transport's own close, as a cut cable or a forged FIN would look (not libp2p's Connection.close()).
        await rawClient.close()
        const { data, error } = await serverReads
        assert.equal(data.toString(), 'whole', where)
        if (where === 'inside a packet') {
          assert.equal(error?.name, 'BoxStreamError')
          assert.equal((error as Error & { code?: string }).code, 'ERR_BOX_STREAM_TRUNCATED')
        } else {
          assert.equal(error, undefined, 'the muxer above tells whether its streams ended')
        }
      }
    })

    it('libp2p closing the raw connection (as Connection.close() does, without touching the encrypter): both sides see a clean end', async () => {
      const [client, server, rawClient] = await securedPair(await party(), await party())
      const serverReads = readAll(server)
      const clientClosed = closeEvent(client)
      client.send(Buffer.from('all of it'))
      await rawClient.close()
      const { data, error } = await serverReads
      assert.equal(data.toString(), 'all of it')
      assert.equal(error, undefined)
      assert.equal((await clientClosed).error, undefined, 'our node closed it: a local close, not a truncation')
    })

    it('aborts on bytes forged into the raw connection and delivers none of them', async () => {
      const client = await party()
      const server = await party()
      const [secureClient, secureServer, rawClient] = await securedPair(client, server)
      const serverReads = readAll(secureServer)
      secureClient.send(Buffer.from('authentic'))
      rawClient.send(randomBytes(64))

      const { data, error } = await serverReads
      assert.equal(data.toString(), 'authentic')
      assert.equal(error?.name, 'BoxStreamError')
      assert.equal((error as Error & { code?: string }).code, 'ERR_BOX_STREAM_BAD_HEADER')
      assert.equal(secureServer.status, 'aborted')
      assert.equal(server.metrics.value('libp2p_shs_decrypt_errors_total'), 1)
    })

    it('forwards backpressure: send() returns false while the transport is full, then drain fires', async () => {
      const [client, server] = await securedPair(await party(), await party())
      const serverReads = readAll(server)
      const data = randomBytes(1024 * 1024)

      assert.equal(client.send(data), false, 'one MiB overfills the in-memory transport')
      assert.equal(client.writableNeedsDrain, true)
      await new Promise((resolve) => { client.addEventListener('drain', resolve, { once: true }) })
      await client.close()

      const received = await serverReads
      assert.equal(received.error, undefined)
      assert.ok(received.data.equals(data))
    })

    it('counts handshakes and packets in the node\'s metrics', async () => {
      const client = await party()
      const server = await party()
      // A transport that delivers 1000-byte pieces, so packets arrive split across many pushes.
      const [secureClient, secureServer] = await securedPair(client, server, { chunkSize: 1000 })
      let received = 0
      const arrived = async (total: number): Promise<void> => {
        while (received < total) await new Promise((resolve) => { secureServer.addEventListener('message', resolve, { once: true }) })
      }
      secureServer.addEventListener('message', (evt) => { received += evt.data.byteLength })
      // Two separate writes of 5000 bytes are two packets each (4096 + 904).
      secureClient.send(randomBytes(5000))
      await arrived(5000)
      secureClient.send(randomBytes(5000))
      await arrived(10_000)
      await secureClient.close()

      for (const side of [client, server]) {
        assert.equal(side.metrics.value('libp2p_shs_handshake_successes_total'), 1)
        assert.equal(side.metrics.value('libp2p_shs_handshake_errors_total'), 0)
        assert.equal(side.metrics.value('libp2p_shs_decrypt_errors_total'), 0)
      }
      assert.equal(client.metrics.value('libp2p_shs_encrypted_packets_total'), 4)
      assert.equal(server.metrics.value('libp2p_shs_decrypted_packets_total'), 4)
    })

    it('keeps data and goodbye that arrive with message 4, even if the transport ends before the handshake returns', async () => {
      const client = await party()
      const serverKey = await generateKeyPair('Ed25519')
      const [rawClient, rawServer] = multiaddrConnectionPair()
      const securing = client.encrypter.secureOutbound(rawClient, { remotePeer: peerIdFromPrivateKey(serverKey) })
      const { message4, session } = await serveHoldingMessage4(rawServer, serverKey)
      const encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce)
      // Message 4, a packet and goodbye in one write, then the server hangs up at once.
      rawServer.send(Buffer.concat([message4, encoder.encode(Buffer.from('last words')), encoder.goodbye()]))
      await rawServer.close()

      const { connection } = await securing
      // Everything ended before anyone could listen: the data waits, and the end was clean.
      assert.equal(connection.status, 'closed')
      assert.equal(connection.readBufferLength, 'last words'.length)
      const delivered = await new Promise<Uint8Array>((resolve) => {
        connection.addEventListener('message', (evt) => { resolve(evt.data.subarray()) }, { once: true })
      })
      assert.equal(Buffer.from(delivered).toString(), 'last words')
    })

    it('speaks plain SHS1 + box stream: a hand-driven core peer reads and writes it, even data sent with message 4', async () => {
      const client = await party()
      const serverKey = await generateKeyPair('Ed25519')
      const [rawClient, rawServer] = multiaddrConnectionPair()

      const securing = client.encrypter.secureOutbound(rawClient, { remotePeer: peerIdFromPrivateKey(serverKey) })
      const { message4, session, bytes } = await serveHoldingMessage4(rawServer, serverKey)
      const encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce)
      const decoder = new BoxStreamDecoder(session.decryptKey, session.decryptNonce)
      // Message 4 and the first packet in one write: they reach the client in the same chunk.
      rawServer.send(Buffer.concat([message4, encoder.encode(Buffer.from('hello from a core server'))]))

      const { connection, remotePeer } = await securing
      assert.equal(remotePeer.toString(), peerIdFromPrivateKey(serverKey).toString())
      const clientReads = readAll(connection)
      const greeting = Buffer.from('hello from libp2p')
      connection.send(greeting)
      await connection.close()
      // One packet (header + body), then goodbye (a header alone).
      const sealedLength = HEADER_BYTES + greeting.byteLength + HEADER_BYTES
      const fromClient = Buffer.concat(decoder.push((await bytes.read({ bytes: sealedLength })).subarray()))
      assert.equal(fromClient.toString(), 'hello from libp2p')
      assert.ok(decoder.ended, 'close() ended the box stream with goodbye')

      rawServer.send(encoder.goodbye())
      const received = await clientReads
      assert.equal(received.error, undefined)
      assert.equal(received.data.toString(), 'hello from a core server')
    })
  })
})
