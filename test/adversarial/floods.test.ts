/** A flood of mixed connections and the pending-handshake cap, over TCP. */
import assert from 'node:assert/strict'
import { type ShsErrorCode } from '../../src/index.ts'
import { randomPayload } from '../helpers/bytes.ts'
import { ClientSteps, HELLO_BYTES, RawPeer, drain } from '../helpers/adversary.ts'
import { waitFor } from '../helpers/resources.ts'
import { MiB, NETWORK_KEY, clientKeys, collectGarbage, echo, expectCode, serverKeys, useAdversaryFixture } from './fixture.ts'

describe('adversarial peers over TCP', function () {
  this.timeout(20_000)
  const { onCleanup, startServer, dial, rawConnect } = useAdversaryFixture()

  describe('floods and the pending-handshake cap', () => {
    it('1000 concurrent connections mixing valid clients, garbage and stalls: every valid client succeeds, memory stays bounded', async function () {
      this.timeout(30_000)
      const CONNECTIONS = 1000
      const FLOOD_TIMEOUT_MS = 2000
      const MEMORY_LIMIT_BYTES = 128 * MiB
      // All from one address, all at once: the per-source cap is not what this test is about.
      const server = await startServer({ timeout: FLOOD_TIMEOUT_MS, maxPendingHandshakes: 2 * CONNECTIONS, maxPendingPerSource: Infinity }, (stream) => {
        echo(stream)
      })
      collectGarbage()
      const memoryBefore = process.memoryUsage()
      let peakGrowth = 0
      const sampler = setInterval(() => {
        const now = process.memoryUsage()
        peakGrowth = Math.max(peakGrowth, (now.heapUsed + now.arrayBuffers) - (memoryBefore.heapUsed + memoryBefore.arrayBuffers))
      }, 50)
      onCleanup(() => { clearInterval(sampler) })

      const kinds = ['valid', 'garbage', 'stall', 'partial'] as const
      const results = await Promise.all(Array.from({ length: CONNECTIONS }, async (_, i) => {
        const kind = kinds[i % kinds.length] as typeof kinds[number]
        if (kind === 'valid') {
          const message = randomPayload(1024)
          const stream = await dial(server.port)
          const [echoed] = await Promise.all([drain(stream.source), stream.sink([message])])
          return { kind, ok: echoed.error === undefined && Buffer.from(echoed.delivered).equals(message) }
        }
        const peer = await rawConnect(server.port)
        if (kind === 'garbage') peer.write(randomPayload(HELLO_BYTES + (i % 200)))
        if (kind === 'partial') peer.write(new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey).hello.subarray(0, 10))
        await peer.waitClosed(FLOOD_TIMEOUT_MS + 5000)
        return { kind, ok: peer.bytesReceived === 0 }
      }))
      clearInterval(sampler)

      for (const kind of kinds) {
        const ofKind = results.filter((r) => r.kind === kind)
        assert.equal(ofKind.filter((r) => r.ok).length, ofKind.length, `${kind}: every connection behaved`)
      }
      const count = (code: ShsErrorCode): number => server.errors.filter((e) => e.code === code).length
      assert.equal(count('ERR_SHS_INVALID_HELLO'), CONNECTIONS / kinds.length, 'each garbage hello refused at once')
      assert.equal(count('ERR_SHS_HANDSHAKE_TIMEOUT'), 2 * CONNECTIONS / kinds.length, 'each stall dropped at the timeout')
      assert.equal(server.streams.length, CONNECTIONS / kinds.length)
      assert.ok(peakGrowth < MEMORY_LIMIT_BYTES, `memory grew by up to ${Math.round(peakGrowth / MiB)} MiB`)
      const after = await dial(server.port)
      const [echoed] = await Promise.all([drain(after.source), after.sink([new Uint8Array([42])])])
      assert.deepEqual(echoed.delivered, new Uint8Array([42]), 'the server still serves after the flood')
    })

    it('at the cap, extra connections are closed at once, unread and unanswered (ERR_SHS_BUSY); valid clients succeed once the flood drains', async () => {
      const CAP = 8
      const FLOOD = 40
      // No random early drop and no per-source cap: this is about the hard limit alone.
      const server = await startServer({ maxPendingHandshakes: CAP, earlyDropFrom: CAP, maxPendingPerSource: Infinity, timeout: 10_000 })
      const stalls: RawPeer[] = []
      // One at a time, so the server has accepted these before any of the extra ones below.
      for (let i = 0; i < CAP; i++) stalls.push(await rawConnect(server.port))

      const extra = await Promise.all(Array.from({ length: FLOOD - CAP }, async () => await rawConnect(server.port)))
      for (const peer of extra) peer.write(new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey).hello)
      // Closed as busy (ERR_SHS_BUSY below), not by the 10 s handshake timeout.
      await Promise.all(extra.map(async (peer) => { await peer.closed }))
      assert.ok(extra.every((peer) => peer.bytesReceived === 0), 'a valid hello over the cap gets no message 2')
      await waitFor(() => server.errors.length === FLOOD - CAP, 'every refusal to be reported')
      assert.ok(server.errors.every((err) => err.code === 'ERR_SHS_BUSY'))

      await assert.rejects(dial(server.port), expectCode('ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO'), 'a valid client at the cap is turned away too')

      for (const peer of stalls) peer.destroy()
      await waitFor(() => server.errors.filter((e) => e.code === 'ERR_SHS_CLIENT_HUNG_UP').length === CAP, 'the stalls to be released')
      const streams = await Promise.all(Array.from({ length: CAP }, async () => await dial(server.port)))
      assert.equal(streams.length, CAP)
      assert.equal(server.streams.length, CAP)
    })

    it('the cap counts handshakes in progress, not established streams', async () => {
      const CAP = 2
      const server = await startServer({ maxPendingHandshakes: CAP })
      const streams = []
      for (let i = 0; i < 3 * CAP; i++) streams.push(await dial(server.port))
      assert.equal(server.streams.length, 3 * CAP)
      assert.equal(server.errors.length, 0)
    })

    it('the default hard cap is 256 pending handshakes', async () => {
      const DEFAULT_CAP = 256
      const server = await startServer({ timeout: 10_000, maxPendingPerSource: Infinity, earlyDropFrom: DEFAULT_CAP })
      const peers = await Promise.all(Array.from({ length: DEFAULT_CAP + 1 }, async () => await rawConnect(server.port)))
      await waitFor(() => server.errors.length === 1, 'the one connection over the cap to be refused')
      expectCode('ERR_SHS_BUSY')(server.errors[0])
      await waitFor(() => peers.filter((peer) => peer.socket.destroyed).length === 1, 'exactly one connection to be closed')
    })
  })
})
