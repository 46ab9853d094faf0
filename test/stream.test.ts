/** The async-iterable and Node stream adapters, over an in-memory duplex pair (no network). */
import assert from 'node:assert/strict'
import { pipeline } from 'node:stream/promises'
import { Readable, Writable } from 'node:stream'
import { pipe } from 'it-pipe'
import {
  SSB_NETWORK_KEY, ShsError, clientHandshake, generateKeyPair, serverHandshake, toNodeDuplex
} from '../src/index.ts'
import { collect, concat, randomPayload, splitIrregular } from './helpers/bytes.ts'
import { memoryDuplexPair } from './helpers/duplex.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()

async function securePair (): Promise<[Awaited<ReturnType<typeof clientHandshake>>, Awaited<ReturnType<typeof serverHandshake>>]> {
  const [clientEnd, serverEnd] = memoryDuplexPair()
  return await Promise.all([
    clientHandshake(clientEnd, { keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: SSB_NETWORK_KEY }),
    serverHandshake(serverEnd, { keys: serverKeys, networkKey: SSB_NETWORK_KEY })
  ])
}

describe('stream adapters', () => {
  it('passes the transport\'s backpressure to the application: a raw sink that stops taking stops the writer', async () => {
    const [clientEnd, serverEnd] = memoryDuplexPair()
    // After the handshake, the client's raw sink takes one chunk each time the test lets it.
    let gate: (() => void) | undefined
    let taken = 0
    const gated = {
      ...clientEnd,
      async sink (source: AsyncIterable<Uint8Array>) {
        await clientEnd.sink((async function * () {
          for await (const chunk of source) {
            yield chunk
            taken++
            if (taken > 2) await new Promise<void>((resolve) => { gate = resolve })
          }
        })())
      }
    }
    const [client] = await Promise.all([
      clientHandshake(gated, { keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: SSB_NETWORK_KEY }),
      serverHandshake(serverEnd, { keys: serverKeys, networkKey: SSB_NETWORK_KEY })
    ])
    let produced = 0
    const chunk = new Uint8Array(64 * 1024)
    const sending = client.sink((async function * () {
      for (let i = 0; i < 10_000; i++) { produced++; yield chunk }
    })())
    sending.catch(() => {})
    // Event-loop turns, not wall-clock time: a writer that ignores backpressure runs far ahead here.
    for (let turn = 0; turn < 200; turn++) await new Promise((resolve) => setImmediate(resolve))
    const before = produced
    assert.ok(before <= taken + 3, `the writer produced ${before} chunks while the transport took ${taken}`)
    gate?.()
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve))
    assert.ok(produced > before, 'taking a chunk lets the writer go on')
    client.abort()
  })

  it('runs the handshake over any it-pipe duplex and echoes with pipe()', async () => {
    const [client, server] = await securePair()
    void pipe(server, server)
    const payload = randomPayload(100_000)
    const echoed = await pipe(splitIrregular(payload), client, collect)
    assert.deepEqual(echoed, payload)
    assert.deepEqual(client.remotePublicKey, serverKeys.publicKey)
    assert.deepEqual(server.remotePublicKey, clientKeys.publicKey)
  })

  it('sends only ciphertext: the plaintext never appears on the wire', async () => {
    const [clientEnd, serverEnd] = memoryDuplexPair()
    const [client, server] = await Promise.all([
      clientHandshake(clientEnd, { keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: SSB_NETWORK_KEY }),
      serverHandshake(serverEnd, { keys: serverKeys, networkKey: SSB_NETWORK_KEY })
    ])
    const secret = new TextEncoder().encode('attack at dawn, attack at dawn, attack at dawn')
    await Promise.all([client.sink([secret]), collect(server.source), server.sink([])])
    const wire = Buffer.from(concat(clientEnd.written))
    assert.equal(wire.indexOf(Buffer.from('attack at dawn')), -1)
    assert.equal(wire.indexOf(Buffer.from(clientKeys.publicKey)), -1, 'the client key travels encrypted')
  })

  it('refuses a second sink() call with a typed error', async () => {
    const [client] = await securePair()
    void client.sink([])
    await assert.rejects(client.sink([]), (err: unknown) => err instanceof ShsError && err.code === 'ERR_SHS_INVALID_STATE')
  })

  it('fails the handshake when the duplex ends early, explaining the hang-up', async () => {
    const [clientEnd] = memoryDuplexPair()
    const closed = { source: [], sink: clientEnd.sink }
    await assert.rejects(clientHandshake(closed, { keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: SSB_NETWORK_KEY }),
      (err: unknown) => err instanceof ShsError && err.code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')
  })

  describe('Node stream.Duplex view', () => {
    it('works with stream.pipeline in both directions', async () => {
      const [client, server] = await securePair()
      void pipe(server, server)
      const duplex = toNodeDuplex(client)
      const payload = randomPayload(300_000)
      const received: Buffer[] = []
      await Promise.all([
        pipeline(Readable.from(splitIrregular(payload)), duplex),
        pipeline(duplex, new Writable({ write (chunk: Buffer, _encoding, done) { received.push(chunk); done() } }))
      ])
      assert.deepEqual(concat(received), payload)
    })

    it('emits a typed error when the peer cuts the stream', async () => {
      const [client, server] = await securePair()
      const duplex = toNodeDuplex(client)
      const failed = new Promise<unknown>((resolve) => duplex.on('error', resolve))
      duplex.resume()
      server.abort()
      const err = await failed
      assert.ok(err instanceof ShsError && err.code === 'ERR_BOX_STREAM_TRUNCATED', String(err))
    })
  })
})
