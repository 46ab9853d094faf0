/**
 * shs-transport/multiserver in stock multiserver, next to (and against) the stock
 * multiserver/plugins/shs: loaded with require (CommonJS) and import (ESM) from the built package.
 */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import esmShs from 'shs-transport/multiserver'
import { SSB_NETWORK_KEY, generateKeyPair } from '../../src/index.ts'
import { randomPayload, splitIrregular } from '../helpers/bytes.ts'
import { type PullDuplex, pull, pullEcho, startStockServer, stockConnect, stockShs } from '../helpers/multiserver.ts'

const require = createRequire(import.meta.url)
const ourShs = require('shs-transport/multiserver')
const StockShs = require('multiserver/plugins/shs')

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const appKey = Buffer.from(SSB_NETWORK_KEY)
const asSodium = (keys: { publicKey: Uint8Array, secretKey: Uint8Array }): { publicKey: Buffer, secretKey: Buffer } =>
  ({ publicKey: Buffer.from(keys.publicKey), secretKey: Buffer.from(keys.secretKey) })

async function roundTrip (stream: PullDuplex, size: number): Promise<void> {
  const payload = Buffer.from(randomPayload(size))
  const received = await pullEcho(stream, splitIrregular(payload).map((c) => Buffer.from(c)))
  assert.ok(received.equals(payload), 'the echo came back byte-identical')
}

describe('shs-transport/multiserver: a drop-in for multiserver/plugins/shs', function () {
  this.timeout(30_000)

  it('is the same plugin function from require and from import', () => {
    assert.equal(typeof ourShs, 'function')
    assert.equal(ourShs, esmShs)
    const plugin = ourShs({ keys: asSodium(serverKeys), appKey })
    const stock = StockShs({ keys: asSodium(serverKeys), appKey })
    assert.equal(plugin.name, stock.name)
    assert.equal(plugin.stringify(), stock.stringify())
    assert.ok(plugin.publicKey?.equals(stock.publicKey))
  })

  it('parses shs addresses exactly as the stock plugin does', () => {
    const plugin = ourShs({ keys: asSodium(serverKeys), appKey })
    const stock = StockShs({ keys: asSodium(serverKeys), appKey })
    const key = Buffer.from(serverKeys.publicKey).toString('base64')
    const seed = Buffer.alloc(32, 1).toString('base64')
    for (const text of [`shs:${key}`, `shs:${key}:${seed}`, `shs:${key}:AAAA`, 'shs:AAAA', `net:${key}`, 'shs:']) {
      assert.deepEqual(plugin.parse(text), stock.parse(text), text)
    }
  })

  for (const transport of ['net', 'ws'] as const) {
    describe(`over multiserver's ${transport} plugin`, () => {
      it('serves a stock client; auth\'s value ends up on the stream as .auth', async () => {
        let serverStream: PullDuplex | undefined
        const plugin = ourShs({ keys: asSodium(serverKeys), appKey, auth: (_pk: Buffer, cb: (err: null, auth: unknown) => void) => { cb(null, { allow: ['whoami'] }) } })
        const server = await startStockServer(transport, plugin, (stream) => { serverStream = stream; pull(stream, stream) })
        try {
          const client = await stockConnect(server.address, stockShs(clientKeys, appKey))
          await roundTrip(client, 2 * 1024 * 1024 + 3)
          assert.ok(serverStream !== undefined)
          assert.ok(serverStream.remote.equals(Buffer.from(clientKeys.publicKey)))
          assert.deepEqual(serverStream.auth, { allow: ['whoami'] })
          assert.match(serverStream.address, new RegExp(`~shs:${escape(Buffer.from(clientKeys.publicKey).toString('base64'))}$`))
        } finally {
          await server.close()
        }
      })

      it('dials a stock server', async () => {
        const server = await startStockServer(transport, stockShs(serverKeys, appKey), (stream) => { pull(stream, stream) })
        try {
          const client = await stockConnect(server.address, ourShs({ keys: asSodium(clientKeys), appKey: appKey.toString('base64') }))
          assert.ok(client.remote.equals(Buffer.from(serverKeys.publicKey)))
          await roundTrip(client, 1024 * 1024)
        } finally {
          await server.close()
        }
      })
    })
  }

  it('dials with shs:KEY:SEED as the seed\'s key pair, as the stock plugin does', async () => {
    const seed = Buffer.alloc(32, 9)
    const seeded = generateKeyPair(seed)
    const remotes: Buffer[] = []
    const server = await startStockServer('net', stockShs(serverKeys, appKey), (stream) => { remotes.push(stream.remote); pull(stream, stream) })
    try {
      const address = `${server.address}:${seed.toString('base64')}`
      for (const plugin of [ourShs, StockShs]) {
        const client = await stockConnect(address, plugin({ keys: asSodium(clientKeys), appKey }))
        await roundTrip(client, 10)
      }
      assert.deepEqual(remotes.map((r) => r.toString('base64')), [0, 1].map(() => Buffer.from(seeded.publicKey).toString('base64')))
    } finally {
      await server.close()
    }
  })

  it('without keys or a seed, a connection fails through the callback instead of throwing', async () => {
    const server = await startStockServer('net', stockShs(serverKeys, appKey), (stream) => { pull(stream, stream) })
    try {
      await assert.rejects(stockConnect(server.address, ourShs({ appKey })), (err: Error & { address?: string }) =>
        /needs keys or a seed/.test(err.message) && /~shs:$/.test(err.address ?? ''))
    } finally {
      await server.close()
    }
  })

  it('holds backpressure: a peer that stops reading stops our sender pulling from its source', async () => {
    const CHUNK = Buffer.alloc(64 * 1024, 1)
    // Far above what loopback socket buffers hold, far below what an unthrottled pull would reach.
    const BOUND = 64 * 1024 * 1024
    const held: PullDuplex[] = []
    const server = await startStockServer('net', stockShs(serverKeys, appKey), (stream) => { held.push(stream) })
    try {
      const client = await stockConnect(server.address, ourShs({ keys: asSodium(clientKeys), appKey }))
      let produced = 0
      // An endless source that counts what the sender took from it.
      pull((abort: unknown, cb: (end: unknown, data?: Buffer) => void) => {
        if (abort !== null && abort !== undefined) { cb(abort); return }
        produced += CHUNK.length
        cb(null, CHUNK)
      }, client.sink)
      // Event-loop turns, not wall-clock: wait until the sender stops pulling (or passes the bound).
      let last = -1
      let still = 0
      for (let turn = 0; turn < 1_000_000 && still < 500 && produced <= BOUND; turn++) {
        await new Promise((resolve) => setImmediate(resolve))
        still = produced === last ? still + 1 : 0
        last = produced
      }
      assert.ok(produced <= BOUND, `the sender pulled ${produced} bytes for a peer that reads nothing`)
      assert.equal(held.length, 1, 'the server holds the connection, unread')
      assert.ok(produced > 0)
      // Tear both ends down (the stock server's close waits for its connections).
      await new Promise((resolve) => { client.source(true, resolve) })
      await new Promise((resolve) => { held[0]?.source(true, resolve) })
    } finally {
      await server.close()
    }
  })

  describe('refusals fail as with the stock plugin', () => {
    const cases = {
      'auth refuses': { serverAuth: (_pk: Buffer, cb: (err: null, auth: boolean) => void) => { cb(null, false) }, clientAppKey: appKey },
      'auth calls back an error': { serverAuth: (_pk: Buffer, cb: (err: Error) => void) => { cb(new Error('db down')) }, clientAppKey: appKey },
      'the client has other caps': { serverAuth: undefined, clientAppKey: Buffer.alloc(32, 5) }
    }
    for (const [name, { serverAuth, clientAppKey }] of Object.entries(cases)) {
      it(`${name}: the client's connect fails, the server reports an error with address …~shs: and never sees a stream`, async () => {
        const outcomes = []
        for (const Plugin of [StockShs, ourShs]) {
          let streams = 0
          const server = await startStockServer('net', Plugin({ keys: asSodium(serverKeys), appKey, auth: serverAuth }), () => { streams++ })
          try {
            const error = await stockConnect(server.address, Plugin({ keys: asSodium(clientKeys), appKey: clientAppKey })).then(() => undefined, (err: Error) => err)
            await waitFor(() => server.errors.length > 0)
            outcomes.push({ clientFailed: error instanceof Error, clientAddress: /~shs:$/.test((error as Error & { address?: string })?.address ?? ''), serverAddress: /^net:.*~shs:$/.test((server.errors[0] as Error & { address?: string }).address ?? ''), streams })
          } finally {
            await server.close()
          }
        }
        assert.deepEqual(outcomes[1], outcomes[0], 'ours behaves as the stock plugin')
        assert.deepEqual(outcomes[0], { clientFailed: true, clientAddress: true, serverAddress: true, streams: 0 })
      })
    }
  })
})

function escape (text: string): string {
  return text.replace(/[+/=]/g, (c) => `\\${c}`)
}

/** Polls an event's effect that has no event of its own (the stock server reports errors by callback only). */
async function waitFor (condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve))
  assert.ok(condition(), 'the server reported the failed handshake')
}
