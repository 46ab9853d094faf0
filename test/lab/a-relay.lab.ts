/**
 * Lab (a): h1 and h2 sit behind home routers that do NAT, so neither can open a connection to
 * the other. A stock js-libp2p circuit relay v2 on the public host (noise only, as most relays
 * are) carries a connection between them, which they secure end to end with shs().
 */
import assert from 'node:assert/strict'
import { type LabHost, Roles } from './hosts.ts'
import type { ConnectionSeen, EchoResult } from './roles/libp2p.ts'

interface NodeReady { readonly peerId: string, readonly addresses: readonly string[] }

/** Well under the relay's default per-connection data limit (128 KiB), which it resets at. */
const ECHO_BYTES = 48 * 1024

describe('lab (a): two NATed js-libp2p nodes through a stock circuit relay v2, /shs/1.1.0 end to end', function () {
  this.timeout(60_000)
  const roles = new Roles()
  let relay: LabHost
  let listener: LabHost
  let dialer: LabHost
  let listenerReady: NodeReady
  let circuit: string

  before(async () => {
    const started = await roles.start<NodeReady>('pub', 'libp2p.ts', { relay: true, listen: ['/ip4/10.200.0.10/tcp/0'], encrypters: ['noise'] })
    relay = started.host
    const relayAddress = started.ready.addresses[0]
    assert.ok(relayAddress !== undefined, 'the relay listens')
    const h2 = await roles.start<NodeReady>('h2', 'libp2p.ts', { relay: false, listen: ['/ip4/0.0.0.0/tcp/0', `${relayAddress}/p2p-circuit`], encrypters: ['shs', 'noise'] })
    listener = h2.host
    listenerReady = h2.ready
    const h1 = await roles.start<NodeReady>('h1', 'libp2p.ts', { relay: false, listen: [], encrypters: ['shs', 'noise'] })
    dialer = h1.host
    const circuits = await listener.call<string[]>('circuitAddresses')
    circuit = circuits[0] as string
  })

  after(async () => { await roles.stopAll() })

  it('h1 cannot dial h2 directly: not its private address, not its router\'s public one', async () => {
    const direct = listenerReady.addresses.find((address) => address.startsWith('/ip4/192.168.2.2/tcp/'))
    assert.ok(direct !== undefined, `h2 listens on its LAN address (${listenerReady.addresses.join(', ')})`)
    await assert.rejects(dialer.call('dialEcho', { address: direct, bytes: 1 }), /ENETUNREACH/, 'no route to a private address behind another router')
    const viaRouter = direct.replace('/ip4/192.168.2.2/', '/ip4/10.200.0.2/')
    await assert.rejects(dialer.call('dialEcho', { address: viaRouter, bytes: 1 }), /ECONNREFUSED/, 'the router forwards nothing it was not asked for')
  })

  it('through the relay h1 reaches h2 over /shs/1.1.0, and the echo comes back intact', async () => {
    const result = await dialer.call<EchoResult>('dialEcho', { address: circuit, bytes: ECHO_BYTES })
    assert.equal(result.connection.remotePeer, listenerReady.peerId)
    assert.match(result.connection.remoteAddr, /\/p2p-circuit\//, 'the connection is relayed')
    assert.equal(result.connection.limited, true, 'as a relayed connection, it has the relay\'s limits')
    assert.equal(result.connection.encryption, '/shs/1.1.0')
    assert.deepEqual([result.bytes, result.intact], [ECHO_BYTES, true])
    const seenByListener = await listener.call<ConnectionSeen[]>('connections')
    assert.ok(seenByListener.some((connection) => connection.limited && connection.encryption === '/shs/1.1.0'), 'h2 holds the relayed connection as /shs/1.1.0 too')
  })

  it('the relay only forwarded: its own connections are noise, and both peers reach it from behind their routers', async () => {
    const seen = await relay.call<ConnectionSeen[]>('connections')
    assert.deepEqual([...new Set(seen.map((connection) => connection.encryption))], ['/noise'])
    const from = seen.map((connection) => connection.remoteAddr.split('/')[2]).sort()
    assert.deepEqual(from, ['10.200.0.1', '10.200.0.2'], 'h1 and h2 are seen as their routers\' public addresses (masquerade)')
  })
})
