/**
 * The rekey extension over TCP (`connect` and `listen`): both ends negotiate it and rekey on
 * demand, after bytes and after time; a stock SHS1 peer on either side sees plain SHS1; and the
 * ways a rekey can go wrong on a real socket (a silent peer, a vanishing one, backpressure, the
 * goodbye) end as the docs say, with nothing left running.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { type RekeyOption, type SecureStream, ShsError, connect, listen } from '../../src/index.ts'
import { SecretHandshake } from '../../src/handshake/machine.ts'
import { runHandshake, withDeadline } from '../../src/driver/handshake.ts'
import { SocketHandshakeTransport } from '../../src/net/socket-handshake.ts'
import { collect, randomPayload } from '../helpers/bytes.ts'
import { referenceClient, startReferenceServer } from '../helpers/reference.ts'
import { useLeakChecks, waitFor } from '../helpers/resources.ts'
import { clientKeys, networkKey, serverKeys } from './helpers.ts'
import { type Collecting, assertRekeyedTransfer, collecting, isShs, sha } from './transfer.ts'
import { RecordingRelay } from './relay.ts'

const MiB = 1024 * 1024
const HOST = '127.0.0.1'
const client = { keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey, host: HOST }

describe('rekey extension over TCP', function () {
  this.timeout(30_000)
  const onCleanup = useLeakChecks()

  /** A listener that collects what each client sends, then answers `reply` and says goodbye. */
  async function server (rekey: RekeyOption, reply: Uint8Array = new Uint8Array(0), errors: ShsError[] = []): Promise<Collecting & { port: number }> {
    const served = collecting(reply)
    const listener = await listen({ port: 0, keys: serverKeys, networkKey, rekey, onHandshakeError: (err) => { errors.push(err) } }, served.onStream)
    onCleanup(listener.close)
    return { port: listener.address().port, ...served }
  }

  it('both ends rekey on demand and after bytes; 16 MiB with afterBytes 1 MiB arrive byte-exact, and both count the same rekeys', async () => {
    const reply = randomPayload(100_000)
    const served = await server({ mode: 'require', afterBytes: MiB }, reply)
    const stream = await connect({ ...client, port: served.port, rekey: { mode: 'require', afterBytes: MiB } })
    await assertRekeyedTransfer(stream, served, reply, 16 * MiB)
  })

  it('afterMs: an idle connection rekeys on its own once afterMs passed', async () => {
    const { port, streams } = await server('prefer')
    const stream = await connect({ ...client, port, rekey: { afterMs: 1000 } })
    onCleanup(() => { stream.abort() })
    await waitFor(() => stream.rekeys >= 1 && (streams[0]?.rekeys ?? 0) >= 1, 'a rekey after afterMs')
  })

  it('a server with \'prefer\' serves the npm reference client byte for byte (plain SHS1)', async () => {
    const errors: ShsError[] = []
    const streams: SecureStream[] = []
    const listener = await listen({ port: 0, keys: serverKeys, networkKey, rekey: 'prefer', onHandshakeError: (err) => { errors.push(err) } }, (stream) => {
      streams.push(stream)
      void stream.sink(stream.source)
    })
    onCleanup(listener.close)
    const payload = randomPayload(300_000)
    const { received } = await referenceClient(clientKeys, networkKey, serverKeys.publicKey, listener.address().port, [payload], payload.byteLength)
    assert.equal(sha(received), sha(payload))
    assert.equal(streams[0]?.rekeying, false)
    assert.deepEqual(errors, [])
  })

  it('a client with \'prefer\' and the npm reference server: the first attempt is hung up on, the second is plain SHS1 and works', async () => {
    const reference = await startReferenceServer(serverKeys, networkKey, { echo: true })
    onCleanup(reference.close)
    const stream = await connect({ ...client, port: reference.port, rekey: 'prefer' })
    assert.equal(stream.rekeying, false)
    await assert.rejects(stream.rekey(), isShs('ERR_SHS_REKEY_NOT_NEGOTIATED'))
    const payload = randomPayload(50_000)
    const echoed = collect(stream.source)
    await stream.sink([payload])
    assert.equal(sha(await echoed), sha(payload))
    assert.equal(reference.sessions.length, 2, 'two connections: the refused one and the plain one')
  })

  it('a client with \'require\' and the npm reference server: ERR_SHS_REKEY_REQUIRED, which names the likely cause', async () => {
    const reference = await startReferenceServer(serverKeys, networkKey, { echo: true })
    onCleanup(reference.close)
    await assert.rejects(connect({ ...client, port: reference.port, rekey: 'require' }), (err: unknown) => {
      assert.ok(err instanceof ShsError)
      assert.equal(err.code, 'ERR_SHS_REKEY_REQUIRED')
      assert.match(err.message, /does not offer it/)
      assert.equal((err.cause as ShsError).code, 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')
      return true
    })
  })

  /** A plain SHS1 listener behind a door that keeps the first connection open and silent (python-ssb's server on a hello it cannot verify). */
  async function silentFirst (): Promise<number> {
    const { port: target } = await server(undefined)
    const sockets = new Set<net.Socket>()
    let connections = 0
    const door = net.createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
      if (connections++ === 0) { socket.resume(); return }
      const upstream = net.connect(target, HOST)
      sockets.add(upstream)
      upstream.on('error', () => {})
      socket.pipe(upstream).pipe(socket)
    })
    await new Promise<void>((resolve) => door.listen(0, HOST, resolve))
    onCleanup(async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => door.close(() => { resolve() }))
    })
    return (door.address() as net.AddressInfo).port
  }

  it('a client with \'prefer\' and a server that never answers a hello it cannot verify: after half the timeout it connects again with plain SHS1', async () => {
    const port = await silentFirst()
    const stream = await connect({ ...client, port, timeout: 2000, rekey: 'prefer' })
    assert.equal(stream.rekeying, false)
    const echoed = collect(stream.source)
    await stream.sink([])
    await echoed
  })

  it('a client with \'require\' and such a server: ERR_SHS_REKEY_REQUIRED after half the timeout, the unanswered hello as its cause', async () => {
    const port = await silentFirst()
    await assert.rejects(connect({ ...client, port, timeout: 1000, rekey: 'require' }), (err: unknown) => {
      assert.ok(err instanceof ShsError)
      assert.equal(err.code, 'ERR_SHS_REKEY_REQUIRED')
      assert.match((err.cause as Error).message, /did not answer our hello/)
      return true
    })
  })

  it('a plain client and a server with \'require\': the client is hung up on after its hello, the server reports ERR_SHS_REKEY_REQUIRED', async () => {
    const errors: ShsError[] = []
    const { port } = await server('require', undefined, errors)
    await assert.rejects(connect({ ...client, port }), isShs('ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO'))
    await waitFor(() => errors.length === 1, 'the server\'s report')
    assert.equal(errors[0]?.code, 'ERR_SHS_REKEY_REQUIRED')
  })

  /** A server that completes the extension's handshake, then `after(socket)`: the hostile peer of the next tests. */
  async function handPlayed (after: (socket: net.Socket) => void): Promise<number> {
    const sockets = new Set<net.Socket>()
    const tcp = net.createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
      const machine = SecretHandshake.server({ keys: serverKeys, networkKey, rekey: 'require' })
      withDeadline({ timeout: 5000 }, async (deadline) => await runHandshake(new SocketHandshakeTransport(socket), machine, deadline))
        .then(() => { after(socket) }, () => { socket.destroy() })
    })
    await new Promise<void>((resolve) => tcp.listen(0, HOST, resolve))
    onCleanup(async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => tcp.close(() => { resolve() }))
    })
    return (tcp.address() as net.AddressInfo).port
  }

  it('a peer that never answers a rekey: the connection ends with ERR_BOX_STREAM_REKEY_TIMEOUT after rekey.timeout, and rekey() rejects with it', async () => {
    // It reads everything and answers nothing.
    const port = await handPlayed((socket) => { socket.resume() })
    const stream = await connect({ ...client, port, rekey: { mode: 'require', timeout: 200 } })
    const reading = collect(stream.source)
    await assert.rejects(stream.rekey(), isShs('ERR_BOX_STREAM_REKEY_TIMEOUT'))
    await assert.rejects(reading, isShs('ERR_BOX_STREAM_REKEY_TIMEOUT'))
  })

  it('a peer that vanishes mid-rekey: rekey() and the reader fail with the same typed error, nothing is left running', async () => {
    const port = await handPlayed((socket) => { socket.once('data', () => { socket.destroy() }) })
    const stream = await connect({ ...client, port, rekey: 'require' })
    const reading = collect(stream.source)
    const rekeyed = stream.rekey()
    const failure = await reading.then(() => undefined, (err: unknown) => err)
    assert.ok(failure instanceof ShsError, `a typed error, got ${String(failure)}`)
    await assert.rejects(rekeyed, (err: unknown) => err === failure)
  })

  it('a rekey behind a backlog: 8 MiB the server has not read are queued ahead of the request; the rekey waits for them, then completes, and every byte arrives', async () => {
    let startReading: () => void = () => {}
    const reading = new Promise<void>((resolve) => { startReading = resolve })
    const received: Array<Promise<Uint8Array>> = []
    const streams: SecureStream[] = []
    const listener = await listen({ port: 0, keys: serverKeys, networkKey, rekey: 'require' }, (stream) => {
      streams.push(stream)
      // The application reads nothing until told: its queue fills and the socket pauses.
      const bytes = reading.then(async () => await collect(stream.source))
      received.push(bytes)
      bytes.then(async () => { await stream.sink([]) }, () => {})
    })
    onCleanup(listener.close)
    const relay = await RecordingRelay.start(listener.address().port)
    onCleanup(async () => { await relay.close() })
    const stream = await connect({ ...client, port: relay.port, rekey: 'require' })
    relay.hold()
    const payload = randomPayload(8 * MiB)
    let finishWriting: () => void = () => {}
    const writingDone = new Promise<void>((resolve) => { finishWriting = resolve })
    // The writer stays open (a goodbye would leave no direction to rekey) until the rekey is done.
    const sent = stream.sink((async function * () { yield payload; await writingDone })())
    await new Promise<void>((resolve) => { const check = (): void => { if (relay.bytesToServer >= payload.byteLength) { relay.off('toServer', check); resolve() } }; relay.on('toServer', check) })
    const before = relay.bytesToServer
    const rekeyed = stream.rekey()
    await new Promise<void>((resolve) => { relay.once('toServer', resolve) })
    assert.ok(relay.bytesToServer > before, 'the request left behind the data')
    assert.equal(stream.rekeys, 0)
    relay.release()
    startReading()
    await rekeyed
    finishWriting()
    await sent
    assert.equal(sha(await (received[0] as Promise<Uint8Array>)), sha(payload))
    await collect(stream.source)
    assert.equal(stream.rekeys, 1)
    assert.equal(streams[0]?.rekeys, 1)
  })

  it('a rekey racing our goodbye: rekey() resolves (the response still switches our receiving key) and both ends finish cleanly', async () => {
    const reply = randomPayload(20_000)
    const { port, received } = await server('require', reply)
    const stream = await connect({ ...client, port, rekey: 'require' })
    const rekeyed = stream.rekey()
    const payload = randomPayload(20_000)
    await stream.sink([payload])
    await rekeyed
    assert.equal(sha(await collect(stream.source)), sha(reply))
    assert.equal(sha(await (received[0] as Promise<Uint8Array>)), sha(payload))
  })

  it('rekey() after the peer\'s goodbye rejects with ERR_BOX_STREAM_CLOSED: a rekey needs both directions open', async () => {
    const listener = await listen({ port: 0, keys: serverKeys, networkKey, rekey: 'require' }, (stream) => { void stream.sink([]); void collect(stream.source) })
    onCleanup(listener.close)
    const stream = await connect({ ...client, port: listener.address().port, rekey: 'require' })
    await collect(stream.source)
    await assert.rejects(stream.rekey(), isShs('ERR_BOX_STREAM_CLOSED'))
    await stream.sink([])
  })
})
