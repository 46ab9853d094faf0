/**
 * A secret-stack 8 app in one lab namespace, on this library's plugin (`ours`) or on
 * secret-stack's stock shs plugin (`stock`), with the stock ssb-tunnel and ssb-lan plugins as
 * the scenario asks, and an `echo` duplex for the other side to call. A portal taps what its
 * stock ssb-tunnel relays, to show that it carries only ciphertext.
 */
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { generateKeyPair, toSsbKeys } from '../../../src/index.ts'
import ourShs from '../../../src/secret-stack/index.ts'
import { type PullDuplex, type PullSource, collect, echoDuplex, tap, values } from './pull.ts'
import { roleConfig, serve, within } from './serve.ts'
import { type Relayed, RelayTap } from './tunnel-tap.ts'

const require = createRequire(import.meta.url)

export interface SsbRoleConfig {
  readonly shs: 'ours' | 'stock'
  /** caps.shs, base64. */
  readonly caps: string
  /** Where incoming net connections are taken (inside the namespace). */
  readonly host: string
  readonly port: number
  /** portal: relays tunnels; endpoint: listens through `portal`; client: dials tunnel: addresses. */
  readonly tunnel?: 'portal' | 'endpoint' | 'client'
  /** The portal, for an endpoint or a client: its id and its net: address. */
  readonly portal?: { readonly id: string, readonly address: string }
  readonly lan?: boolean
}

export interface SsbReady { readonly id: string, readonly address: string }
export interface EchoCall { readonly remoteId: string, readonly bytes: number, readonly intact: boolean }
export interface Discovery { readonly address: string, readonly verified: boolean }

interface Rpc {
  readonly id: string
  readonly lab: { echo: () => PullDuplex }
  close: (force: boolean, cb: (err?: Error | null) => void) => void
}
interface Plugin { readonly name?: string, readonly version?: string, readonly manifest?: object, init: (api: App, config: PluginConfig) => unknown }
interface PluginConfig { readonly global: { readonly caps?: unknown } & Record<string, unknown>, readonly [key: string]: unknown }
interface App {
  id: string
  keys?: unknown
  readonly tunnel?: { connect: { hook: (wrap: (fn: (...args: unknown[]) => PullDuplex, args: unknown[]) => PullDuplex) => void } }
  readonly lan?: { start: () => void, discoveredPeers: () => PullSource<Discovery> }
  once: (event: string, listener: () => void) => void
  on: (event: string, listener: () => void) => void
  connect: (address: string, cb: (err: Error | null, rpc: Rpc) => void) => void
  getAddress: (scope: string) => string | null
  close: (force: boolean, cb: (err?: Error | null) => void) => void
}
type Stack = { use: (plugin: Plugin) => Stack } & ((config: unknown) => App)

const WAIT_MS = 20_000
const CHUNK_BYTES = 16 * 1024
const SCOPE = 'private'

const config = roleConfig<SsbRoleConfig>()
const keys = toSsbKeys(generateKeyPair())
const SecretStack = require('secret-stack/bare') as (defaults: unknown) => Stack

/** Sets `api.keys` for plugins that sign with the app's keys (ssb-lan), as ssb-db does in apps. */
const keysPlugin: Plugin = { name: 'lab-keys', init (api) { api.keys = keys } }
/** An `echo` duplex the other side may call without being one of our friends. */
const labPlugin: Plugin & { permissions: object } = {
  name: 'lab',
  version: '1.0.0',
  manifest: { echo: 'duplex' },
  permissions: { anonymous: { allow: ['echo'] } },
  init: () => ({ echo: echoDuplex })
}
/** ssb-tunnel reaches its portal with `gossip.connect(id)` (ssb-gossip or ssb-conn in apps): to the portal's known address here. */
const gossipPlugin: Plugin = {
  name: 'gossip',
  init: (api) => ({
    connect (target: string, cb: (err: Error | null, rpc?: Rpc) => void) {
      if (config.portal === undefined || target !== config.portal.id) { cb(new Error(`the lab knows no address for ${target}`)); return }
      api.connect(config.portal.address, cb)
    }
  })
}
/** ssb-lan reads `config.caps.shs`, where secret-stack 8 puts caps under `config.global`. */
function withTopLevelCaps (plugin: Plugin): Plugin {
  return { name: plugin.name, version: plugin.version, manifest: plugin.manifest, init: (api, pluginConfig) => plugin.init(api, { ...pluginConfig, caps: pluginConfig.global.caps }) }
}

let stack = SecretStack({ global: { caps: { shs: config.caps } } })
  .use(require('secret-stack/plugins/net') as Plugin)
  .use(config.shs === 'ours' ? ourShs as unknown as Plugin : require('secret-stack/plugins/shs') as Plugin)
  .use(keysPlugin)
  .use(labPlugin)
if (config.tunnel !== undefined) stack = stack.use(require('ssb-tunnel') as Plugin).use(gossipPlugin)
if (config.lan === true) stack = stack.use(withTopLevelCaps(require('ssb-lan') as Plugin))

const incoming: Record<string, unknown[]> = { net: [{ host: config.host, port: config.port, scope: SCOPE, transform: 'shs' }] }
if (config.tunnel === 'endpoint') incoming.tunnel = [{ scope: 'public', portal: config.portal?.id, transform: 'shs' }]
const outgoing: Record<string, unknown[]> = { net: [{ transform: 'shs' }] }
if (config.tunnel === 'client') outgoing.tunnel = [{ transform: 'shs' }]

const app = stack({ global: { keys, timers: { handshake: WAIT_MS, inactivity: 60_000 }, connections: { incoming, outgoing } } })
// A tunnel server never reports listening to multiserver: an endpoint waits for tunnel:listening instead.
if (config.tunnel !== 'endpoint') await within(WAIT_MS, 'multiserver:listening', new Promise<void>((resolve) => { app.once('multiserver:listening', resolve) }))

const tunnelListening = new Promise<void>((resolve) => { app.once('tunnel:listening', resolve) })
const relayTap = new RelayTap(Buffer.from(config.caps, 'base64'))
if (config.tunnel === 'portal') {
  app.tunnel?.connect.hook(function (this: unknown, fn, args) { return relayTap.wrap(fn.apply(this, args)) })
}
const discovered: Discovery[] = []
if (config.lan === true) {
  const lan = app.lan
  if (lan === undefined) throw new Error('ssb-lan did not register as `lan`')
  collect(lan.discoveredPeers(), (found) => { discovered.push(found) })
  lan.start()
}

async function connect (address: string): Promise<Rpc> {
  return await within(WAIT_MS, `connect to ${address}`, new Promise<Rpc>((resolve, reject) => {
    app.connect(address, (err, rpc) => { if (err === null) resolve(rpc); else reject(err) })
  }))
}

/** Connects to `address`, sends `bytes` through the other side's echo (the first chunk starts with `marker`), compares. */
async function echo (args: unknown): Promise<EchoCall> {
  const { address, bytes, marker } = args as { address: string, bytes: number, marker: string }
  const rpc = await connect(address)
  const sent: Buffer[] = []
  for (let offset = 0; offset < bytes; offset += CHUNK_BYTES) {
    const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, bytes - offset), offset / CHUNK_BYTES)
    if (offset === 0) chunk.write(marker)
    sent.push(chunk)
  }
  const received = await within(WAIT_MS, 'the echo', new Promise<Buffer[]>((resolve, reject) => {
    const duplex = rpc.lab.echo()
    duplex.sink(values(sent))
    tap(duplex.source, resolve, reject)
  }))
  await new Promise<void>((resolve, reject) => { rpc.close(true, (err) => { if (err == null) resolve(); else reject(err) }) })
  const digest = (chunks: Buffer[]): string => createHash('sha256').update(Buffer.concat(chunks)).digest('hex')
  return { remoteId: rpc.id, bytes: Buffer.concat(received).byteLength, intact: digest(received) === digest(sent) }
}

/** The first LAN announcement of `id` (an address with its key), waiting for one if none came yet. */
async function discover (args: unknown): Promise<Discovery> {
  const { key } = args as { key: string }
  const started = performance.now()
  for (;;) {
    const found = discovered.find((entry) => entry.address.includes(key) && entry.verified) ?? discovered.find((entry) => entry.address.includes(key))
    if (found !== undefined) return found
    if (performance.now() - started > WAIT_MS) throw new Error(`no LAN announcement of ${key} in ${WAIT_MS} ms (heard ${discovered.length}: ${discovered.map((entry) => entry.address).join(', ')})`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const ready: SsbReady = { id: app.id, address: app.getAddress(SCOPE) ?? '' }
serve(ready, {
  echo,
  discover,
  tunnelListening: async () => { await within(WAIT_MS, 'tunnel:listening', tunnelListening) },
  relayed: async (args) => relayTap.report((args as { marker: string }).marker) satisfies Relayed
}, async () => {
  await new Promise<void>((resolve) => { app.close(false, () => { resolve() }) })
})
