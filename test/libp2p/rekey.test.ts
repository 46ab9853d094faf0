/**
 * The rekey extension in libp2p (docs/LIBP2P.md, "Rekeying"): its own protocol id, the fallback
 * multistream-select gives `'prefer'`, rekeys under load through yamux, and the ends a user relies
 * on (`'require'` against a node without it, a peer that never answers a rekey).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { Connection } from '@libp2p/interface'
import { InvalidOptionError } from '../../src/errors.ts'
import {
  SHS_MUXER_PROTOCOL, SHS_REKEY_MUXER_PROTOCOL, SHS_REKEY_PROTOCOL, type ShsInit, type ShsSecured, shs, shsEncrypters
} from '../../src/libp2p/index.ts'
import {
  ECHO_PROTOCOL, TamperingProxy, type TestNode, addressOf, createNode, exchange, tcpTarget, waitUntilDisconnected
} from './helpers.ts'

const MiB = 1024 * 1024
const LOAD_BYTES = 64 * MiB
/** The dialler's trigger: a rekey every few MiB of the load, each way (every rekey changes both keys). */
const LOAD_REKEY_AFTER_BYTES = 4 * MiB
/**
 * The fewest rekeys the load must see. Each interval is `afterBytes` plus what the dialler sent
 * while its REQUEST's answer waited behind the listener's echo backlog (libp2p's write buffer
 * and both sockets': MiBs on loopback, about another 4 MiB here), so a quarter of the naive
 * count leaves that backlog room to grow to 12 MiB.
 */
const MIN_LOAD_REKEYS = LOAD_BYTES / (4 * LOAD_REKEY_AFTER_BYTES)
/** An odd size so writes never line up with the 4096-byte box-stream packets. */
const WRITE_CHUNK_BYTES = 65_537
/** Short, so the silent peer's test is quick; the wait itself is an event, not a sleep. */
const SILENT_PEER_TIMEOUT_MS = 200
const ONE_BYTE = new Uint8Array([7])

describe('shs rekey extension in libp2p nodes over TCP + yamux', function () {
  this.timeout(120_000)

  const started: Array<{ stop: () => unknown }> = []
  afterEach(async () => {
    await Promise.all(started.splice(0).map(async (item) => { await item.stop() }))
  })

  /** A node whose encrypters are `shsEncrypters(init)`, and the connections they secured. */
  async function node (init: ShsInit, listen = true): Promise<{ node: TestNode, secured: ShsSecured[] }> {
    const secured: ShsSecured[] = []
    const created = await createNode({
      encrypters: shsEncrypters({ ...init, onSecured: (connection) => { secured.push(connection) } }),
      listen
    })
    started.push(created)
    return { node: created, secured }
  }

  function only (secured: readonly ShsSecured[]): ShsSecured {
    assert.equal(secured.length, 1, 'one connection was secured')
    return secured[0] as ShsSecured
  }

  /** One byte there and back on a new stream of `connection`: the peer has read all that was sent before it. */
  async function roundTrip (connection: Connection): Promise<void> {
    const { received, readError } = await exchange(await connection.newStream(ECHO_PROTOCOL), ONE_BYTE, 1)
    assert.equal(readError, undefined)
    assert.deepEqual([...received], [...ONE_BYTE])
  }

  it('lists the extension first, the plain id after it unless required; shs() alone refuses prefer', () => {
    const ids = (init: ShsInit): number => shsEncrypters(init).length
    assert.equal(ids({}), 1)
    assert.equal(ids({ rekey: 'prefer' }), 2)
    assert.equal(ids({ rekey: { afterMs: 60_000 } }), 2, 'an object without a mode prefers')
    assert.equal(ids({ rekey: 'require' }), 1)
    assert.throws(() => shs({ rekey: 'prefer' }), (err: Error) => err instanceof InvalidOptionError && /shsEncrypters/.test(err.message))
    assert.throws(() => shsEncrypters({ rekey: 'sometimes' as never }), InvalidOptionError)
    assert.equal(typeof shs({ rekey: 'require' }), 'function')
  })

  for (const [dialler, listener] of [['prefer', 'plain'], ['plain', 'prefer']] as const) {
    it(`a ${dialler} dialler and a ${listener} listener agree on plain ${SHS_MUXER_PROTOCOL} and work`, async () => {
      const options = (side: string): ShsInit => side === 'prefer' ? { rekey: 'prefer' } : {}
      const server = await node(options(listener))
      const client = await node(options(dialler), false)
      await client.node.services.ping.ping(addressOf(server.node))

      const [connection] = client.node.getConnections(server.node.peerId)
      assert.equal(connection?.encryption, SHS_MUXER_PROTOCOL)
      for (const side of [only(client.secured), only(server.secured)]) {
        assert.equal(side.protocol, SHS_MUXER_PROTOCOL)
        assert.equal(side.connection.rekeying, false)
        await assert.rejects(side.connection.rekey(), { code: 'ERR_SHS_REKEY_NOT_NEGOTIATED' })
      }
      await roundTrip(connection as Connection)
    })
  }

  it(`two nodes with it agree on ${SHS_REKEY_MUXER_PROTOCOL} and rekey every ${LOAD_REKEY_AFTER_BYTES / MiB} MiB of a ${LOAD_BYTES / MiB} MiB echo`, async () => {
    const server = await node({ rekey: 'prefer' })
    const client = await node({ rekey: { mode: 'require', afterBytes: LOAD_REKEY_AFTER_BYTES } }, false)
    const data = randomBytes(LOAD_BYTES)

    const stream = await client.node.dialProtocol(addressOf(server.node), ECHO_PROTOCOL)
    const [connection] = client.node.getConnections(server.node.peerId)
    assert.equal(connection?.encryption, SHS_REKEY_MUXER_PROTOCOL)
    assert.equal(connection?.multiplexer, '/yamux/1.0.0', 'the muxer is still agreed inside the handshake')
    const { received, readError } = await exchange(stream, data, WRITE_CHUNK_BYTES)
    assert.equal(readError, undefined)
    assert.equal(received.byteLength, data.byteLength)
    assert.ok(Buffer.from(received).equals(data), 'every byte came back as sent, across every rekey')

    const ours = only(client.secured).connection
    const theirs = only(server.secured).connection
    assert.ok(ours.rekeying && theirs.rekeying)
    // One more rekey on demand, then a round trip: the listener has read the SWITCH that ends it.
    await ours.rekey()
    await roundTrip(connection as Connection)
    assert.ok(ours.rekeys >= MIN_LOAD_REKEYS + 1, `${ours.rekeys} rekeys, at least ${MIN_LOAD_REKEYS + 1} expected`)
    assert.equal(theirs.rekeys, ours.rekeys, 'both sides count the same rekeys')
  })

  it(`speaks ${SHS_REKEY_PROTOCOL} with muxerNegotiation: false, and rekeys on demand from either side, or both at once`, async () => {
    const server = await node({ rekey: 'prefer', muxerNegotiation: false })
    const client = await node({ rekey: 'prefer', muxerNegotiation: false }, false)
    await client.node.services.ping.ping(addressOf(server.node))
    const [connection] = client.node.getConnections(server.node.peerId)
    assert.equal(connection?.encryption, SHS_REKEY_PROTOCOL)
    const ours = only(client.secured).connection
    const theirs = only(server.secured).connection
    // Two requests that cross make one rekey (docs/REKEY.md, "One rekey"); then one from each side.
    await Promise.all([ours.rekey(), theirs.rekey()])
    await roundTrip(connection as Connection)
    assert.deepEqual([ours.rekeys, theirs.rekeys], [1, 1])
    for (const initiator of [ours, theirs]) {
      await initiator.rekey()
      // Both SWITCH directions are read before the echo of a byte sent after this.
      await roundTrip(connection as Connection)
    }
    assert.deepEqual([ours.rekeys, theirs.rekeys], [3, 3])
  })

  for (const [dialler, listener] of [['require', 'plain'], ['plain', 'require']] as const) {
    it(`a ${dialler} dialler and a ${listener} listener do not connect: EncryptionFailedError`, async () => {
      const options = (side: string): ShsInit => side === 'require' ? { rekey: 'require' } : {}
      const server = await node(options(listener))
      const client = await node(options(dialler), false)
      await assert.rejects(client.node.dial(addressOf(server.node)), (err: Error) => {
        assert.equal(err.name, 'EncryptionFailedError')
        return true
      })
      assert.equal(client.secured.length + server.secured.length, 0, 'no connection was secured')
    })
  }

  it('drops a peer that never answers a rekey request after rekey.timeout: ERR_BOX_STREAM_REKEY_TIMEOUT', async () => {
    const server = await node({ rekey: 'prefer' })
    const client = await node({ rekey: { mode: 'require', timeout: SILENT_PEER_TIMEOUT_MS } }, false)
    const proxy = await TamperingProxy.start(tcpTarget(server.node), Infinity)
    started.push(proxy)
    await client.node.services.ping.ping(proxy.addressFor(server.node.peerId))
    const ours = only(client.secured).connection

    proxy.stalled = true
    await assert.rejects(ours.rekey(), { code: 'ERR_BOX_STREAM_REKEY_TIMEOUT' })
    await waitUntilDisconnected(client.node, server.node.peerId)
    assert.equal(ours.status, 'aborted')
  })
})
