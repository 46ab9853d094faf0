/**
 * The rekey extension in shs-transport/multiserver, over multiserver's own net and ws plugins:
 * two of ours rekey with every byte intact and the stream (and its `meta`) saying so; a `prefer`
 * server still serves the stock plugin's clients (the npm reference secret-handshake); `require`
 * refuses them; a `require` dialer refuses a stock server; `prefer` dials plain SHS1, since a
 * transform cannot connect again. Bad values fail when the plugin is made.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { InvalidOptionError, type RekeyOption, ShsError, SSB_NETWORK_KEY } from '../../src/index.ts'
import shs, { type ShsPullStream } from '../../src/multiserver/shs.ts'
import { randomPayload } from '../helpers/bytes.ts'
import { type PullDuplex, pull, pullEcho, startStockServer, stockConnect, stockShs } from '../helpers/multiserver.ts'
import { clientKeys, serverKeys } from './helpers.ts'

const MiB = 1024 * 1024
const appKey = Buffer.from(SSB_NETWORK_KEY)
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const sodiumKeys = (keys: { publicKey: Uint8Array, secretKey: Uint8Array }): { publicKey: Buffer, secretKey: Buffer } =>
  ({ publicKey: Buffer.from(keys.publicKey), secretKey: Buffer.from(keys.secretKey) })
const ours = (keys: typeof serverKeys, rekey?: RekeyOption): ReturnType<typeof shs> => shs({ keys: sodiumKeys(keys), appKey, rekey })

/** 64 KiB Buffers of `payload`. */
function pieces (payload: Uint8Array): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < payload.byteLength; i += 65536) out.push(Buffer.from(payload.subarray(i, i + 65536)))
  return out
}

function isShs (code: string): (err: unknown) => boolean {
  return (err: unknown) => err instanceof ShsError && err.code === code
}

/** A server with `plugin` that echoes; the streams it accepted, and what multiserver reported as errors. */
async function echoServer (transport: 'net' | 'ws', plugin: unknown): Promise<Awaited<ReturnType<typeof startStockServer>> & { streams: ShsPullStream[] }> {
  const streams: ShsPullStream[] = []
  const server = await startStockServer(transport, plugin, (stream) => {
    streams.push(stream as unknown as ShsPullStream)
    pull(stream, stream)
  })
  return Object.assign(server, { streams })
}

describe('rekey extension in shs-transport/multiserver', function () {
  this.timeout(30_000)

  for (const transport of ['net', 'ws'] as const) {
    it(`over ${transport}: a 'require' dialer and a 'prefer' server rekey on demand and after bytes; 4 MiB echo byte-exact; stream and meta say so`, async () => {
      const server = await echoServer(transport, ours(serverKeys, { mode: 'prefer', afterBytes: MiB }))
      try {
        const client = await stockConnect(server.address, ours(clientKeys, { mode: 'require', afterBytes: MiB })) as unknown as ShsPullStream
        assert.equal(client.rekeying, true)
        assert.equal(client.meta.rekeying, true)
        await client.rekey()
        assert.equal(client.rekeys, 1)
        assert.equal(client.meta.rekeys, 1)
        const payload = randomPayload(4 * MiB)
        const echoed = await pullEcho(client as unknown as PullDuplex, pieces(payload))
        assert.equal(sha(echoed), sha(payload))
        const [theirs] = server.streams
        assert.equal(theirs?.rekeying, true)
        assert.ok(client.rekeys >= 2, `afterBytes rekeyed too (${client.rekeys} rekeys)`)
        assert.ok((theirs?.rekeys ?? 0) >= 1, `the server counted them (${theirs?.rekeys})`)
        assert.deepEqual(server.errors, [])
      } finally {
        await server.close()
      }
    })
  }

  it('a \'prefer\' server serves the stock plugin\'s client (the npm reference) byte for byte, with plain SHS1', async () => {
    const server = await echoServer('net', ours(serverKeys, 'prefer'))
    try {
      const client = await stockConnect(server.address, stockShs(clientKeys, appKey))
      const payload = randomPayload(1 * MiB + 5)
      assert.equal(sha(await pullEcho(client, pieces(payload))), sha(payload))
      assert.equal(server.streams[0]?.rekeying, false)
      assert.equal(server.streams[0]?.meta.rekeying, false)
      assert.deepEqual(server.errors, [])
    } finally {
      await server.close()
    }
  })

  it('a \'prefer\' server serves our plain client; a \'prefer\' plugin dials with plain SHS1 (it cannot connect again to fall back)', async () => {
    const server = await echoServer('net', ours(serverKeys, 'prefer'))
    const stock = await echoServer('net', stockShs(serverKeys, appKey))
    try {
      for (const [target, plugin] of [[server, ours(clientKeys)], [stock, ours(clientKeys, 'prefer')]] as const) {
        const client = await stockConnect(target.address, plugin) as unknown as ShsPullStream
        assert.equal(client.rekeying, false)
        await assert.rejects(client.rekey(), isShs('ERR_SHS_REKEY_NOT_NEGOTIATED'))
        const payload = randomPayload(100_000)
        assert.equal(sha(await pullEcho(client as unknown as PullDuplex, pieces(payload))), sha(payload))
      }
    } finally {
      await server.close()
      await stock.close()
    }
  })

  it('a \'require\' server refuses the stock client: the client\'s connect fails, multiserver reports ERR_SHS_REKEY_REQUIRED', async () => {
    const server = await echoServer('net', ours(serverKeys, 'require'))
    try {
      await assert.rejects(stockConnect(server.address, stockShs(clientKeys, appKey)))
      await waitUntil(() => server.errors.length > 0)
      assert.ok(isShs('ERR_SHS_REKEY_REQUIRED')(server.errors[0]), String(server.errors[0]))
      assert.deepEqual(server.streams, [])
    } finally {
      await server.close()
    }
  })

  it('a \'require\' dialer and a stock server: ERR_SHS_REKEY_REQUIRED, the hang-up after our hello as its cause', async () => {
    const stock = await echoServer('net', stockShs(serverKeys, appKey))
    try {
      await assert.rejects(stockConnect(stock.address, ours(clientKeys, 'require')), (err: unknown) => {
        assert.ok(isShs('ERR_SHS_REKEY_REQUIRED')(err), String(err))
        assert.equal(((err as Error).cause as ShsError).code, 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')
        return true
      })
    } finally {
      await stock.close()
    }
  })

  it('a bad rekey value fails when the plugin is made, with a typed error naming the field', () => {
    for (const [rekey, option] of [['sometimes', 'rekey'], [{ mode: 'never' }, 'rekey.mode'], [{ afterMs: 5 }, 'rekey.afterMs']] as const) {
      assert.throws(() => shs({ keys: sodiumKeys(serverKeys), appKey, rekey: rekey as RekeyOption }),
        (err: unknown) => err instanceof InvalidOptionError && err.option === option, JSON.stringify(rekey))
    }
  })
})

/** Polls `condition` on the event loop's turns, bounded: multiserver reports a refusal on its own time. */
async function waitUntil (condition: () => boolean, limit = 1000): Promise<void> {
  for (let turn = 0; turn < limit && !condition(); turn++) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.ok(condition(), 'the condition came true')
}
