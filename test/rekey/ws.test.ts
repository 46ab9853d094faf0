/**
 * The rekey extension over WebSocket (`connectWebSocket`, `listenWebSocket`, `acceptWebSocket`)
 * and through `connect({ address })` to ws: and net: alternatives: two of ours negotiate it and
 * rekey; a plain server (ours with rekey off, the stock multiserver ws plugin, one that stays
 * silent) makes a `prefer` client dial again with SHS1 and a `require` client fail; a `require`
 * server refuses plain clients; bad option values fail at the call, before any socket.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import {
  InvalidOptionError, type RekeyOption, type SecureStream, ShsError, acceptWebSocket, connect, connectWebSocket,
  formatNetAddress, formatWsAddress, listen, listenWebSocket
} from '../../src/index.ts'
import { collect, randomPayload } from '../helpers/bytes.ts'
import { pull, startStockServer, stockShs } from '../helpers/multiserver.ts'
import { freePort, useLeakChecks, waitFor } from '../helpers/resources.ts'
import { clientKeys, networkKey, serverKeys } from './helpers.ts'
import { type Collecting, assertRekeyedTransfer, collecting, isShs, sha } from './transfer.ts'

const MiB = 1024 * 1024
const client = { keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey }

describe('rekey extension over WebSocket', function () {
  this.timeout(30_000)
  const onCleanup = useLeakChecks()

  interface Served extends Collecting { url: string, port: number, errors: ShsError[], connections: () => number }

  /** A WebSocket listener that collects what each client sends, then answers `reply` and says goodbye. */
  async function server (rekey: RekeyOption, reply: Uint8Array = new Uint8Array(0)): Promise<Served> {
    const served = collecting(reply)
    const errors: ShsError[] = []
    let connections = 0
    const listener = await listenWebSocket({
      port: 0, keys: serverKeys, networkKey, rekey, onConnection: () => { connections++ }, onHandshakeError: (err) => { errors.push(err) }
    }, served.onStream)
    onCleanup(listener.close)
    const { port } = listener.address()
    return { url: `ws://127.0.0.1:${port}`, port, errors, connections: () => connections, ...served }
  }

  it('two of ours rekey on demand and after bytes: 8 MiB with afterBytes 1 MiB arrive byte-exact, and the reply too', async () => {
    const reply = randomPayload(100_000)
    const served = await server({ mode: 'require', afterBytes: MiB }, reply)
    const stream = await connectWebSocket({ ...client, url: served.url, rekey: { mode: 'require', afterBytes: MiB } })
    await assertRekeyedTransfer(stream, served, reply, 8 * MiB)
  })

  it('a \'prefer\' server serves an extension client and a plain client on the same port', async () => {
    const { url, streams } = await server('prefer')
    const asking = await connectWebSocket({ ...client, url, rekey: 'prefer' })
    const plain = await connectWebSocket({ ...client, url })
    assert.equal(asking.rekeying, true)
    assert.equal(plain.rekeying, false)
    await Promise.all([asking, plain].map(async (stream) => { await stream.sink([]); await collect(stream.source) }))
    assert.deepEqual(streams.map((stream) => stream.rekeying), [true, false])
  })

  it('a \'prefer\' client and our server with rekey off: hung up on after its hello, it opens a second WebSocket with plain SHS1', async () => {
    const { url, errors, connections } = await server(false, new TextEncoder().encode('plain'))
    const stream = await connectWebSocket({ ...client, url, rekey: 'prefer' })
    assert.equal(stream.rekeying, false)
    await assert.rejects(stream.rekey(), isShs('ERR_SHS_REKEY_NOT_NEGOTIATED'))
    const answer = collect(stream.source)
    await stream.sink([new TextEncoder().encode('also plain')])
    assert.equal(new TextDecoder().decode(await answer), 'plain')
    assert.equal(connections(), 2, 'the refused WebSocket and the plain one')
    assert.equal(errors.length, 1)
  })

  it('a \'prefer\' client and the stock multiserver ws + shs plugins: falls back to plain SHS1 and echoes byte for byte', async () => {
    const stock = await startStockServer('ws', stockShs(serverKeys, networkKey), (duplex) => { pull(duplex, duplex) })
    onCleanup(stock.close)
    const stream = await connectWebSocket({ ...client, url: `ws://127.0.0.1:${stock.port}`, rekey: 'prefer' })
    assert.equal(stream.rekeying, false)
    const payload = randomPayload(200_000)
    let allBack: () => void = () => {}
    const back = new Promise<void>((resolve) => { allBack = resolve })
    // The stock ws plugin closes the WebSocket once our side ends: say goodbye after the echo.
    const sending = stream.sink((async function * () { yield payload; await back })())
    const echoed: Uint8Array[] = []
    let length = 0
    for await (const chunk of stream.source) {
      echoed.push(chunk)
      length += chunk.byteLength
      if (length >= payload.byteLength) break
    }
    allBack()
    await sending.catch(() => {})
    assert.equal(sha(Buffer.concat(echoed)), sha(payload))
  })

  it('a \'require\' client and a plain server: ERR_SHS_REKEY_REQUIRED, the hang-up after its hello as the cause', async () => {
    const { url } = await server(false)
    await assert.rejects(connectWebSocket({ ...client, url, rekey: 'require' }), (err: unknown) => {
      assert.ok(err instanceof ShsError)
      assert.equal(err.code, 'ERR_SHS_REKEY_REQUIRED')
      assert.equal((err.cause as ShsError).code, 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')
      return true
    })
  })

  it('a plain client and a \'require\' server: hung up on after its hello, the server reports ERR_SHS_REKEY_REQUIRED', async () => {
    const { url, errors } = await server('require')
    await assert.rejects(connectWebSocket({ ...client, url }), isShs('ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO'))
    await waitFor(() => errors.length === 1, 'the server\'s report')
    assert.equal(errors[0]?.code, 'ERR_SHS_REKEY_REQUIRED')
  })

  /** A WebSocket server that leaves the first client's hello unanswered, then serves plain SHS1 with acceptWebSocket. */
  async function silentFirst (rekey: RekeyOption = false): Promise<{ url: string, streams: SecureStream[] }> {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    await new Promise<void>((resolve) => { wss.once('listening', resolve) })
    const streams: SecureStream[] = []
    let connections = 0
    wss.on('connection', (socket) => {
      socket.on('error', () => {})
      if (connections++ === 0) return
      acceptWebSocket(socket, { keys: serverKeys, networkKey, rekey }).then((stream) => {
        streams.push(stream)
        void collect(stream.source).then(async () => { await stream.sink([]) }, () => {})
      }, () => { socket.terminate() })
    })
    onCleanup(async () => {
      for (const socket of wss.clients) socket.terminate()
      await new Promise<void>((resolve) => { wss.close(() => { resolve() }) })
    })
    return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, streams }
  }

  it('a \'prefer\' client and a server that never answers its hello: after half the timeout, plain SHS1 on a second WebSocket', async () => {
    const { url, streams } = await silentFirst()
    const stream = await connectWebSocket({ ...client, url, timeout: 2000, rekey: 'prefer' })
    assert.equal(stream.rekeying, false)
    await stream.sink([])
    await collect(stream.source)
    assert.equal(streams[0]?.rekeying, false)
  })

  it('a \'require\' client and such a server: ERR_SHS_REKEY_REQUIRED, the unanswered hello as its cause', async () => {
    const { url } = await silentFirst()
    await assert.rejects(connectWebSocket({ ...client, url, timeout: 1000, rekey: 'require' }), (err: unknown) => {
      assert.ok(err instanceof ShsError)
      assert.equal(err.code, 'ERR_SHS_REKEY_REQUIRED')
      assert.match((err.cause as Error).message, /did not answer our hello/)
      return true
    })
  })

  it('acceptWebSocket takes rekey too: a \'require\' client gets the extension from it', async () => {
    const { url, streams } = await silentFirst('require')
    // The first WebSocket is the silent one; this client dials twice by hand.
    await assert.rejects(connectWebSocket({ ...client, url, timeout: 400, rekey: 'require' }), isShs('ERR_SHS_REKEY_REQUIRED'))
    const stream = await connectWebSocket({ ...client, url, rekey: 'require' })
    assert.equal(stream.rekeying, true)
    await stream.rekey()
    await stream.sink([])
    await collect(stream.source)
    assert.equal(streams[0]?.rekeys, 1)
  })

  it('connect({ address }) passes rekey to each alternative: a dead net: then a ws:, and a dead ws: then a net:', async () => {
    const ws = await server('require')
    const tcp = await listen({ port: 0, keys: serverKeys, networkKey, rekey: 'require' }, (stream) => { void stream.sink(stream.source) })
    onCleanup(tcp.close)
    const dead = await freePort()
    const host = '127.0.0.1'
    const viaWs = `${formatNetAddress({ host, port: dead }, serverKeys.publicKey)};${formatWsAddress({ host, port: ws.port }, serverKeys.publicKey)}`
    const viaNet = `${formatWsAddress({ host, port: dead }, serverKeys.publicKey)};${formatNetAddress({ host, port: tcp.address().port }, serverKeys.publicKey)}`
    for (const address of [viaWs, viaNet]) {
      const stream = await connect({ keys: clientKeys, networkKey, address, rekey: 'require' })
      assert.equal(stream.rekeying, true, address)
      await stream.rekey()
      await stream.sink([])
      await collect(stream.source)
    }
    assert.equal(ws.streams[0]?.rekeys, 1)
  })

  it('bad rekey values are InvalidOptionErrors naming the option, at the call: no WebSocket opens', async () => {
    const { url, port, connections } = await server('prefer')
    const address = formatWsAddress({ host: '127.0.0.1', port }, serverKeys.publicKey)
    const bad: Array<[unknown, string]> = [['always', 'rekey'], [{ mode: 'sometimes' }, 'rekey.mode'], [{ mode: null }, 'rekey.mode'],
      [{ afterBytes: 1000 }, 'rekey.afterBytes'], [{ afterMs: 10 }, 'rekey.afterMs'], [{ timeout: 0 }, 'rekey.timeout'], [[], 'rekey']]
    for (const [rekey, option] of bad) {
      const named = (err: unknown): boolean => err instanceof InvalidOptionError && err.option === option
      await assert.rejects(connectWebSocket({ ...client, url, rekey: rekey as RekeyOption }), named, `connectWebSocket ${String(rekey)}`)
      await assert.rejects(connect({ keys: clientKeys, networkKey, address, rekey: rekey as RekeyOption }), named, `connect ${String(rekey)}`)
      await assert.rejects(listenWebSocket({ port: 0, keys: serverKeys, networkKey, rekey: rekey as RekeyOption }, () => {}), named, `listenWebSocket ${String(rekey)}`)
    }
    assert.equal(connections(), 0)
  })
})
