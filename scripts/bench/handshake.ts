/**
 * Handshakes: a client–server pair over in-memory duplexes (no network), and a server under load
 * from 16 concurrent clients in a child process, each looping connect + handshake + close. The
 * server's handshakes per second are counted in a window after a warm-up, with the CPU time this
 * process spent per handshake; both are set against the reference under the same load and against
 * the crypto floor (floors.ts), interleaved run by run.
 *
 * Same load: both servers are driven by the same load generator, this library's client (SHS1 is
 * one protocol: either client talks to either server). With the reference's own clients in front
 * of the reference server, the rate compared the two client implementations as much as the servers.
 *
 * What bounds the rate: on 2 cores the load generator has one core and the server the other, and
 * a client handshake costs about what a server handshake does (the same crypto floor), so the
 * clients run near 100% of their core and the rate is about min(client capacity, server capacity)
 * for both servers: the rate ratio stays near 1 whatever the server saves. The server's own cost
 * is the CPU time per handshake (robust to who sets the rate); 1e6 / that is what one core of
 * server could do. The note under the table says when the clients used more than 90% of a core.
 *
 * What bounds the CPU time: besides the crypto floor, a plain node:net server exchanging the same
 * messages (hello, message 3 / 4, goodbye, both FINs) at the rate ours reached, with no crypto and
 * next to no JavaScript: accept, reads, writes and close in Node and the kernel. Crypto floor plus
 * that is the least any server on node:net can spend; what ours spends beyond it is its own work.
 */
import { pushable } from 'it-pushable'
import { SSB_NETWORK_KEY as networkKey, type ByteDuplex, clientHandshake, generateKeyPair, serverHandshake } from '../../src/index.ts'
import { startChild } from './child.ts'
import { type BenchConfig, MS_PER_SECOND, US_PER_MS, log, sleep } from './config.ts'
import { measureServerHandshakeFloor } from './floors.ts'
import type { Report } from './report.ts'
import { interleave } from './stats.ts'
import { TIMEOUT_MS, acceptAll, appKey, pull, refKeys, shs } from './transports/reference.ts'
import { rekeyFloorMicroseconds, rekeyMicroseconds } from './rekey.ts'
import { type ImplName, hex } from './transports/types.ts'
import { loadTransport } from './transports/load.ts'

/** The client process runs this much longer than the window, so the window never sees it wind down. */
const LOAD_MARGIN_MS = 300
const BUSY_CLIENTS = 0.9
const PERCENT = 100

/** Two connected in-memory it-pipe duplexes. */
function memoryPair (): [ByteDuplex, ByteDuplex] {
  const toServer = pushable<Uint8Array>()
  const toClient = pushable<Uint8Array>()
  const end = (inbox: AsyncIterable<Uint8Array>, outbox: typeof toServer): ByteDuplex => ({
    source: inbox,
    async sink (source) {
      try {
        for await (const chunk of source) outbox.push(chunk)
      } finally {
        outbox.end()
      }
    },
    abort () { outbox.end() }
  })
  return [end(toClient, toServer), end(toServer, toClient)]
}

const client = generateKeyPair()
const server = generateKeyPair()

async function oursPair (): Promise<void> {
  const [clientEnd, serverEnd] = memoryPair()
  const streams = await Promise.all([
    clientHandshake(clientEnd, { keys: client, networkKey, remotePublicKey: server.publicKey }),
    serverHandshake(serverEnd, { keys: server, networkKey })
  ])
  for (const stream of streams) stream.abort()
}

const refClient = refKeys()
const refServer = refKeys()

async function referencePair (): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let done = 0
    const finished = (err: unknown): void => {
      if (err != null) reject(err instanceof Error ? err : new Error(String(err)))
      else if (++done === 2) resolve()
    }
    const clientEnd = shs.createClient(refClient, appKey, TIMEOUT_MS)(refServer.publicKey, finished)
    const serverEnd = shs.createServer(refServer, acceptAll, appKey, TIMEOUT_MS)(finished)
    pull(clientEnd.source, serverEnd.sink)
    pull(serverEnd.source, clientEnd.sink)
  })
}

/** Mean ms per pair over `count` pairs. */
async function timePairs (pair: () => Promise<void>, count: number): Promise<number> {
  const started = performance.now()
  for (let index = 0; index < count; index++) await pair()
  return (performance.now() - started) / count
}

interface LoadRun { rate: number, cpuUs: number, clientsBusy: number, failed: number }

/** Who loads every server: one client implementation for both, so both see the same load. */
const LOAD_GENERATOR: ImplName = 'ours'

/**
 * One run: a fresh server here, a fresh client process, so runs do not inherit each other's state.
 * Plain TCP is loaded by its own client (the handshake's message pattern without crypto), paced
 * at `rate`: a server's cost per connection falls as its rate rises (more events per wake-up).
 */
async function underLoad (impl: ImplName, config: BenchConfig, rate?: number): Promise<LoadRun> {
  const listener = await (await loadTransport(impl)).serve({ kind: 'echo' })
  const { port, publicKey } = listener.target
  const runMs = config.loadWarmupMs + config.loadWindowMs + LOAD_MARGIN_MS
  const client = impl === 'tcp' ? 'tcp' : LOAD_GENERATOR
  const pace = rate === undefined ? [] : [String(Math.round(rate))]
  const clients = startChild(['load', client, String(port), hex(publicKey), String(config.loadClients), String(runMs), ...pace])
  try {
    await clients.next()
    await sleep(config.loadWarmupMs)
    const count = listener.accepted()
    const cpu = process.cpuUsage()
    const started = performance.now()
    await sleep(config.loadWindowMs)
    const handshakes = listener.accepted() - count
    const used = process.cpuUsage(cpu)
    const elapsed = performance.now() - started
    const { busy, failed } = await clients.next()
    return {
      rate: handshakes / (elapsed / MS_PER_SECOND),
      cpuUs: (used.user + used.system) / handshakes,
      clientsBusy: Number(busy),
      failed: Number(failed)
    }
  } finally {
    await clients.stop()
    await listener.close()
  }
}

export async function measureHandshakes (config: BenchConfig, report: Report): Promise<void> {
  log(`handshakes: ${config.pairs} in-memory pairs per sample; a server under ${config.loadClients} clients (${LOAD_GENERATOR}'s client for both servers), ${config.loadWindowMs} ms windows`)
  const load: Record<string, LoadRun[]> = { ours: [], reference: [], tcp: [] }
  const s = await interleave(config.runs, ['floor', 'ours pair', 'reference pair', 'rekey', 'rekey floor', 'ours load', 'reference load', 'tcp load'], async (name, run) => {
    let value: number
    let detail = ''
    if (name === 'floor') value = measureServerHandshakeFloor()
    else if (name === 'rekey') value = rekeyMicroseconds(config.pairs)
    else if (name === 'rekey floor') value = rekeyFloorMicroseconds(config.pairs)
    else if (name.endsWith('pair')) value = await timePairs(name === 'ours pair' ? oursPair : referencePair, config.pairs)
    else {
      const impl: ImplName = name === 'ours load' ? 'ours' : name === 'tcp load' ? 'tcp' : 'reference'
      // Plain TCP at the rate ours just reached, so its cost per connection is comparable.
      const result = await underLoad(impl, config, impl === 'tcp' ? load.ours?.at(-1)?.rate : undefined)
      load[impl]?.push(result)
      value = result.rate
      detail = `, server ${result.cpuUs.toFixed(0)} µs CPU per handshake, clients at ${(result.clientsBusy * PERCENT).toFixed(0)}% of a core`
      if (result.clientsBusy > BUSY_CLIENTS) report.notes.push(`${impl} under load, run ${run + 1}: the client process used ${(result.clientsBusy * PERCENT).toFixed(0)}% of a core, so the clients may have set the rate`)
      if (result.failed > 0) report.notes.push(`${impl} under load, run ${run + 1}: ${result.failed} client connections failed`)
    }
    const unit = name === 'floor' ? 'µs per server handshake' : name.startsWith('rekey') ? 'µs per rekey' : name.endsWith('pair') ? 'ms per pair' : 'handshakes/s'
    log(`  run ${run + 1}/${config.runs}  ${name.padEnd(15)} ${value.toPrecision(4)} ${unit}${detail}`)
    return value
  })
  report.extra.load = load
  const floorUs = s.floor
  report.add({
    label: 'handshake pair in memory (client + server)', unit: 'ms', ours: s['ours pair'],
    peer: { name: 'reference', samples: s['reference pair'] },
    bound: { name: 'crypto floor of a pair', samples: floorUs.map((us) => 2 * us / US_PER_MS) },
    remark: 'no goal set'
  })
  report.add({
    label: 'one rekey of the extension in memory (both ends)', unit: 'µs', ours: s.rekey,
    bound: { name: 'its crypto: 2 key pairs, 2 X25519, 8 SHA-256', samples: s['rekey floor'] },
    remark: 'informational: the CPU a peer at the rekey rate cap (100 a second) costs'
  })
  report.add({
    label: `server handshakes under ${config.loadClients} clients (the same client for both)`, unit: 'per s', ours: s['ours load'],
    peer: { name: 'reference', samples: s['reference load'] },
    goals: [{ of: 'peer', compare: '>=', target: 1.5 }]
  })
  report.add({
    label: 'server CPU per handshake under that load', unit: 'µs', ours: (load.ours ?? []).map((run) => run.cpuUs),
    peer: { name: 'reference', samples: (load.reference ?? []).map((run) => run.cpuUs) },
    bound: { name: 'crypto floor per server handshake', samples: floorUs },
    goals: [{ of: 'bound', compare: '<=', target: 1.5 }]
  })
  const tcpUs = (load.tcp ?? []).map((run) => run.cpuUs)
  report.add({ label: 'floor: plain TCP server per connection, the handshake\'s messages without crypto, at our rate', unit: 'µs', ours: tcpUs })
  report.add({
    label: 'server CPU per handshake, against what crypto and node:net alone cost', unit: 'µs', ours: (load.ours ?? []).map((run) => run.cpuUs),
    bound: { name: 'crypto floor + plain TCP', samples: floorUs.map((us, run) => us + (tcpUs[run] ?? Number.NaN)) },
    remark: 'the rest is the library\'s own work'
  })
}
