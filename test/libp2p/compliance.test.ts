/**
 * What js-libp2p expects of any connection encrypter (the checks libp2p's own compliance suite
 * makes, written here so the dev install does not pull that suite's build toolchain): a protocol
 * name, a secured connection that carries many small writes intact in both directions, the right
 * peer id on each side, and an inbound peer that is not the expected one refused with
 * `UnexpectedPeerError`.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { ConnectionEncrypter, PeerId, PrivateKey } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { SHS_MUXER_PROTOCOL, SHS_PROTOCOL, shs } from '../../src/libp2p/index.ts'
import { drained } from './helpers.ts'

interface Side {
  privateKey: PrivateKey
  peerId: PeerId
  encrypter: ConnectionEncrypter
}

async function side (): Promise<Side> {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), encrypter: shs()({ privateKey, logger: defaultLogger() }) }
}

describe('libp2p connection-encrypter compliance: shs()', function () {
  let dialer: Side
  let listener: Side

  before(async () => {
    dialer = await side()
    listener = await side()
  })

  it('names its protocol', () => {
    assert.equal(typeof dialer.encrypter.protocol, 'string')
    assert.equal(dialer.encrypter.protocol, SHS_MUXER_PROTOCOL)
    assert.equal(shs({ muxerNegotiation: false })({ privateKey: dialer.privateKey, logger: defaultLogger() }).protocol, SHS_PROTOCOL)
  })

  it('secures the given connection: 10 000 small writes come back byte for byte through an echo', async () => {
    const [outboundRaw, inboundRaw] = multiaddrConnectionPair()
    const [inbound, outbound] = await Promise.all([
      listener.encrypter.secureInbound(inboundRaw),
      dialer.encrypter.secureOutbound(outboundRaw, { remotePeer: listener.peerId })
    ])

    // The listener echoes what it reads, then half-closes after the dialer did.
    const echoing = (async () => {
      for await (const chunk of inbound.connection) {
        if (!inbound.connection.send(chunk)) await drained(inbound.connection)
      }
      await inbound.connection.close()
    })()

    const messages = Array.from({ length: 10_000 }, (_, index) => new TextEncoder().encode(`message ${index} of many`))
    const reading = (async () => {
      const chunks: Uint8Array[] = []
      for await (const chunk of outbound.connection) chunks.push(chunk.subarray())
      return Buffer.concat(chunks)
    })()
    for (const message of messages) {
      if (!outbound.connection.send(message)) await drained(outbound.connection)
    }
    await outbound.connection.close()

    const [echoed] = await Promise.all([reading, echoing])
    assert.deepEqual(echoed, Buffer.concat(messages))
  })

  it('returns the other side\'s peer id on each side', async () => {
    const [outboundRaw, inboundRaw] = multiaddrConnectionPair()
    const [inbound, outbound] = await Promise.all([
      listener.encrypter.secureInbound(inboundRaw),
      dialer.encrypter.secureOutbound(outboundRaw, { remotePeer: listener.peerId })
    ])
    assert.ok(inbound.remotePeer.equals(dialer.peerId), 'the listener sees the dialer')
    assert.ok(outbound.remotePeer.equals(listener.peerId), 'the dialer sees the listener')
    await Promise.all([inbound.connection.close(), outbound.connection.close()])
  })

  it('refuses an inbound peer other than the one expected, with UnexpectedPeerError', async () => {
    const stranger = await side()
    const [outboundRaw, inboundRaw] = multiaddrConnectionPair()
    const results = await Promise.allSettled([
      listener.encrypter.secureInbound(inboundRaw, { remotePeer: stranger.peerId }),
      dialer.encrypter.secureOutbound(outboundRaw, { remotePeer: listener.peerId })
    ])
    const [inbound] = results
    assert.equal(inbound.status, 'rejected')
    assert.equal((inbound.reason as Error).name, 'UnexpectedPeerError')
    for (const result of results) {
      if (result.status === 'fulfilled') result.value.connection.abort(new Error('test over'))
    }
  })
})
