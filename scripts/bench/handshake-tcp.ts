/**
 * Handshakes over real TCP:
 * - sequential: one client here runs connect + handshake + close (both goodbyes) again and again
 *   against an echo server in a child process; ours, the reference, and plain TCP connect + close.
 *   Its floor is plain TCP's connect + close plus the handshake floor: in a strict ping-pong nearly
 *   every libsodium call of both sides sits on the critical path.
 * - under load: our process is the server, 16 clients in a child process keep connecting,
 *   handshaking and closing; the server's completed handshakes per second are counted in a
 *   window after a warm-up, and compared with its floor rate (handshake-floor.ts). Both
 *   processes' CPU use is recorded: on two cores the clients can be the limit.
 */
import { type Peer, startPeer } from './child.ts'
import type { BenchConfig } from './config.ts'
import { HANDSHAKE_SECTION } from './handshake.ts'
import { type ImplName, type Target, type Transport, loadTransport } from './impl/types.ts'
import type { Results, Unit } from './model.ts'
import type { Progress } from './progress.ts'
import { logRetake, quietSample } from './quiet.ts'
import { interleave, summarize } from './stats.ts'

const SEQUENTIAL_IMPLS: readonly ImplName[] = ['ours', 'reference', 'tcp']
const LOAD_IMPLS: readonly ImplName[] = ['ours', 'reference']
const MS_PER_SECOND = 1000
const US_PER_MS = 1000
const PERCENT = 100

function targetOf (peer: Peer): Target {
  const { port, publicKey } = peer.ready
  if (port === undefined) throw new Error('a bench server peer did not report its port')
  return { port, publicKey: new Uint8Array(Buffer.from(publicKey ?? '', 'hex')) }
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

function addRow (results: Results, id: string, label: string, unit: Unit, values: number[], better: 'higher' | 'lower'): void {
  results.add({ id, section: HANDSHAKE_SECTION, label, unit, samples: values, summary: summarize(values), better })
}

export async function measureTcpHandshakes (config: BenchConfig, results: Results, progress: Progress): Promise<void> {
  const transports = new Map<ImplName, Transport>()
  for (const impl of SEQUENTIAL_IMPLS) transports.set(impl, await loadTransport(impl))
  await measureSequential(transports, config, results, progress)
  await measureLoad(transports, config, results, progress)
}

async function measureSequential (transports: Map<ImplName, Transport>, config: BenchConfig, results: Results, progress: Progress): Promise<void> {
  progress.section(`sequential connect + handshake + close: ${config.sequentialHandshakes} per sample, server in a child process`)
  const servers = new Map<ImplName, Peer>()
  try {
    for (const impl of SEQUENTIAL_IMPLS) servers.set(impl, await startPeer('server', [impl, 'echo']))
    const sequential = await interleave(config.runs, SEQUENTIAL_IMPLS, async (impl, run) => {
      const transport = transports.get(impl) as Transport
      const target = targetOf(servers.get(impl) as Peer)
      const ms = await quietSample(async () => {
        const started = performance.now()
        for (let connection = 0; connection < config.sequentialHandshakes; connection++) await transport.connectAndClose(target)
        return (performance.now() - started) / config.sequentialHandshakes
      }, logRetake(progress, `sequential ${impl} run ${run + 1}`))
      progress.log(`  run ${run + 1}/${config.runs}  sequential ${impl.padEnd(9)} ${ms.toFixed(3)} ms`)
      return ms
    })
    addRow(results, 'handshake.sequential.ours', 'TCP connect + handshake + close, sequential, ours', 'ms', sequential.ours, 'lower')
    addRow(results, 'handshake.sequential.reference', 'TCP connect + handshake + close, sequential, reference', 'ms', sequential.reference, 'lower')
    addRow(results, 'handshake.sequential.tcp', 'TCP connect + close, no handshake (plain TCP)', 'ms', sequential.tcp, 'lower')
    const pairFloor = results.metrics.get('handshake.floor.pair')?.samples ?? []
    const floor = sequential.tcp.map((ms, run) => ms + (pairFloor[run] ?? Number.NaN))
    addRow(results, 'handshake.sequential.floor', 'floor: plain TCP connect + close + handshake floor', 'ms', floor, 'lower')
  } finally {
    for (const peer of servers.values()) await peer.exit()
  }
}

async function measureLoad (transports: Map<ImplName, Transport>, config: BenchConfig, results: Results, progress: Progress): Promise<void> {
  progress.section(`server under load: ${config.loadClients} concurrent clients in a child process, ${config.loadWindowMs} ms window`)
  const cpuShares: Record<string, Array<{ server: number, clients: number }>> = {}
  const cpuPerHandshake: Record<ImplName, number[]> = { ours: [], reference: [], tcp: [] }
  const rates = await interleave(config.runs, LOAD_IMPLS, async (impl, run) => {
    const load = await quietSample(async () => await serverRate(transports.get(impl) as Transport, config), logRetake(progress, `load ${impl} run ${run + 1}`))
    cpuShares[impl] = [...cpuShares[impl] ?? [], { server: load.serverBusy, clients: load.clientBusy }]
    cpuPerHandshake[impl].push(load.serverCpuUs)
    progress.log(`  run ${run + 1}/${config.runs}  server under load, ${impl.padEnd(9)} ${load.rate.toFixed(0)} handshakes/s, ` +
      `server CPU ${(load.serverBusy * PERCENT).toFixed(0)}% (${load.serverCpuUs.toFixed(0)} µs per handshake), ` +
      `clients CPU ${(load.clientBusy * PERCENT).toFixed(0)}%` + (load.failed > 0 ? `, ${load.failed} client connections failed` : ''))
    return load.rate
  })
  results.raw.loadCpuShare = cpuShares
  // The floor rate was measured with the in-memory handshakes; print it next to the load rows.
  const floorRate = results.metrics.get('handshake.floor.serverRate')
  if (floorRate !== undefined) {
    results.metrics.delete(floorRate.id)
    results.metrics.set(floorRate.id, floorRate)
  }
  for (const impl of LOAD_IMPLS) {
    addRow(results, `handshake.load.${impl}`, `server under load from ${config.loadClients} clients in another process, ${impl}`, 'per s', rates[impl], 'higher')
  }
  for (const impl of LOAD_IMPLS) {
    addRow(results, `handshake.loadCpu.${impl}`, `server CPU time per handshake under that load, ${impl}`, 'µs', cpuPerHandshake[impl], 'lower')
  }
}

interface LoadRun {
  readonly rate: number
  /** Share of one core each process used during the run. */
  readonly serverBusy: number
  readonly clientBusy: number
  readonly serverCpuUs: number
  readonly failed: number
}

/** One load run: a fresh server here and a fresh client process, so runs do not inherit each other's state. */
async function serverRate (transport: Transport, config: BenchConfig): Promise<LoadRun> {
  const server = await transport.serve({ kind: 'echo' })
  let clients: Peer | undefined
  try {
    clients = await startPeer('clients', [transport.name, String(server.target.port), Buffer.from(server.target.publicKey).toString('hex')])
    await clients.request('start-load', config.loadClients)
    await sleep(config.loadWarmupMs)
    const startCount = server.accepted()
    const startCpu = process.cpuUsage()
    const started = performance.now()
    await sleep(config.loadWindowMs)
    const count = server.accepted() - startCount
    const cpu = process.cpuUsage(startCpu)
    const elapsed = performance.now() - started
    const { failed = 0, busy = Number.NaN } = await clients.request('stop-load')
    const cpuUs = cpu.user + cpu.system
    return {
      rate: count / (elapsed / MS_PER_SECOND),
      serverBusy: cpuUs / US_PER_MS / elapsed,
      clientBusy: busy,
      serverCpuUs: cpuUs / count,
      failed
    }
  } finally {
    await clients?.exit()
    await server.close()
  }
}
