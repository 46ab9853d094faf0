/**
 * The multiserver and secret-stack plugins under stallers (docs/HOSTILE-LOAD.md, "Per path"):
 * stock multiserver's net server with our plugin, stallers from one source and from 16
 * (127.0.0.2..17), honest multiserver clients from 127.0.0.1. The plugin's admission keeps the
 * stallers at their per-source share, so the honest clients are served and pending stays bounded.
 */
import assert from 'node:assert/strict'
import { generateKeyPair, type ShsError, SSB_NETWORK_KEY, toSsbKeys } from '../../src/index.ts'
import ourShs, { type PluginAdmissionOptions, type ShsPlugin } from '../../src/multiserver/index.ts'
import { streamSource } from '../../src/multiserver/admission.ts'
import secretStackShs from '../../src/secret-stack/index.ts'
import { pull, pullEcho, startStockServer, stockConnect, type StockServer } from '../helpers/multiserver.ts'
import { useLeakChecks, waitFor } from '../helpers/resources.ts'
import { attackerSources, type RawSockets, stallers } from '../helpers/stallers.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const appKey = Buffer.from(SSB_NETWORK_KEY)
const WAIT_MS = 15_000
const HONEST = 24
/** Long deadlines, so the stallers hold their slots for the whole test: the per-source cap must do the work. */
const LONG_MS = 60_000
const PER_SOURCE = 8
const asSodium = (keys: { publicKey: Uint8Array, secretKey: Uint8Array }): { publicKey: Buffer, secretKey: Buffer } =>
  ({ publicKey: Buffer.from(keys.publicKey), secretKey: Buffer.from(keys.secretKey) })

/** The plugin as each path makes it: directly, or from a secret-stack 8 config through the secret-stack plugin. */
const paths: Record<string, () => ShsPlugin> = {
  'the multiserver plugin': () => ourShs({ keys: asSodium(serverKeys), appKey, timeout: LONG_MS, admission: { helloTimeout: LONG_MS } }),
  'the secret-stack plugin': () => {
    let plugin: ShsPlugin | undefined
    const api = {
      auth: (_id: string, cb: (err: null, auth: boolean) => void) => { cb(null, true) },
      multiserver: { transform: (transform: { create: () => ShsPlugin }) => { plugin = transform.create() } }
    }
    secretStackShs.init(api as unknown as Parameters<typeof secretStackShs.init>[0], {
      global: { keys: toSsbKeys(serverKeys), caps: { shs: appKey.toString('base64') }, timers: { handshake: LONG_MS } },
      multiserverShs: { admission: { helloTimeout: LONG_MS } }
    })
    assert.ok(plugin !== undefined)
    return plugin
  }
}

describe('the multiserver and secret-stack plugins under stallers: admission per source', function () {
  this.timeout(60_000)
  const onCleanup = useLeakChecks()

  async function serve (plugin: ShsPlugin): Promise<StockServer> {
    const server = await startStockServer('net', plugin, (stream) => { pull(stream, stream) })
    onCleanup(async () => { await server.close() })
    return server
  }

  async function honestClients (server: StockServer): Promise<number> {
    let served = 0
    for (let i = 0; i < HONEST; i++) {
      const payload = Buffer.from([1, 2, 3, i])
      const client = await stockConnect(server.address, ourShs({ keys: asSodium(clientKeys), appKey }))
      const echoed = await pullEcho(client, [payload])
      if (echoed.equals(payload)) served++
    }
    return served
  }

  for (const [path, makePlugin] of Object.entries(paths)) {
    for (const sources of [1, 16]) {
      it(`${path}: stallers from ${sources} source${sources === 1 ? '' : 's'} are held to ${PER_SOURCE} each; honest clients are served`, async () => {
        const plugin = makePlugin()
        const server = await serve(plugin)
        const perSource = sources === 1 ? 256 : 32
        const attacks: RawSockets[] = attackerSources(sources).map((source) => stallers(server.port, source, perSource, 1))
        onCleanup(() => { for (const attack of attacks) attack.destroyAll() })
        await waitFor(() => attacks.every((attack) => attack.size === PER_SOURCE), 'only the admitted stallers to remain', WAIT_MS)
        assert.equal(plugin.admission.pending, sources * PER_SOURCE, 'pending handshakes: the stallers\' share, no more')
        const refusals = server.errors.length
        assert.ok(refusals >= sources * (perSource - PER_SOURCE), `${refusals} refusals`)
        assert.ok(server.errors.every((err) => (err as ShsError).code === 'ERR_SHS_SOURCE_BUSY'), 'refused by the per-source cap')

        const served = await honestClients(server)
        assert.ok(served >= HONEST - 2, `${served} of ${HONEST} honest clients served`)
        assert.equal(served, HONEST)
        assert.ok(plugin.admission.pending <= sources * PER_SOURCE + 1)
        assert.ok(attacks.every((attack) => attack.size === PER_SOURCE), 'the stallers still hold their sockets')
      })
    }
  }

  it('the hello deadline drops a staller; the slot it held is free again', async () => {
    const plugin: ShsPlugin = ourShs({ keys: asSodium(serverKeys), appKey, timeout: LONG_MS, admission: { helloTimeout: 200, maxPendingPerSource: 1 } })
    const server = await serve(plugin)
    const attack = stallers(server.port, '127.0.0.2', 1, 0)
    onCleanup(() => { attack.destroyAll() })
    await waitFor(() => server.errors.length === 1, 'the staller to be dropped', WAIT_MS)
    assert.equal((server.errors[0] as ShsError).code, 'ERR_SHS_HANDSHAKE_TIMEOUT')
    assert.match(server.errors[0]?.message ?? '', /no complete hello \(message 1\) within 200 ms/)
    assert.equal(plugin.admission.pending, 0)
    await waitFor(() => attack.size === 0, 'the staller\'s socket to close', WAIT_MS)
  })

  it('counts a stream by the host of its net: or ws: address; other transports are one source each', () => {
    assert.equal(streamSource('net:127.0.0.2:50123'), '127.0.0.2')
    assert.equal(streamSource('net:::1:50123'), '::1')
    assert.equal(streamSource('net:::ffff:10.0.0.7:8008'), '::ffff:10.0.0.7')
    assert.equal(streamSource('ws:192.168.1.4:8989'), '192.168.1.4')
    assert.equal(streamSource('unix:/run/ssb/socket'), 'unix')
    assert.equal(streamSource('http://example.org'), 'http')
    assert.equal(streamSource(undefined), 'unknown')
  })

  it('a bad admission option fails when the plugin is made, naming it', () => {
    assert.throws(() => ourShs({ keys: asSodium(serverKeys), appKey, admission: { maxPendingPerSource: 0 } }),
      (err: ShsError) => err.code === 'ERR_SHS_INVALID_OPTION' && /maxPendingPerSource/.test(err.message))
    assert.throws(() => ourShs({ keys: asSodium(serverKeys), appKey, admission: { idleTimeout: 10 } as PluginAdmissionOptions }),
      (err: ShsError) => err.code === 'ERR_SHS_INVALID_OPTION' && /admission\.idleTimeout is an option of listen\(\)/.test(err.message))
    // secret-stack 8's layout, and the flat one of 6 and 7: the path in the app's config.
    const global = { keys: toSsbKeys(serverKeys), caps: { shs: appKey.toString('base64') } }
    const api = { multiserver: { transform: () => {} } } as unknown as Parameters<typeof secretStackShs.init>[0]
    for (const config of [{ global, multiserverShs: { admission: { helloTimeout: 0 } } }, { ...global, multiserverShs: { admission: { helloTimeout: 0 } } }]) {
      assert.throws(() => { secretStackShs.init(api, config) },
        (err: ShsError & { option?: string }) => err.option === 'multiserverShs.admission.helloTimeout' && /^multiserverShs\.admission\.helloTimeout must be/.test(err.message))
    }
  })
})
