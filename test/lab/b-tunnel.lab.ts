/**
 * Lab (b): two secret-stack apps on this library's plugin, each behind a NAT, reach each other
 * through a stock ssb-tunnel portal on the public host (secret-stack's own shs plugin). The
 * tunnel runs SHS end to end inside the two outer connections; the portal, which decrypts those,
 * sees only the inner handshake and box stream.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { type LabHost, Roles } from './hosts.ts'
import type { EchoCall, SsbReady } from './roles/ssb.ts'
import type { Relayed } from './roles/tunnel-tap.ts'

const ECHO_BYTES = 256 * 1024
/** Sent as the first bytes of the tunnelled echo; the portal must never see it. */
const MARKER = 'shs-transport lab: plaintext the portal must not see'
/** Inside the namespaces only: Scuttlebutt's usual port. */
const PORT = 8008

describe('lab (b): two NATed secret-stack peers on our plugin through a stock ssb-tunnel portal', function () {
  this.timeout(60_000)
  const roles = new Roles()
  const caps = randomBytes(32).toString('base64')
  let portal: LabHost
  let portalReady: SsbReady
  let endpoint: SsbReady
  let client: LabHost

  before(async () => {
    const started = await roles.start<SsbReady>('pub', 'ssb.ts', { shs: 'stock', caps, host: '10.200.0.10', port: PORT, tunnel: 'portal' })
    portal = started.host
    portalReady = started.ready
    const h2 = await roles.start<SsbReady>('h2', 'ssb.ts', { shs: 'ours', caps, host: '192.168.2.2', port: PORT, tunnel: 'endpoint', portal: portalReady })
    endpoint = h2.ready
    await h2.host.call('tunnelListening')
    client = (await roles.start<SsbReady>('h1', 'ssb.ts', { shs: 'ours', caps, host: '192.168.1.2', port: PORT, tunnel: 'client', portal: portalReady })).host
  })

  after(async () => { await roles.stopAll() })

  it('h1 cannot connect to h2\'s own net: address (h2 is behind its router)', async () => {
    await assert.rejects(client.call('echo', { address: endpoint.address, bytes: 1, marker: '' }), /ENETUNREACH/)
  })

  it('through the portal, h1 reaches h2 with SHS end to end, and the echo comes back intact', async () => {
    const key = endpoint.id.slice(1, -'.ed25519'.length)
    const result = await client.call<EchoCall>('echo', { address: `tunnel:${portalReady.id}:${endpoint.id}~shs:${key}`, bytes: ECHO_BYTES, marker: MARKER })
    assert.deepEqual(result, { remoteId: endpoint.id, bytes: ECHO_BYTES, intact: true })
  })

  it('the portal relayed only ciphertext: an SHS client hello first, never the plaintext', async () => {
    const relayed = await portal.call<Relayed>('relayed', { marker: MARKER })
    assert.equal(relayed.tunnels, 1)
    assert.ok(relayed.toTarget > ECHO_BYTES && relayed.toCaller > ECHO_BYTES, `the tap saw the whole echo (${relayed.toTarget} and ${relayed.toCaller} bytes)`)
    assert.equal(relayed.startsWithHello, true, 'the tunnel starts with a client hello under the network key')
    assert.equal(relayed.plaintextSeen, false)
  })
})
