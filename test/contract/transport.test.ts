/**
 * The caller contract, part two: what every way in promises an application once it has a
 * connection, checked against a peer played by hand on the raw transport (test/contract/peer.ts).
 * Each case runs for every way in (fixture.ts lists them) in each role it has, with leak checks
 * around every test: no socket, server or timer outlives it.
 */
import assert from 'node:assert/strict'
import { randomPayload, splitIrregular } from '../helpers/bytes.ts'
import type { ShsErrorCode } from '../../src/index.ts'
import { collectGarbage } from '../adversarial/fixture.ts'
import { CUT, WAYS, assertTyped, drain, expectedChunks, turn, useContract, watchProcess } from './fixture.ts'

/** Chunk sizes around every edge the box stream has: one byte, a packet's body, a batch. */
const CHUNK_SIZES = [1, 100, 4095, 4096, 4097, 8192, 65_536, 100_003]
/** Bytes each buffer-reuse case writes: enough that writes are in flight behind each other. */
const REUSE_BYTES = 1024 * 1024
/** At most this many writes per case, so the one-byte case stays quick where each write is a packet (libp2p). */
const MAX_REUSE_WRITES = 20_000

for (const way of WAYS) {
  for (const role of way.roles) {
    describe(`contract: ${way.name}, the app as ${role}`, function () {
      this.timeout(30_000)
      if (way.before !== undefined) before(way.before)
      if (way.after !== undefined) after(way.after)
      const open = useContract(way, role)
      const typed = (error: unknown, codes: readonly ShsErrorCode[]): void => { assertTyped(error, codes, way.frameworkErrors) }

      it('carries exactly the bytes each side sent, both ways, with the echo our docs show', async () => {
        const { app, peer } = await open()
        const payload = randomPayload(300_001)
        app.echoIgnoringOutcome()
        const reading = peer.readAll()
        for (const piece of splitIrregular(payload)) await peer.send(piece)
        await peer.goodbye()
        const { data, goodbye } = await reading
        assert.ok(Buffer.from(data).equals(payload), `the echo came back whole (${data.byteLength} of ${payload.byteLength} bytes)`)
        assert.equal(goodbye, true, 'the app ended with goodbye')
      })

      for (const size of CHUNK_SIZES) {
        it(`a writer that refills its one buffer as soon as it may sends exactly what it wrote, in ${size}-byte chunks`, async () => {
          const { app, peer } = await open()
          const count = Math.min(MAX_REUSE_WRITES, Math.max(4, Math.ceil(REUSE_BYTES / size)))
          const expected = expectedChunks(size, count)
          // A slow reader keeps the app's writes in flight, so what the app writes next waits behind them.
          const reading = peer.readAll(turn)
          await app.writeReusing(size, count)
          const { data, goodbye } = await reading
          assert.equal(data.byteLength, expected.byteLength)
          assert.ok(Buffer.from(data).equals(expected), 'every byte is the one written at that place')
          assert.equal(goodbye, true)
        })
      }

      it('a peer that vanishes while the app reads: the read fails, typed', async () => {
        const { app, peer } = await open()
        const reading = drain(app.read())
        const payload = randomPayload(1000)
        await peer.send(payload)
        peer.raw.destroy()
        const { data, error } = await reading
        // A reset may drop what was still in the kernel's buffers; what was delivered is intact.
        assert.ok(Buffer.from(payload.subarray(0, data.byteLength)).equals(data), 'only authentic bytes are delivered')
        typed(error, CUT)
      })

      it('a peer that vanishes while the app writes: the write fails, typed, and ends', async () => {
        const { app, peer } = await open()
        const writing = app.writeEndless()
        const firstBytes = await peer.raw.incoming.next()
        assert.notEqual(firstBytes.done, true)
        peer.raw.destroy()
        await assert.rejects(writing, (err: unknown) => { typed(err, CUT); return true })
      })

      it('a peer that vanishes while the app idles, its echo\'s promise ignored: nothing unhandled, the transport closed', async () => {
        const watch = watchProcess()
        try {
          const { app, peer } = await open()
          app.echoIgnoringOutcome()
          await peer.send(randomPayload(10))
          peer.raw.destroy()
          await peer.raw.closed
          for (let i = 0; i < 5; i++) await turn()
          assert.deepEqual([...watch.failures, ...await app.failures?.() ?? []], [])
        } finally {
          watch.stop()
        }
      })

      it(way.cleanEndBetweenPackets === true
        ? 'a transport that ends between packets without goodbye is the clean end its framework expects'
        : 'a transport that ends without goodbye is a truncation, never a clean end', async () => {
        const { app, peer } = await open()
        const reading = drain(app.read())
        await peer.send(randomPayload(5000))
        peer.raw.end()
        const { data, error } = await reading
        assert.equal(data.byteLength, 5000)
        if (way.cleanEndBetweenPackets === true) assert.equal(error, undefined)
        else typed(error, ['ERR_BOX_STREAM_TRUNCATED'])
      })

      it('a transport that ends inside a packet is a truncation', async () => {
        const { app, peer } = await open()
        const reading = drain(app.read())
        await peer.send(randomPayload(100))
        // The first 20 bytes of a header: what a cut cable leaves mid-packet.
        await peer.sendRaw(randomPayload(20))
        peer.raw.end()
        const { data, error } = await reading
        assert.equal(data.byteLength, 100)
        typed(error, ['ERR_BOX_STREAM_TRUNCATED'])
      })

      it('bytes after the peer\'s goodbye fail the stream, and the transport closes', async () => {
        const { app, peer } = await open()
        const reading = drain(app.read())
        await peer.send(randomPayload(100))
        // Goodbye and what follows it in one write: the app cannot have read the end in between.
        await peer.goodbye(randomPayload(50))
        const { data, error } = await reading
        assert.equal(data.byteLength, 100)
        typed(error, ['ERR_BOX_STREAM_AFTER_GOODBYE'])
        await peer.raw.closed
      })

      it('bytes after the peer\'s goodbye, once the app read the end, still close the transport', async () => {
        const { app, peer } = await open()
        await peer.goodbye()
        const { error } = await drain(app.read())
        assert.equal(error, undefined, 'the goodbye is a clean end')
        await peer.sendRaw(randomPayload(50))
        await peer.raw.closed
      })

      if (way.idleTimeout) {
        it('idleTimeout: a peer that goes silent ends the stream, typed, and the transport closes', async () => {
          const { app, peer } = await open({ idleTimeout: 150 })
          const { error } = await drain(app.read())
          typed(error, ['ERR_SHS_IDLE_TIMEOUT'])
          await peer.raw.closed
        })
      }

      it('a peer that floods an app that does not read is held back, or dropped typed: bounded memory, nothing wrong delivered', async () => {
        const { app, peer } = await open()
        const FLOOD_BYTES = 48 * 1024 * 1024
        // Measured after a collection, so what is held is what is still referenced, not garbage.
        collectGarbage()
        const before = process.memoryUsage().arrayBuffers
        let pushed = 0
        let stalled = false
        const chunk = randomPayload(65_536)
        while (pushed < FLOOD_BYTES && !stalled && !peer.raw.isClosed()) {
          const sent = peer.send(chunk).then(() => true)
          // The peer is held back once a write is not taken for a while: that is the backpressure.
          stalled = !await Promise.race([sent, new Promise<false>((resolve) => setTimeout(() => { resolve(false) }, 300))])
          if (!stalled) pushed += chunk.byteLength
        }
        collectGarbage()
        const held = process.memoryUsage().arrayBuffers - before
        // A page's memory is not ours to read; its bound is that it drops the peer (below).
        if (way.appElsewhere !== true) assert.ok(held < 24 * 1024 * 1024, `${(held / 1024 / 1024).toFixed(1)} MiB held for an app that reads nothing`)
        const reading = drain(app.read())
        peer.raw.end()
        const { data, error } = await reading
        if (stalled) {
          assert.ok(data.byteLength >= pushed, `the app reads what was held back: ${data.byteLength} of ${pushed} bytes`)
        } else {
          // Not held back: then the way in dropped the peer, and says so.
          typed(error, ['ERR_SHS_CONNECTION'])
        }
        for (let offset = 0; offset + chunk.byteLength <= data.byteLength; offset += chunk.byteLength) {
          if (!Buffer.from(data.subarray(offset, offset + chunk.byteLength)).equals(chunk)) assert.fail(`wrong bytes at ${offset}`)
        }
      })

      it('the app aborting: the peer sees no goodbye and the transport closes', async () => {
        const { app, peer } = await open()
        const reading = peer.readAll()
        app.abort()
        const { goodbye } = await reading
        assert.equal(goodbye, false)
        await peer.raw.closed
      })
    })
  }
}
