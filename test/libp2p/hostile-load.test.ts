/**
 * A js-libp2p node with shs() and shsAdmission() under stallers that choose /shs/1.1.0 and stop
 * (docs/HOSTILE-LOAD.md, "libp2p"): from one source and from 16 (127.0.0.2..17), while honest
 * libp2p nodes dial from 127.0.0.1. The gater holds each source to its share and libp2p's own
 * pending cap sits above ours (shsAdmission().connectionManager), so the honest dials get through.
 */
import assert from 'node:assert/strict'
import { yamux } from '@chainsafe/libp2p-yamux'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { SHS_MUXER_PROTOCOL, shs, shsAdmission, type ShsAdmission } from '../../src/libp2p/index.ts'
import type { ShsError } from '../../src/index.ts'
import { waitFor } from '../helpers/resources.ts'
import { attackerSources, multistreamSelect, type RawSockets, stallers } from '../helpers/stallers.ts'
import { type TestNode, addressOf, createNode, shsWith, tcpTarget } from './helpers.ts'

const WAIT_MS = 15_000
const HONEST = 24
const PER_SOURCE = 8
/** Long deadlines, so the stallers hold their slots for the whole test: the per-source cap must do the work. */
const LONG_MS = 60_000
/** libp2p's per-host rate (5 a second by default) would refuse honest dials that all come from 127.0.0.1. */
const HONEST_HOST_RATE = 1_000

async function createServer (admission: ShsAdmission, helloTimeout: number): Promise<TestNode> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [shs({ timeout: LONG_MS, helloTimeout })],
    streamMuxers: [yamux()],
    connectionGater: admission.connectionGater,
    connectionManager: { ...admission.connectionManager, inboundUpgradeTimeout: LONG_MS, inboundConnectionThreshold: HONEST_HOST_RATE },
    connectionMonitor: { enabled: false },
    services: { ping: ping() }
  })
}

describe('libp2p with shs() and shsAdmission() under stallers', function () {
  this.timeout(60_000)
  const cleanups: Array<() => unknown> = []
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
    cleanups.length = 0
  })

  for (const sources of [1, 16]) {
    it(`stallers from ${sources} source${sources === 1 ? '' : 's'} that choose ${SHS_MUXER_PROTOCOL} and stop are held to ${PER_SOURCE} each; honest dials are served`, async () => {
      const refusals: string[] = []
      const admission = shsAdmission({ onRefused: (err) => { refusals.push(err.code) } })
      const server = await createServer(admission, LONG_MS)
      cleanups.push(async () => { await server.stop() })
      const { port } = tcpTarget(server)
      const perSource = sources === 1 ? 256 : 32
      const attacks: RawSockets[] = attackerSources(sources).map((source) => stallers(port, source, perSource, 1, multistreamSelect(SHS_MUXER_PROTOCOL)))
      cleanups.push(() => { for (const attack of attacks) attack.destroyAll() })
      await waitFor(() => attacks.every((attack) => attack.size === PER_SOURCE), 'only the admitted stallers to remain', WAIT_MS)
      assert.equal(admission.pending, sources * PER_SOURCE, 'pending upgrades: the stallers\' share, no more')
      assert.ok(admission.refused >= sources * (perSource - PER_SOURCE), `${admission.refused} refusals`)
      assert.ok(refusals.every((code) => code === 'ERR_SHS_SOURCE_BUSY'), 'refused by the per-source cap')

      const client = await createNode({ encrypters: [shsWith()], listen: false })
      cleanups.push(async () => { await client.stop() })
      let served = 0
      for (let i = 0; i < HONEST; i++) {
        const rtt = await client.services.ping.ping(addressOf(server)).catch(() => undefined)
        if (rtt !== undefined) served++
        await client.hangUp(server.peerId)
      }
      assert.ok(served >= HONEST - 2, `${served} of ${HONEST} honest dials served`)
      assert.equal(served, HONEST)
      assert.ok(admission.pending <= sources * PER_SOURCE + 1)
      assert.ok(attacks.every((attack) => attack.size === PER_SOURCE), 'the stallers still hold their connections')
    })
  }

  it('the encrypter\'s hello deadline drops a staller that chose the protocol; its admission slot is free again', async () => {
    const admission = shsAdmission({ maxPendingPerSource: 1 })
    const server = await createServer(admission, 200)
    cleanups.push(async () => { await server.stop() })
    const attack = stallers(tcpTarget(server).port, '127.0.0.2', 1, 0, multistreamSelect(SHS_MUXER_PROTOCOL))
    cleanups.push(() => { attack.destroyAll() })
    await waitFor(() => admission.pending === 1, 'the staller to be admitted', WAIT_MS)
    await waitFor(() => attack.size === 0, 'the staller to be dropped', WAIT_MS)
    await waitFor(() => admission.pending === 0, 'its slot to be released', WAIT_MS)
  })

  it('a bad option fails at shsAdmission() and shs(), naming it', () => {
    assert.throws(() => shsAdmission({ maxPendingHandshakes: 0 }), (err: ShsError) => err.code === 'ERR_SHS_INVALID_OPTION' && /maxPendingHandshakes/.test(err.message))
    assert.throws(() => shs({ helloTimeout: -1 }), (err: ShsError) => err.code === 'ERR_SHS_INVALID_OPTION' && /helloTimeout/.test(err.message))
  })
})
