/**
 * Small writes: what is written while a write is in flight is gathered into few packets, as a
 * socket's cork gathers small writes, and a lone write still goes out at once. The outbox tests
 * need no network (a transport that takes writes only when the test says so); the TCP ones use
 * loopback and count packets with the peer's own decoder.
 */
import assert from 'node:assert/strict'
import { pushable } from 'it-pushable'
import {
  BoxStreamDecoder, SSB_NETWORK_KEY, SecretHandshake, type SecureStream, type SessionKeys, connect, generateKeyPair, listen
} from '../src/index.ts'
import { BoxStream } from '../src/connection/box-stream.ts'
import { MAX_GATHERED_BYTES, Outbox, type OutboxTransport } from '../src/driver/outbox.ts'
import { SecureStreamDriver } from '../src/driver/secure-stream.ts'
import { concat, randomPayload } from './helpers/bytes.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const HOST = '127.0.0.1'

/** Session keys for both ends, from a whole handshake between two sans-IO machines. */
function sessions (): [SessionKeys, SessionKeys] {
  const client = SecretHandshake.client({ keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey })
  const server = SecretHandshake.server({ keys: serverKeys, networkKey: SSB_NETWORK_KEY })
  const write = (machine: SecretHandshake): Uint8Array => (machine.next() as { bytes: Uint8Array }).bytes
  server.receive(write(client))
  client.receive(write(server))
  server.receive(write(client))
  server.next()
  server.authorize(true)
  client.receive(write(server))
  const session = (machine: SecretHandshake): SessionKeys => (machine.next() as { session: SessionKeys }).session
  return [session(client), session(server)]
}

/** A transport that takes each write only when the test calls `take()`. */
function heldTransport (): OutboxTransport & { writes: Uint8Array[], take: () => void } {
  const waiting: Array<() => void> = []
  return {
    writes: [],
    write (sealed, _buffer, taken) {
      this.writes.push(sealed.slice())
      waiting.push(taken)
    },
    take () { waiting.shift()?.() }
  }
}

/** What a peer's decoder opens from `wire`: the plaintext, and in how many packets it came. */
function opened (wire: Uint8Array[], session: SessionKeys): { plaintext: Uint8Array, packets: number } {
  const decoder = new BoxStreamDecoder(session.decryptKey, session.decryptNonce)
  const plaintext = concat(wire.flatMap((bytes) => decoder.push(bytes)))
  return { plaintext, packets: decoder.packetsOpened }
}

describe('small writes', function () {
  this.timeout(30_000)

  describe('the outbox (no network)', () => {
    it('sends a lone write at once, gathers what follows while it is in flight, and sends that as one batch when it is taken', () => {
      const [ours, theirs] = sessions()
      const transport = heldTransport()
      const outbox = new Outbox(new BoxStream(ours), transport)
      const payload = randomPayload(1 + 300 * 100)
      assert.equal(outbox.write(payload.subarray(0, 1)), undefined)
      assert.equal(transport.writes.length, 1, 'a write with nothing in flight goes out at once')
      for (let i = 0; i < 300; i++) assert.equal(outbox.write(payload.subarray(1 + i * 100, 1 + (i + 1) * 100)), undefined)
      assert.equal(transport.writes.length, 1, 'writes behind one in flight are gathered, not sent')
      transport.take()
      assert.equal(transport.writes.length, 2, 'taking the write in flight sends the gathered batch, without another write')
      const { plaintext, packets } = opened(transport.writes, theirs)
      assert.deepEqual(plaintext, payload)
      // 30 000 bytes in full 4096-byte packets: 8 packets for 300 writes, after the lone byte's own.
      assert.equal(packets, 1 + 8)
      assert.equal(transport.writes[1]?.byteLength, BoxStream.sealedLength(30_000))
    })

    it('keeps small and large gathered writes in order, batch after batch, and after a pause', async () => {
      const [ours, theirs] = sessions()
      const transport = heldTransport()
      const outbox = new Outbox(new BoxStream(ours), transport)
      // Small writes are copied as they are gathered, large ones kept by reference: mixed, and
      // enough of them for several full batches, each gathered while the one before is in flight.
      const sizes = [1, 100, 5000, 37, 4095, 4096, 1, 9000, 250, 250, 65_000, 3, 700]
      const written: Uint8Array[] = []
      const writeAll = async (rounds: number): Promise<void> => {
        for (let round = 0; round < rounds; round++) {
          for (const size of sizes) {
            const chunk = randomPayload(size)
            written.push(chunk)
            const room = outbox.write(chunk)
            if (room === undefined) continue
            transport.take()
            await room
          }
        }
      }
      await writeAll(12)
      const batches = transport.writes.length
      assert.ok(batches > 10, `${batches} writes for ${written.length} chunks: the test must span many batches`)
      // The write in flight taken (the gathered batch goes out), then that one: nothing is
      // gathered behind it any more, so the burst is over and the next write goes out at once.
      transport.take()
      transport.take()
      const idle = transport.writes.length
      assert.equal(outbox.write(written[0] as Uint8Array), undefined)
      written.push(written[0] as Uint8Array)
      assert.equal(transport.writes.length, idle + 1, 'after the burst a write goes out at once')
      await writeAll(2)
      outbox.flush()
      const { plaintext } = opened(transport.writes, theirs)
      const expected = concat(written)
      assert.equal(plaintext.byteLength, expected.byteLength)
      // Compared whole (a deepEqual diff of a megabyte would swamp the report).
      assert.ok(Buffer.from(plaintext).equals(expected), 'the writes arrive whole and in order')
    })

    it('holds the writer once a batch is full, and lets it go on when the transport takes the write before it', async () => {
      const [ours, theirs] = sessions()
      const transport = heldTransport()
      const outbox = new Outbox(new BoxStream(ours), transport)
      const chunk = randomPayload(1000)
      outbox.write(chunk)
      let room: Promise<void> | undefined
      let accepted = 0
      while (room === undefined && accepted <= MAX_GATHERED_BYTES) {
        room = outbox.write(chunk)
        accepted++
      }
      assert.ok(room !== undefined, 'a full batch holds the writer')
      // The write that returned the promise is held with the writer; the batch before it is full.
      assert.equal(accepted - 1, Math.floor(MAX_GATHERED_BYTES / chunk.byteLength))
      let released = false
      void room.then(() => { released = true })
      await Promise.resolve()
      assert.equal(released, false, 'the writer waits while the transport holds a write')
      transport.take()
      await room
      assert.equal(transport.writes.length, 2)
      transport.take()
      assert.equal(transport.writes.length, 3, 'the held write went out with the next batch')
      assert.equal(opened(transport.writes, theirs).plaintext.byteLength, (accepted + 1) * chunk.byteLength)
    })
  })

  describe('over TCP', () => {
    async function pair (): Promise<{ client: SecureStream, server: SecureStreamDriver, close: () => Promise<void> }> {
      let accepted: (stream: SecureStream) => void = () => {}
      const arrived = new Promise<SecureStream>((resolve) => { accepted = resolve })
      const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, (stream) => { accepted(stream) })
      const client = await connect({ host: HOST, port: listener.address().port, keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey })
      const server = await arrived
      assert.ok(server instanceof SecureStreamDriver)
      return { client, server, close: async () => { client.abort(); server.abort(); await listener.close() } }
    }

    /** Reads until `bytes` bytes arrived, without waiting for the end. */
    async function readBytes (reader: AsyncIterator<Uint8Array>, bytes: number): Promise<Uint8Array> {
      const chunks: Uint8Array[] = []
      let total = 0
      while (total < bytes) {
        const result = await reader.next()
        assert.notEqual(result.done, true, 'the stream ended early')
        chunks.push(result.value)
        total += result.value.byteLength
      }
      return concat(chunks)
    }

    it('10 000 writes of 100 bytes arrive in order in far fewer packets than writes', async () => {
      const { client, server, close } = await pair()
      try {
        const WRITES = 10_000
        const payload = randomPayload(WRITES * 100)
        const pieces = (async function * () {
          for (let i = 0; i < WRITES; i++) yield payload.subarray(i * 100, (i + 1) * 100)
        })()
        const received = readBytes(server.source[Symbol.asyncIterator](), payload.byteLength)
        const sinking = client.sink(pieces)
        assert.deepEqual(await received, payload)
        const packets = server.box.packetsReceived
        // 245 full packets carry a million bytes; one packet per write would be 10 000.
        assert.ok(packets < WRITES / 20, `${packets} packets for ${WRITES} writes`)
        await sinking
      } finally {
        await close()
      }
    })

    it('a lone 1-byte write reaches the peer with no further write and no end, also right after a burst', async () => {
      const { client, server, close } = await pair()
      try {
        const outbox = pushable<Uint8Array>()
        const sinking = client.sink(outbox)
        sinking.catch(() => {})
        const reader = server.source[Symbol.asyncIterator]()
        outbox.push(Uint8Array.of(7))
        assert.deepEqual(await readBytes(reader, 1), Uint8Array.of(7))
        // A burst, then one keystroke while the burst is still in flight: nothing else is written
        // and the source stays open, so the byte arrives only if the gathered tail goes out by itself.
        const burst = randomPayload(500 * 100)
        for (let i = 0; i < 500; i++) outbox.push(burst.subarray(i * 100, (i + 1) * 100))
        outbox.push(Uint8Array.of(9))
        assert.deepEqual(await readBytes(reader, burst.byteLength + 1), concat([burst, Uint8Array.of(9)]))
        outbox.end()
        await sinking
      } finally {
        await close()
      }
    })
  })
})
