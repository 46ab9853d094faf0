/**
 * SHS over WebSocket: ours to ours, ours against the stock multiserver ws + shs plugins both
 * ways, wss: with a self-signed certificate, keepalive pings, and address lists.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { generate } from 'selfsigned'
import { WebSocket, WebSocketServer } from 'ws'
import {
  AllAddressesFailedError, ConnectionError, InvalidKeyError, SSB_NETWORK_KEY, type SecureStream, connect, connectWebSocket,
  formatNetAddress, formatWsAddress, generateKeyPair, listenWebSocket
} from '../../src/index.ts'
import { collect, randomPayload, splitIrregular } from '../helpers/bytes.ts'
import { assertNoLeaks, countResources, freePort, useLeakChecks } from '../helpers/resources.ts'
import { pull, pullEcho, startStockServer, stockConnect, stockShs } from '../helpers/multiserver.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const networkKey = SSB_NETWORK_KEY

async function echo (stream: SecureStream): Promise<void> {
  await stream.sink(stream.source)
}

describe('SHS over WebSocket', function () {
  this.timeout(30_000)
  useLeakChecks()

  it('ours to ours: 1 MiB both ways at once, ended by goodbye both ways, then the WebSocket closes by itself', async () => {
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey }, (stream) => { void echo(stream) })
    try {
      const listening = countResources()
      const { host, port } = listener.address()
      const stream = await connectWebSocket({ url: `ws://${host}:${port}`, keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey })
      const payload = randomPayload(1024 * 1024)
      const [received] = await Promise.all([collect(stream.source), stream.sink(splitIrregular(payload))])
      assert.deepEqual(received, payload)
      await assertNoLeaks(listening)
    } finally {
      await listener.close()
    }
  })

  it('contains a throwing onConnection or onStream like listen(): that one connection ends, reported with the callback named, and the server keeps serving', async () => {
    const reported: string[] = []
    let connections = 0
    const listener = await listenWebSocket({
      port: 0,
      keys: serverKeys,
      networkKey,
      onConnection: () => { if (++connections === 1) throw new Error('onConnection broke') },
      onHandshakeError: (error) => { reported.push(`${error.code} ${(error as { callback?: string }).callback ?? ''}`) },
      onError: (error) => { reported.push(`${error.code} ${(error as { callback?: string }).callback ?? ''}`) }
    }, (stream) => {
      if (connections === 2) throw new Error('onStream broke')
      void echo(stream)
    })
    try {
      const { host, port } = listener.address()
      const dial = async (): Promise<SecureStream> => await connectWebSocket({ url: `ws://${host}:${port}`, keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey })
      await assert.rejects(dial(), (err: { code?: string }) => err.code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO' || err.code === 'ERR_SHS_CONNECTION')
      const second = await dial()
      await assert.rejects(collect(second.source), (err: { code?: string }) => typeof err.code === 'string')
      const third = await dial()
      const payload = randomPayload(10_000)
      const [received] = await Promise.all([collect(third.source), third.sink([payload])])
      assert.deepEqual(received, payload)
      assert.deepEqual(reported, ['ERR_SHS_CALLBACK_FAILED onConnection', 'ERR_SHS_CALLBACK_FAILED onStream'])
    } finally {
      await listener.close()
    }
  })

  it('refuses past the per-source cap of pending handshakes with ERR_SHS_SOURCE_BUSY, as listen() does', async () => {
    const refusals: string[] = []
    const listener = await listenWebSocket({
      port: 0, keys: serverKeys, networkKey, maxPendingPerSource: 1, onHandshakeError: (error) => { refusals.push(error.code) }
    }, (stream) => { void echo(stream) })
    const { host, port } = listener.address()
    // A WebSocket that opens and stays silent holds its pending-handshake slot.
    const staller = new WebSocket(`ws://${host}:${port}`)
    try {
      await new Promise((resolve, reject) => { staller.once('open', resolve); staller.once('error', reject) })
      const closed = new Promise((resolve) => { staller.once('close', resolve) })
      const refused = new WebSocket(`ws://${host}:${port}`)
      refused.on('error', () => {})
      await new Promise((resolve) => { refused.once('close', resolve) })
      assert.deepEqual(refusals, ['ERR_SHS_SOURCE_BUSY'])
      staller.terminate()
      await closed
    } finally {
      await listener.close()
    }
  })

  it('our client talks to a stock multiserver ws + shs server', async () => {
    const server = await startStockServer('ws', stockShs(serverKeys, networkKey), (stream) => { pull(stream, stream) })
    try {
      assert.match(server.address, /^ws:\/\/127\.0\.0\.1:\d+~shs:/)
      const stream = await connect({ address: server.address, keys: clientKeys, networkKey })
      assert.deepEqual(stream.remotePublicKey, serverKeys.publicKey)
      const payload = randomPayload(300_000)
      const [received] = await Promise.all([collect(stream.source), stream.sink(splitIrregular(payload))])
      assert.deepEqual(received, payload)
    } finally {
      await server.close()
    }
  })

  it('a stock multiserver ws + shs client talks to our server', async () => {
    let accepted: Uint8Array | undefined
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey }, (stream) => {
      accepted = stream.remotePublicKey
      void echo(stream)
    })
    try {
      const address = formatWsAddress(listener.address(), serverKeys.publicKey)
      const stream = await stockConnect(address, stockShs(clientKeys, networkKey))
      assert.deepEqual(stream.remote, Buffer.from(serverKeys.publicKey))
      const payload = Buffer.from(randomPayload(300_000))
      const received = await pullEcho(stream, splitIrregular(payload).map((c) => Buffer.from(c)))
      assert.ok(received.equals(payload))
      assert.deepEqual(accepted, clientKeys.publicKey)
    } finally {
      await listener.close()
    }
  })

  it('drops a peer that sends a message larger than any box-stream peer sends', async () => {
    let reported: (message: string) => void = () => {}
    const failure = new Promise<string>((resolve) => { reported = resolve })
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey, onHandshakeError: (err) => { reported(err.message) } }, () => {})
    try {
      const socket = new WebSocket(`ws://127.0.0.1:${listener.address().port}`)
      const closed = new Promise((resolve) => socket.once('close', resolve))
      await new Promise((resolve) => socket.once('open', resolve))
      socket.send(new Uint8Array(1024 * 1024))
      assert.match(await failure, /hung up/)
      await closed
    } finally {
      await listener.close()
    }
  })

  it('closes WebSockets beyond maxPendingHandshakes at once, reported as ERR_SHS_BUSY', async () => {
    let reported: (code: string) => void = () => {}
    const busy = new Promise<string>((resolve) => { reported = resolve })
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey, maxPendingHandshakes: 1, onHandshakeError: (err) => { reported(err.code) } }, () => {})
    try {
      const url = `ws://127.0.0.1:${listener.address().port}`
      const silent = new WebSocket(url)
      await new Promise((resolve) => silent.once('open', resolve))
      const extra = new WebSocket(url)
      // Refused at TCP accept, before the upgrade: the client sees a hang-up.
      extra.on('error', () => {})
      const extraClosed = new Promise((resolve) => extra.once('close', resolve))
      assert.equal(await busy, 'ERR_SHS_BUSY')
      await extraClosed
    } finally {
      await listener.close()
    }
  })

  it('refuses bad keys before dialing any alternative', async () => {
    await assert.rejects(connect({ address: `ws://127.0.0.1:1~shs:${Buffer.from(serverKeys.publicKey).toString('base64')}`, keys: { publicKey: clientKeys.publicKey, secretKey: serverKeys.secretKey }, networkKey }),
      (err: unknown) => err instanceof InvalidKeyError)
  })

  it('wss: with a self-signed certificate the client is told to trust (ca)', async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
    })
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey, cert: pems.cert, key: pems.private }, (stream) => { void echo(stream) })
    try {
      const address = formatWsAddress(listener.address(), serverKeys.publicKey)
      assert.match(address, /^wss:\/\/127\.0\.0\.1:\d+~shs:/)
      await assert.rejects(connect({ address, keys: clientKeys, networkKey }), (err: unknown) =>
        err instanceof ConnectionError && /certificate is trusted/.test(err.message))
      const stream = await connect({ address, keys: clientKeys, networkKey, ca: pems.cert })
      const [received] = await Promise.all([collect(stream.source), stream.sink([new TextEncoder().encode('over tls')])])
      assert.equal(new TextDecoder().decode(received), 'over tls')
    } finally {
      await listener.close()
    }
  })

  describe('keepalive', () => {
    let server: WebSocketServer
    let url: string
    beforeEach(async () => {
      server = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: false })
      await new Promise<void>((resolve) => { server.once('listening', resolve) })
      url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
    })
    afterEach(async () => { await new Promise<void>((resolve) => { server.close(() => { resolve() }) }) })

    it('pings every pingInterval while the socket is open (the handshake included)', async () => {
      const pinged = new Promise<number>((resolve) => {
        server.once('connection', (socket) => {
          let count = 0
          socket.on('ping', () => { socket.pong(); if (++count === 3) resolve(count) })
        })
      })
      const controller = new AbortController()
      const connecting = connectWebSocket({ url, keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey, pingInterval: 10, signal: controller.signal })
      assert.equal(await pinged, 3)
      controller.abort()
      await assert.rejects(connecting, { code: 'ERR_SHS_ABORTED' })
    })

    it('drops a peer that does not answer a ping, with an error that says so', async () => {
      await assert.rejects(connectWebSocket({ url, keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey, pingInterval: 10 }),
        /did not answer a WebSocket ping/)
    })
  })

  describe('address lists', () => {
    it('tries the alternatives in order until one completes the handshake', async () => {
      const closedPort = await freePort()
      const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey }, (stream) => { void echo(stream) })
      try {
        const address = `${formatNetAddress({ host: '127.0.0.1', port: closedPort }, serverKeys.publicKey)};` +
          formatWsAddress(listener.address(), serverKeys.publicKey)
        const stream = await connect({ address, keys: clientKeys, networkKey })
        assert.deepEqual(stream.remotePublicKey, serverKeys.publicKey)
        stream.abort()
      } finally {
        await listener.close()
      }
    })

    it('lists every attempt and why it failed when none works', async () => {
      const closedPort = await freePort()
      const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey: new Uint8Array(32) }, () => {})
      try {
        const address = `${formatNetAddress({ host: '127.0.0.1', port: closedPort }, serverKeys.publicKey)};` +
          `onion:abc.onion:1~shs:${Buffer.from(serverKeys.publicKey).toString('base64')};` +
          formatWsAddress(listener.address(), serverKeys.publicKey)
        await assert.rejects(connect({ address, keys: clientKeys, networkKey }), (err: unknown) => {
          assert.ok(err instanceof AllAddressesFailedError)
          assert.deepEqual(err.attempts.map((a) => a.error.code), ['ERR_SHS_CONNECTION', 'ERR_SHS_INVALID_ADDRESS', 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO'])
          assert.match(err.message, /1\. net:.*ECONNREFUSED[\s\S]*2\. onion:.*onion transport[\s\S]*3\. ws:\/\//)
          return true
        })
      } finally {
        await listener.close()
      }
    })
  })
})
