/**
 * Early data: bytes a client sends right behind message 3, as the first packets of its box
 * stream, half a round trip before the handshake completes. They go out in the same write as
 * message 3, arrive first and intact, the stream goes on after them, a refused client's are never
 * delivered, and the reference server (secret-handshake) reads them as well.
 */
import assert from 'node:assert/strict'
import {
  BoxStream, type BoxStreamEvent, SSB_NETWORK_KEY, SecretHandshake, type SecureStream, type SessionKeys, ShsError, connect,
  connectWebSocket, generateKeyPair, listen, listenWebSocket
} from '../src/index.ts'
import { collect, randomPayload } from './helpers/bytes.ts'
import { startReferenceServer } from './helpers/reference.ts'
import { useLeakChecks } from './helpers/resources.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const client = { keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey }
const CLIENT_AUTH_BYTES = 112

const dataOf = (events: readonly BoxStreamEvent[]): Uint8Array[] => events.flatMap((event) => event.type === 'data' ? [event.plaintext] : [])

describe('early data', function () {
  this.timeout(20_000)
  const onCleanup = useLeakChecks()

  it('the sans-IO client seals it into the clientAuth write, and the session goes on after it', () => {
    const early = randomPayload(5000)
    const machine = SecretHandshake.client({ ...client, earlyData: early })
    const server = SecretHandshake.server({ keys: serverKeys, networkKey: SSB_NETWORK_KEY })
    const bytes = (m: SecretHandshake): Uint8Array => (m.next() as { bytes: Uint8Array }).bytes
    server.receive(bytes(machine))
    machine.receive(bytes(server))
    const clientAuth = bytes(machine)
    assert.equal(clientAuth.byteLength, CLIENT_AUTH_BYTES + BoxStream.sealedLength(early.byteLength), 'message 3 and two packets, in one write')
    server.receive(clientAuth.subarray(0, CLIENT_AUTH_BYTES))
    server.next()
    server.authorize(true)
    machine.receive(bytes(server))
    const session = (m: SecretHandshake): SessionKeys => (m.next() as { session: SessionKeys }).session
    const [ours, theirs] = [new BoxStream(session(machine)), new BoxStream(session(server))]
    const later = randomPayload(100)
    const arrived = [...dataOf(theirs.receive(clientAuth.subarray(CLIENT_AUTH_BYTES))), ...dataOf(theirs.receive(ours.send(later)))]
    assert.ok(Buffer.concat(arrived).equals(Buffer.concat([early, later])), 'the early bytes, then what followed, in order')
  })

  it('connect({ earlyData }) to listen(): the server reads it first, then what the client writes after', async () => {
    const received: Array<Promise<Uint8Array>> = []
    const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, (stream) => { received.push(collect(stream.source)); void stream.sink([]) })
    onCleanup(listener.close)
    const early = [new TextEncoder().encode('GET /feed '), randomPayload(9000)]
    const stream = await connect({ ...client, host: '127.0.0.1', port: listener.address().port, earlyData: early })
    const later = randomPayload(3000)
    await stream.sink([later])
    await collect(stream.source).catch(() => undefined)
    assert.ok(Buffer.from(await (received[0] as Promise<Uint8Array>)).equals(Buffer.concat([...early, later])))
  })

  it('connectWebSocket({ earlyData }) to listenWebSocket(): the same', async () => {
    const received: Array<Promise<Uint8Array>> = []
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, (stream) => { received.push(collect(stream.source)); void stream.sink([]) })
    onCleanup(listener.close)
    const early = randomPayload(70_000)
    const stream = await connectWebSocket({ ...client, url: `ws://127.0.0.1:${listener.address().port}`, earlyData: early })
    await stream.sink([])
    await collect(stream.source).catch(() => undefined)
    assert.ok(Buffer.from(await (received[0] as Promise<Uint8Array>)).equals(early))
  })

  it('a client the server refuses: connect rejects as without early data, and the server delivers none of it', async () => {
    let streams = 0
    const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY, authorize: () => false }, () => { streams++ })
    onCleanup(listener.close)
    await assert.rejects(connect({ ...client, host: '127.0.0.1', port: listener.address().port, earlyData: randomPayload(100) }),
      (err: unknown) => err instanceof ShsError && err.code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH')
    assert.equal(streams, 0)
  })

  it('the reference server (secret-handshake + pull-box-stream) reads early data as the start of the stream', async () => {
    const server = await startReferenceServer(serverKeys, SSB_NETWORK_KEY, { echo: true })
    onCleanup(server.close)
    const early = randomPayload(6000)
    const stream: SecureStream = await connect({ ...client, host: '127.0.0.1', port: server.port, earlyData: early })
    // The reference server echoes; keep our sink open until the echo is back (it cannot be half open).
    const reader = stream.source[Symbol.asyncIterator]()
    const chunks: Uint8Array[] = []
    let total = 0
    while (total < early.byteLength) {
      const next = await reader.next()
      assert.notEqual(next.done, true)
      chunks.push(next.value)
      total += next.value.byteLength
    }
    assert.ok(Buffer.concat(chunks).equals(early))
    stream.abort()
  })
})
