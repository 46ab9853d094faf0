/** The Scuttlebutt entry points: connect() to a multiserver address, and the multiserver and secret-stack plugins. */
import { createRequire } from 'node:module'
import { connect, formatKey } from '../../../src/index.ts'
import ourShs, { type ShsPlugin, type ShsPullStream } from '../../../src/multiserver/index.ts'
import secretStackPlugin from '../../../src/secret-stack/index.ts'
import type { Accepted, FuzzEntry } from './entry.ts'
import { REKEY_OPTIONS, REKEY_VALID } from './entries-net.ts'
import { type FuzzFixture, exchange } from './fixture.ts'
import { withOption } from './values.ts'

const require = createRequire(import.meta.url)
const pull = require('pull-stream')
const pullPair: () => [unknown, unknown] = require('pull-pair/duplex')

const ADDRESS_OPTIONS = ['address', 'keys', 'networkKey', 'timeout', 'signal', 'onHandshakeProgress', 'idleTimeout', 'ca', 'pingInterval', 'earlyData'] as const
const MESSAGE = Buffer.from('one honest exchange over pull-streams')
/** The plugins' admission, a group of listen()'s options (the rest are checked by the same code, fuzzed on listen). */
const ADMISSION_OPTIONS = ['admission', 'admission.maxPendingHandshakes', 'admission.maxPendingPerSource', 'admission.helloTimeout', 'admission.penalties'] as const
const ADMISSION_VALID: Readonly<Record<string, readonly string[]>> = {
  admission: ['{}'],
  'admission.maxPendingHandshakes': ['2^31'],
  'admission.maxPendingPerSource': ['Infinity', '2^31'],
  'admission.penalties': ['{}']
}

export function ssbEntries (fixture: FuzzFixture): FuzzEntry[] {
  const key = formatKey(fixture.serverKeys.publicKey)
  const client = { keys: fixture.clientKeys, networkKey: fixture.networkKey }
  const asSodium = (keys: typeof fixture.serverKeys): { publicKey: Buffer, secretKey: Buffer } =>
    ({ publicKey: Buffer.from(keys.publicKey), secretKey: Buffer.from(keys.secretKey) })
  const saneClient = ourShs({ keys: asSodium(fixture.clientKeys), appKey: Buffer.from(fixture.networkKey) })
  const addressEntry = (transport: 'net' | 'ws'): FuzzEntry => ({
    name: `connect (${transport} address)`,
    options: [...ADDRESS_OPTIONS, ...REKEY_OPTIONS],
    valid: REKEY_VALID,
    async call (path, value) {
      const address = transport === 'net'
        ? `net:127.0.0.1:${fixture.tcp.address().port}~shs:${key}`
        : `ws://127.0.0.1:${fixture.ws.address().port}~shs:${key}`
      const stream = await connect(withOption({ ...client, address }, path, value) as unknown as Parameters<typeof connect>[0])
      return { exercise: async () => { await exchange(stream) }, close: async () => { stream.abort() } }
    }
  })
  return [
    addressEntry('net'),
    addressEntry('ws'),
    {
      name: 'multiserver shs() with keys',
      options: ['keys', 'seed', 'appKey', 'auth', 'authenticate', 'timeout', ...REKEY_OPTIONS, ...ADMISSION_OPTIONS],
      valid: { ...REKEY_VALID, ...ADMISSION_VALID },
      async call (path, value) {
        const base = { keys: asSodium(fixture.serverKeys), appKey: Buffer.from(fixture.networkKey) }
        const plugin = ourShs(withOption(base, path, value) as unknown as Parameters<typeof ourShs>[0])
        return pluginAccepted(plugin, saneClient, fixture.serverKeys.publicKey)
      }
    },
    {
      name: 'multiserver shs() with a seed',
      options: ['seed', 'appKey', 'timeout'],
      async call (path, value) {
        const seed = Buffer.alloc(32, 7)
        const plugin = ourShs(withOption({ seed, appKey: Buffer.from(fixture.networkKey) }, path, value) as unknown as Parameters<typeof ourShs>[0])
        return pluginAccepted(plugin, saneClient, plugin.publicKey ?? Buffer.alloc(32))
      }
    },
    {
      name: 'secret-stack plugin init',
      // A timers object without `handshake` means secret-stack's default for configured timers.
      valid: {
        'global.timers': ['{}'],
        'multiserverShs.rekey': ['{}'],
        'multiserverShs.rekey.afterBytes': ['2^31'],
        ...Object.fromEntries(Object.entries(ADMISSION_VALID).map(([option, values]) => [`multiserverShs.${option}`, values]))
      },
      options: [
        'global.caps.shs', 'global.appKey', 'global.keys', 'global.seed', 'global.timers', 'global.timers.handshake',
        'global.timeout', 'multiserverShs.cap', 'multiserverShs.seed', 'multiserverShs.rekey', 'multiserverShs.rekey.afterBytes',
        ...ADMISSION_OPTIONS.map((option) => `multiserverShs.${option}`)
      ],
      async call (path, value) {
        const base = {
          global: {
            caps: { shs: Buffer.from(fixture.networkKey).toString('base64') },
            keys: { public: `${key}.ed25519`, private: `${Buffer.from(fixture.serverKeys.secretKey).toString('base64')}.ed25519` },
            timers: { handshake: 5000 }
          }
        }
        const transforms: Array<{ create: () => ShsPlugin }> = []
        const api = {
          auth: (_id: string, cb: (err: null, auth: boolean) => void) => { cb(null, true) },
          multiserver: { transform: (transform: { create: () => ShsPlugin }) => { transforms.push(transform) } }
        }
        secretStackPlugin.init(api as unknown as Parameters<typeof secretStackPlugin.init>[0], withOption(base, path, value) as unknown as Parameters<typeof secretStackPlugin.init>[1])
        const transform = transforms[0]
        if (transform === undefined) throw new Error('the plugin registered no transform')
        return pluginAccepted(transform.create(), saneClient, fixture.serverKeys.publicKey)
      }
    }
  ]
}

/** The plugin as the server of an in-memory pull-stream pair, dialled by a sane plugin; one echo through it. */
function pluginAccepted (server: ShsPlugin, client: ShsPlugin, serverKey: Uint8Array): Accepted {
  const aborts: Array<() => void> = []
  return {
    async exercise () {
      const [serverEnd, clientEnd] = pullPair()
      const secured = (plugin: ShsPlugin, end: unknown, address: Parameters<ShsPlugin['create']>[0]): Promise<ShsPullStream> =>
        new Promise((resolve, reject) => {
          plugin.create(address)(end as Parameters<ReturnType<ShsPlugin['create']>>[0], (err, stream) => {
            if (err !== null || stream === undefined) reject(err ?? new Error('no stream'))
            else resolve(stream)
          })
        })
      const [ours, theirs] = await Promise.all([
        secured(server, serverEnd, null),
        secured(client, clientEnd, { key: Buffer.from(serverKey) })
      ])
      aborts.push(() => { ours.source(true, () => {}) }, () => { theirs.source(true, () => {}) })
      pull(ours, ours)
      const received: Buffer[] = await new Promise((resolve, reject) => {
        pull(pull.values([MESSAGE]), theirs.sink)
        pull(theirs.source, pull.collect((err: Error | null, chunks: Buffer[]) => { if (err === null) resolve(chunks); else reject(err) }))
      })
      if (!Buffer.concat(received).equals(MESSAGE)) throw new Error('the echo came back different')
    },
    async close () { for (const abort of aborts) abort() }
  }
}
