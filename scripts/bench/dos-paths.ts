/**
 * The rows of `npm run bench:dos` for the other server paths: stock multiserver's net server
 * with our plugin (directly, and made by the secret-stack plugin from its config), and a
 * js-libp2p node with shs(), with shsAdmission() and with libp2p's defaults alone. For each path
 * and attack: honest clients served (of 24, sequential), the most handshakes pending at once, and
 * the server's peak RSS. The server runs in a child process, the stallers in another; every phase
 * is bounded in honest clients, time and attacker connections.
 */
import { fork } from 'node:child_process'
import net from 'node:net'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair as generateLibp2pKey } from '@libp2p/crypto/keys'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { SSB_NETWORK_KEY, generateKeyPair, toSsbKeys } from '../../src/index.ts'
import { SHS_MUXER_PROTOCOL, shs, shsAdmission } from '../../src/libp2p/index.ts'
import ourShs, { type ShsPlugin } from '../../src/multiserver/index.ts'
import secretStackShs from '../../src/secret-stack/index.ts'
import { type Attack, HELLO_BYTE, multistreamSelect, startStallers } from './stallers.ts'

const require = createRequire(import.meta.url)
const MultiServer = require('multiserver')
const Net = require('multiserver/plugins/net')

const PATHS = ['multiserver plugin', 'secret-stack plugin', 'libp2p + shsAdmission()', 'libp2p defaults'] as const
type Path = typeof PATHS[number]
const ATTACKS: readonly Attack[] = [
  { label: '4 096 stallers, 1 source', sources: 1, perSource: 4_096 },
  { label: '4 096 stallers, 16 sources', sources: 16, perSource: 256 }
]
const HONEST = 24
const HONEST_TIMEOUT_MS = 10_000
const PHASE_LIMIT_MS = 60_000
const MAX_ATTACK_CONNECTIONS = 200_000
/** How long the attack runs before the honest clients start, and how often the server samples itself. */
const SETTLE_MS = 2_000
const SAMPLE_MS = 100
const MIB = 1024 * 1024
/**
 * libp2p refuses more than 5 connections a second from one host by default; the honest clients
 * here all dial from 127.0.0.1, faster than that. Raised, it limits the stallers no more either:
 * the gater alone holds them.
 */
const HONEST_HOST_RATE = 1_000
const appKey = Buffer.from(SSB_NETWORK_KEY)
const asSodium = (keys: { publicKey: Uint8Array, secretKey: Uint8Array }): { publicKey: Buffer, secretKey: Buffer } =>
  ({ publicKey: Buffer.from(keys.publicKey), secretKey: Buffer.from(keys.secretKey) })

interface Served { address: string, port: number, rssMiB: number }
interface Sample { peakPending: number, peakRssMiB: number }

const isLibp2p = (path: Path): boolean => path.startsWith('libp2p')

if (process.argv[2] === 'path-serve') await serve(process.argv[3] as Path)
else if (process.argv[2] === 'path-attack') attack(process.argv.slice(3))

/** In the server's child: starts the path's server, then samples its pending count and RSS until told to report. */
async function serve (path: Path): Promise<void> {
  const { served, pending } = await startServer(path)
  const sample: Sample = { peakPending: 0, peakRssMiB: 0 }
  setInterval(() => {
    sample.peakPending = Math.max(sample.peakPending, pending())
    sample.peakRssMiB = Math.max(sample.peakRssMiB, process.memoryUsage().rss / MIB)
  }, SAMPLE_MS).unref()
  process.send?.({ ...served, rssMiB: process.memoryUsage().rss / MIB })
  process.on('message', () => { process.send?.(sample) })
  process.once('disconnect', () => { process.exit(0) })
}

async function startServer (path: Path): Promise<{ served: Omit<Served, 'rssMiB'>, pending: () => number }> {
  if (isLibp2p(path)) {
    const admission = path === 'libp2p + shsAdmission()' ? shsAdmission() : undefined
    const node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [shs()],
      streamMuxers: [yamux()],
      ...(admission === undefined
        ? {}
        : { connectionGater: admission.connectionGater, connectionManager: { ...admission.connectionManager, inboundConnectionThreshold: HONEST_HOST_RATE } }),
      connectionMonitor: { enabled: false },
      services: { ping: ping() }
    })
    const address = node.getMultiaddrs()[0]
    if (address === undefined) throw new Error('the libp2p node has no address')
    const port = Number(address.getComponents().find((component) => component.name === 'tcp')?.value)
    return { served: { address: address.toString(), port }, pending: () => admission?.pending ?? 0 }
  }
  const plugin = path === 'multiserver plugin' ? ourShs({ keys: asSodium(generateKeyPair()), appKey }) : secretStackPlugin()
  const port = await freePort()
  const ms = MultiServer([[Net({ host: '127.0.0.1', port }), plugin]])
  await new Promise<void>((resolve) => {
    ms.server((stream: { sink: (read: unknown) => void, source: unknown }) => { stream.sink(stream.source) }, () => {}, resolve)
  })
  return { served: { address: ms.stringify('device') as string, port }, pending: () => plugin.admission.pending }
}

function secretStackPlugin (): ShsPlugin {
  let plugin: ShsPlugin | undefined
  const api = {
    auth: (_id: string, cb: (err: null, auth: boolean) => void) => { cb(null, true) },
    multiserver: { transform: (transform: { create: () => ShsPlugin }) => { plugin = transform.create() } }
  }
  secretStackShs.init(api as unknown as Parameters<typeof secretStackShs.init>[0], { global: { keys: toSsbKeys(generateKeyPair()), caps: { shs: appKey.toString('base64') } } })
  if (plugin === undefined) throw new Error('the secret-stack plugin registered no transform')
  return plugin
}

/** In the attacker's child: stallers until told to stop; then how many connections they made. */
function attack ([port, sources, perSource, libp2p]: string[]): void {
  const greeting = libp2p === 'libp2p' ? multistreamSelect(SHS_MUXER_PROTOCOL) : HELLO_BYTE
  const stallers = startStallers(Number(port), { label: '', sources: Number(sources), perSource: Number(perSource) }, MAX_ATTACK_CONNECTIONS, greeting)
  process.send?.({ started: true })
  process.once('message', () => {
    stallers.stop()
    process.send?.({ connections: stallers.connections() }, () => { process.exit(0) })
  })
}

function child (args: string[]): ReturnType<typeof fork> {
  return fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
}

async function ask<T> (process: ReturnType<typeof fork>, message?: string): Promise<T> {
  return await new Promise<T>((resolve) => {
    process.once('message', (answer) => { resolve(answer as T) })
    if (message !== undefined) process.send(message)
  })
}

async function freePort (): Promise<number> {
  const probe = net.createServer()
  await new Promise<void>((resolve) => { probe.listen(0, '127.0.0.1', resolve) })
  const { port } = probe.address() as net.AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

interface HonestClient { dial: () => Promise<void>, stop: () => Promise<void> }

/** One honest client: each dial is a whole handshake, then a clean end. */
async function honestClient (path: Path, address: string): Promise<HonestClient> {
  if (isLibp2p(path)) {
    const node = await createLibp2p({
      privateKey: await generateLibp2pKey('Ed25519'),
      transports: [tcp()],
      connectionEncrypters: [shs()],
      streamMuxers: [yamux()],
      connectionMonitor: { enabled: false },
      services: { ping: ping() }
    })
    const target = multiaddr(address)
    return {
      dial: async () => {
        await node.services.ping.ping(target, { signal: AbortSignal.timeout(HONEST_TIMEOUT_MS) })
        await node.hangUp(target)
      },
      stop: async () => { await node.stop() }
    }
  }
  const client = MultiServer([[Net({}), ourShs({ keys: asSodium(generateKeyPair()), appKey, timeout: HONEST_TIMEOUT_MS })]])
  return { dial: async () => await multiserverDial(client, address), stop: async () => {} }
}

async function multiserverDial (client: { client: (address: string, cb: (err: Error | null, stream: unknown) => void) => void }, address: string): Promise<void> {
  return await new Promise<void>((resolve, reject) => {
    client.client(address, (err, connected) => {
      if (err !== null) { reject(err); return }
      const stream = connected as { sink: (read: unknown) => void, source: (abort: unknown, cb: () => void) => void }
      stream.sink((_abort: unknown, cb: (end: boolean) => void) => { cb(true) })
      stream.source(true, () => {})
      resolve()
    })
  })
}

async function runPhase (path: Path, plan: Attack): Promise<{ served: number, idleRssMiB: number, sample: Sample, connections: number }> {
  const server = child(['path-serve', path])
  const served = await ask<Served>(server)
  const attacker = child(['path-attack', String(served.port), String(plan.sources), String(plan.perSource), isLibp2p(path) ? 'libp2p' : 'shs'])
  await ask(attacker)
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  const honest = await honestClient(path, served.address)
  let succeeded = 0
  const started = performance.now()
  for (let i = 0; i < HONEST && performance.now() - started < PHASE_LIMIT_MS; i++) {
    await honest.dial().then(() => { succeeded++ }, () => {})
  }
  await honest.stop()
  const sample = await ask<Sample>(server, 'report')
  const { connections } = await ask<{ connections: number }>(attacker, 'stop')
  server.disconnect()
  return { served: succeeded, idleRssMiB: served.rssMiB, sample, connections }
}

/** Prints the table; dos.ts calls it after its own. */
export async function pathRows (): Promise<void> {
  console.log(`\nthe other server paths: ${HONEST} sequential honest clients per phase (at most ${PHASE_LIMIT_MS / 1000} s), server and stallers in child processes\n`)
  console.log('| path | attack | honest served | peak pending | server RSS before / peak | attacker connections |')
  console.log('|---|---|---|---|---|---|')
  for (const path of PATHS) {
    for (const plan of ATTACKS) {
      const result = await runPhase(path, plan)
      const pending = path === 'libp2p defaults' ? '-' : String(result.sample.peakPending)
      console.log(`| ${path} | ${plan.label} | ${result.served} / ${HONEST} | ${pending} | ${result.idleRssMiB.toFixed(0)} / ${result.sample.peakRssMiB.toFixed(0)} MiB | ${result.connections} |`)
    }
  }
}
