/**
 * Two real libp2p 3 nodes over loopback TCP + yamux, secured with shs(): what a libp2p user relies
 * on. Every node and proxy a test starts is stopped in afterEach, whatever the test's outcome.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { SSB_NETWORK_KEY } from '../../src/index.ts'
import { DEFAULT_LIBP2P_NETWORK_KEY, SHS_MUXER_PROTOCOL, SHS_PROTOCOL, shs } from '../../src/libp2p/index.ts'
import {
  ECHO_PROTOCOL, TamperingProxy, type TestNode, addressOf, createNode, errorRecordingLogger, exchange, noiseEncrypter,
  shsWith, tcpTarget, waitUntilDisconnected, withoutPeerId
} from './helpers.ts'

const MiB = 1024 * 1024
/** Large enough to need many yamux windows, drains and box-stream packets in both directions. */
const ECHO_BYTES = 6 * MiB
/** An odd size so writes never line up with the 4096-byte box-stream packets. */
const WRITE_CHUNK_BYTES = 65_537
const NOISE_PROTOCOL = '/noise'
/** Where the proxy flips a bit: well past the handshake and protocol negotiation, inside the echo's data. */
const TAMPER_OFFSET = 256 * 1024

describe('shs() in libp2p nodes over TCP + yamux', function () {
  this.timeout(30_000)

  const started: Array<{ stop: () => unknown }> = []
  async function node (...args: Parameters<typeof createNode>): Promise<TestNode> {
    const created = await createNode(...args)
    started.push(created)
    return created
  }

  afterEach(async () => {
    await Promise.all(started.splice(0).map(async (item) => { await item.stop() }))
  })

  it('pings, and both sides see the right remote peer id and /shs/1.1.0 with yamux agreed inside the handshake', async () => {
    const server = await node({ encrypters: [shsWith()] })
    const client = await node({ encrypters: [shsWith()], listen: false })

    const rtt = await client.services.ping.ping(addressOf(server))
    assert.ok(Number.isFinite(rtt) && rtt >= 0)

    const [outbound] = client.getConnections(server.peerId)
    const [inbound] = server.getConnections(client.peerId)
    assert.ok(outbound !== undefined && inbound !== undefined, 'both nodes hold the connection')
    assert.equal(outbound.remotePeer.toString(), server.peerId.toString())
    assert.equal(inbound.remotePeer.toString(), client.peerId.toString())
    assert.equal(outbound.encryption, SHS_MUXER_PROTOCOL)
    assert.equal(inbound.encryption, SHS_MUXER_PROTOCOL)
    assert.equal(outbound.multiplexer, '/yamux/1.0.0')
    assert.equal(inbound.multiplexer, '/yamux/1.0.0')
  })

  it(`echoes ${ECHO_BYTES / MiB} MiB both ways byte-identical`, async () => {
    const networkKey = randomBytes(32)
    const server = await node({ encrypters: [shsWith(networkKey)] })
    const client = await node({ encrypters: [shsWith(networkKey)], listen: false })
    const data = randomBytes(ECHO_BYTES)

    const stream = await client.dialProtocol(addressOf(server), ECHO_PROTOCOL)
    const { received, readError } = await exchange(stream, data, WRITE_CHUNK_BYTES)

    assert.equal(readError, undefined)
    assert.equal(received.byteLength, data.byteLength)
    assert.ok(Buffer.from(received).equals(data), 'the echo is byte-identical')
  })

  it('carries several streams at once on one connection', async () => {
    const server = await node({ encrypters: [shsWith()] })
    const client = await node({ encrypters: [shsWith()], listen: false })
    const payloads = [randomBytes(MiB), randomBytes(MiB + 1), randomBytes(4095)]

    const results = await Promise.all(payloads.map(async (payload) => {
      const stream = await client.dialProtocol(addressOf(server), ECHO_PROTOCOL)
      return await exchange(stream, payload, 10_000)
    }))

    results.forEach(({ received, readError }, index) => {
      assert.equal(readError, undefined)
      assert.ok(Buffer.from(received).equals(payloads[index] as Buffer), `stream ${index} is echoed exactly`)
    })
    assert.equal(client.getConnections(server.peerId).length, 1, 'all streams share one secured connection')
  })

  it('[shs(), noise()] falls back to noise with a noise-only node', async () => {
    const noiseOnly = await node({ encrypters: [noiseEncrypter()] })
    const both = await node({ encrypters: [shsWith(), noiseEncrypter()], listen: false })

    await both.services.ping.ping(addressOf(noiseOnly))

    const [connection] = both.getConnections(noiseOnly.peerId)
    assert.equal(connection?.encryption, NOISE_PROTOCOL)
    assert.equal(connection?.remotePeer.toString(), noiseOnly.peerId.toString())
  })

  it('a node of an earlier release (plain /shs/1.0.0 only) still connects to one that lists the fallback after shs()', async () => {
    const plain = { networkKey: DEFAULT_LIBP2P_NETWORK_KEY, muxerNegotiation: false }
    for (const [listener, dialler] of [[[shs(), shs(plain)], [shs(plain)]], [[shs(plain)], [shs(), shs(plain)]]] as const) {
      const server = await node({ encrypters: [...listener] })
      const client = await node({ encrypters: [...dialler], listen: false })
      await client.services.ping.ping(addressOf(server))
      const [connection] = client.getConnections(server.peerId)
      assert.equal(connection?.encryption, SHS_PROTOCOL)
      assert.equal(connection?.multiplexer, '/yamux/1.0.0', 'libp2p negotiated the muxer after the handshake, as before')
    }
  })

  it('[shs(), noise()] picks /shs/1.1.0 with another [shs(), noise()] node', async () => {
    const server = await node({ encrypters: [shsWith(), noiseEncrypter()] })
    const client = await node({ encrypters: [shsWith(), noiseEncrypter()], listen: false })

    await client.services.ping.ping(addressOf(server))

    const [connection] = client.getConnections(server.peerId)
    assert.equal(connection?.encryption, SHS_MUXER_PROTOCOL)
  })

  it('never connects nodes with different network keys', async () => {
    const server = await node({ encrypters: [shsWith(randomBytes(32))] })
    const client = await node({ encrypters: [shsWith(randomBytes(32))], listen: false })

    await assert.rejects(client.dial(addressOf(server)), (err: Error) => {
      // libp2p re-wraps encrypter errors; our explanation survives in the message.
      assert.match(err.message, /network key/)
      return true
    })
    assert.equal(client.getConnections().length, 0)
    assert.equal(server.getConnections().length, 0)
  })

  it('uses a libp2p-specific default network key, not Secure Scuttlebutt\'s', async () => {
    const defaults = await node({ encrypters: [shsWith()] })
    const explicit = await node({ encrypters: [shsWith(DEFAULT_LIBP2P_NETWORK_KEY)], listen: false })
    const scuttlebutt = await node({ encrypters: [shsWith(SSB_NETWORK_KEY)], listen: false })

    await explicit.services.ping.ping(addressOf(defaults))
    assert.equal(explicit.getConnections(defaults.peerId).length, 1)
    await assert.rejects(scuttlebutt.dial(addressOf(defaults)), /network key/)
  })

  it('refuses to dial an address without /p2p/<peer id> and says to add it', async () => {
    const server = await node({ encrypters: [shsWith()] })
    const client = await node({ encrypters: [shsWith()], listen: false })

    await assert.rejects(client.dial(withoutPeerId(addressOf(server))), (err: Error) => {
      assert.match(err.message, /\/p2p\/<peer id>/)
      return true
    })
    assert.equal(client.getConnections().length, 0)
  })

  it('the dialler\'s order wins: [noise(), shs()] picks noise with a [shs(), noise()] node', async () => {
    const server = await node({ encrypters: [shsWith(), noiseEncrypter()] })
    const client = await node({ encrypters: [noiseEncrypter(), shsWith()], listen: false })

    await client.dial(addressOf(server))
    assert.equal(client.getConnections(server.peerId)[0]?.encryption, NOISE_PROTOCOL)
  })

  it('[shs(), noise()] does not fall back to noise when the network keys differ', async () => {
    const server = await node({ encrypters: [shsWith(randomBytes(32)), noiseEncrypter()] })
    const client = await node({ encrypters: [shsWith(randomBytes(32)), noiseEncrypter()], listen: false })

    await assert.rejects(client.dial(addressOf(server)), /network key/)
    assert.equal(client.getConnections().length, 0)
  })

  it('[shs(), noise()] does not fall back to noise for a dial without peer id: shs is chosen first', async () => {
    const server = await node({ encrypters: [shsWith(), noiseEncrypter()] })
    const client = await node({ encrypters: [shsWith(), noiseEncrypter()], listen: false })

    await assert.rejects(client.dial(withoutPeerId(addressOf(server))), /\/p2p\/<peer id>/)
    // The same nodes connect as soon as the address names the peer.
    await client.dial(addressOf(server))
    assert.equal(client.getConnections(server.peerId)[0]?.encryption, SHS_MUXER_PROTOCOL)
  })

  it('hangUp() closes the connection on both sides', async () => {
    const server = await node({ encrypters: [shsWith()] })
    const client = await node({ encrypters: [shsWith()], listen: false })
    await client.services.ping.ping(addressOf(server))
    assert.equal(server.getConnections(client.peerId).length, 1)

    await client.hangUp(server.peerId)
    await waitUntilDisconnected(server, client.peerId)
    assert.equal(client.getConnections(server.peerId).length, 0)
  })

  for (const how of ['hangUp()', 'stop()'] as const) {
    it(`a graceful ${how} is no truncation: neither side logs anything about shs at error level`, async () => {
      const serverLog = errorRecordingLogger()
      const clientLog = errorRecordingLogger()
      const server = await node({ encrypters: [shsWith()], logger: serverLog.logger })
      const client = await node({ encrypters: [shsWith()], listen: false, logger: clientLog.logger })
      await client.services.ping.ping(addressOf(server))
      if (how === 'hangUp()') await client.hangUp(server.peerId)
      else await client.stop()
      await waitUntilDisconnected(server, client.peerId)
      const shsErrors = [...serverLog.errors, ...clientLog.errors].filter(({ name, text }) => /shs/.test(name) || /goodbye|truncat|box-stream/i.test(text))
      assert.deepEqual(shsErrors, [])
    })
  }

  it('aborts the connection when one byte is changed in transit, delivering nothing forged', async () => {
    const server = await node({ encrypters: [shsWith()] })
    const client = await node({ encrypters: [shsWith()], listen: false })
    const proxy = await TamperingProxy.start(tcpTarget(server), TAMPER_OFFSET)
    started.push(proxy)
    const data = randomBytes(2 * MiB)

    const stream = await client.dialProtocol(proxy.addressFor(server.peerId), ECHO_PROTOCOL)
    const { received } = await exchange(stream, data, WRITE_CHUNK_BYTES)

    assert.ok(proxy.tampered, 'the proxy changed a byte')
    assert.ok(received.byteLength < data.byteLength, 'the echo stopped at the tampered packet')
    assert.ok(Buffer.from(received).equals(data.subarray(0, received.byteLength)),
      'every byte delivered is one that was sent')
    await waitUntilDisconnected(client, server.peerId)
    await waitUntilDisconnected(server, client.peerId)
  })

  it('refuses at creation a node whose key is not Ed25519, naming the fix', async () => {
    const privateKey = await generateKeyPair('secp256k1')
    await assert.rejects(createLibp2p({
      privateKey,
      transports: [tcp()],
      connectionEncrypters: [shs()],
      start: false
    }), (err: Error) => {
      assert.equal(err.name, 'UnsupportedPeerKeyError')
      assert.match(err.message, /Ed25519/)
      assert.match(err.message, /generateKeyPair\('Ed25519'\)/)
      return true
    })
  })

  it('is reached under the peer id of the Ed25519 key it was created with', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const server = await node({ encrypters: [shsWith()], privateKey })
    const client = await node({ encrypters: [shsWith()], listen: false })

    await client.services.ping.ping(addressOf(server))

    const [connection] = client.getConnections(server.peerId)
    assert.equal(connection?.remotePeer.toString(), peerIdFromPrivateKey(privateKey).toString())
  })
})
