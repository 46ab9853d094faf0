/**
 * The rekey extension in shs-transport/secret-stack: `multiserverShs.rekey` in secret-stack 8's
 * config (and in the flat configs of 6 and 7), checked at startup; two apps of ours rekey under
 * muxrpc with every byte intact, each connection's `rpc.meta` saying what was agreed; a `prefer`
 * app still serves an app on the stock plugin; a `require` app refuses it.
 */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { InvalidOptionError, generateKeyPair, toSsbKeys } from '../../src/index.ts'
import plugin from '../../src/secret-stack/index.ts'
import type { RekeyView } from '../../src/driver/rekey-view.ts'
import { CAPS, type InProcessApp, type Version, appConfig, closeInProcess, pick, startInProcess } from '../secret-stack/app-process.ts'

const require = createRequire(import.meta.url)
const { exercise, stockShs } = require('../fixtures/ssb-app.cjs')
const pull = require('pull-stream')

const MiB = 1024 * 1024
const CHUNK_BYTES = 64 * 1024

interface Rpc { meta: RekeyView, test: { echo: () => unknown }, close: (force: boolean, cb: () => void) => void }
type App = InProcessApp & { on: (event: string, listener: (rpc: Rpc, isClient: boolean) => void) => void }

async function start (version: Version, rekey: unknown, shs: unknown = plugin): Promise<App> {
  return await startInProcess({ ...await appConfig(version), rekey }, shs) as App
}

async function connect (app: App, address: string): Promise<Rpc> {
  return await new Promise((resolve, reject) => {
    app.connect(address, (err, rpc) => { if (err !== null && err !== undefined) reject(err); else resolve(rpc as unknown as Rpc) })
  })
}

/** `mib` MiB through the callee's echo, in chunks whose bytes are their position; resolves with what came back. */
async function echo (rpc: Rpc, mib: number): Promise<Buffer[]> {
  const chunks = Array.from({ length: mib * MiB / CHUNK_BYTES }, (_, i) => Buffer.alloc(CHUNK_BYTES, i & 0xff))
  return await new Promise((resolve, reject) => {
    pull(pull.values(chunks), rpc.test.echo(), pull.collect((err: Error | null, echoed: Buffer[]) => { if (err !== null) reject(err); else resolve(echoed) }))
  })
}

function intact (echoed: Buffer[], mib: number): boolean {
  const all = Buffer.concat(echoed)
  if (all.length !== mib * MiB) return false
  for (let i = 0; i < all.length; i += CHUNK_BYTES) if (all[i] !== ((i / CHUNK_BYTES) & 0xff) || all[i + CHUNK_BYTES - 1] !== all[i]) return false
  return true
}

describe('rekey extension in shs-transport/secret-stack', function () {
  this.timeout(60_000)
  const apps: App[] = []
  afterEach(async () => { for (const app of apps.splice(0)) await closeInProcess(app) })

  for (const version of [8, 7, 6] as const) {
    it(`secret-stack ${version}: a 'require' app calls a 'prefer' one; rpc.meta.rekey() and afterBytes rekey; a 4 MiB echo comes back intact`, async () => {
      const server = await start(version, { mode: 'prefer', afterBytes: MiB })
      const client = await start(version, { mode: 'require', afterBytes: MiB })
      apps.push(server, client)
      const accepted = new Promise<Rpc>((resolve) => { server.on('rpc:connect', (rpc, isClient) => { if (!isClient) resolve(rpc) }) })
      const rpc = await connect(client, pick(server.getAddress('device'), 'net'))
      assert.equal(rpc.meta.rekeying, true)
      await rpc.meta.rekey()
      assert.equal(rpc.meta.rekeys, 1)
      assert.ok(intact(await echo(rpc, 4), 4), 'the echo came back whole and in order')
      // The server answered our afterBytes request before it echoed what followed it.
      assert.ok(rpc.meta.rekeys >= 2, `afterBytes rekeyed too (${rpc.meta.rekeys} rekeys)`)
      assert.equal((await accepted).meta.rekeying, true)
      await new Promise<void>((resolve) => { rpc.close(true, resolve) })
    })
  }

  it('a \'prefer\' app serves an app on the stock plugin (the npm reference) with plain SHS1, and rpc.meta says so', async () => {
    const server = await start(8, 'prefer')
    apps.push(server)
    const accepted = new Promise<Rpc>((resolve) => { server.on('rpc:connect', (rpc, isClient) => { if (!isClient) resolve(rpc) }) })
    const stock = await start(8, undefined, stockShs(8))
    apps.push(stock)
    const result = await exercise(stock, pick(server.getAddress('device'), 'net'), 1) as { digestMatches: boolean, echoed: string }
    assert.equal(result.digestMatches, true)
    assert.equal(result.echoed, 'onetwothree')
    assert.equal((await accepted).meta.rekeying, false)
  })

  it('a \'require\' app refuses an app on the stock plugin (and reports ERR_SHS_REKEY_REQUIRED); a \'require\' app cannot call one', async () => {
    const server = await start(8, 'require')
    const stockServer = await start(8, undefined, stockShs(8))
    const stockClient = await start(8, undefined, stockShs(8))
    const client = await start(8, 'require')
    apps.push(server, stockServer, stockClient, client)
    // secret-stack gives multiserver no error handler: its default prints each refusal with console.error.
    const reported: unknown[] = []
    const print = console.error
    console.error = (...args: unknown[]) => { reported.push(...args) }
    try {
      await assert.rejects(exercise(stockClient, pick(server.getAddress('device'), 'net'), 1))
      await assert.rejects(connect(client, pick(stockServer.getAddress('device'), 'net')), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'ERR_SHS_REKEY_REQUIRED')
        return true
      })
    } finally {
      console.error = print
    }
    assert.ok(reported.some((value) => (value as { code?: string } | null)?.code === 'ERR_SHS_REKEY_REQUIRED'), 'our server reported the refusal')
  })

  it('a bad multiserverShs.rekey fails at startup, in secret-stack 8\'s config and in a flat one, naming the field', () => {
    const keys = toSsbKeys(generateKeyPair())
    const api = { auth: () => {}, multiserver: { transform: () => {} } } as unknown as Parameters<typeof plugin.init>[0]
    for (const [rekey, option] of [['sometimes', 'multiserverShs.rekey'], [{ mode: 'never' }, 'multiserverShs.rekey.mode']] as const) {
      for (const config of [{ global: { caps: { shs: CAPS }, keys }, multiserverShs: { rekey } }, { caps: { shs: CAPS }, keys, multiserverShs: { rekey } }]) {
        assert.throws(() => { plugin.init(api, config as Parameters<typeof plugin.init>[1]) },
          (err: unknown) => err instanceof InvalidOptionError && err.option === option, JSON.stringify(config))
      }
    }
  })
})
