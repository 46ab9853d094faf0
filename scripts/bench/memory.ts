/**
 * Memory per idle established connection, and many connections held at once. Both ends run in
 * fresh child processes (a process that already moved gigabytes would reuse freed pages and hide
 * the growth): the server holds the accepted side, a client process the other. Each side warms
 * up (so compiled code is not counted), settles with full GCs, takes a baseline, opens the
 * connections, settles again and reports its growth. "Per connection end" is the average of the
 * two sides' growth per connection.
 */
import { execFileSync } from 'node:child_process'
import { type Peer, type PeerOptions, startPeer } from './child.ts'
import { type BenchConfig, KiB, MiB } from './config.ts'
import { IMPLS, type ImplName } from './impl/types.ts'
import type { Results } from './model.ts'
import type { Reply } from './peers/protocol.ts'
import type { Progress } from './progress.ts'
import { interleave, summarize } from './stats.ts'

export const MEMORY_SECTION = 'Memory per idle established connection'
/** Connections opened and closed before the baseline, so both sides have compiled their hot code. */
const WARMUP_CONNECTIONS = 64
/** File descriptors a process needs besides its sockets (stdio, IPC, libuv, the listener). */
const FD_MARGIN = 64
const POLL_MS = 20
const MS_PER_SECOND = 1000
/** The server finishes its side of each handshake a little after the client; wait at most this long. */
const SETTLE_TIMEOUT_MS = 30_000

interface SideGrowth { rss: number, heapUsed: number, buffers: number }
interface Checkpoint { connections: number, server: SideGrowth, client: SideGrowth, openMs: number }

export async function measureMemory (config: BenchConfig, results: Results, progress: Progress): Promise<void> {
  const fd = fileLimits(config.heldConnections + FD_MARGIN, results)
  progress.section(`memory: ${config.idleConnections} idle connections per sample, both ends in fresh child processes`)
  const perConnection: Record<ImplName, Array<{ heap: number, rss: number, buffers: number }>> = { ours: [], reference: [], tcp: [] }
  await interleave(config.runs, IMPLS, async (impl, run) => {
    const [point] = await holdConnections(impl, [config.idleConnections], fd)
    const growth = perEnd(point as Checkpoint)
    perConnection[impl].push(growth)
    progress.log(`  run ${run + 1}/${config.runs}  ${impl.padEnd(9)} heap ${growth.heap.toFixed(2)} KiB, RSS ${growth.rss.toFixed(2)} KiB, ` +
      `buffers ${growth.buffers.toFixed(2)} KiB per connection end` + sides(point as Checkpoint))
    return growth.heap
  })
  for (const impl of IMPLS) {
    const add = (measure: 'heap' | 'rss' | 'buffers', label: string): void => {
      const values = perConnection[impl].map((growth) => growth[measure])
      results.add({ id: `memory.${measure}.${impl}`, section: MEMORY_SECTION, label: `${label}, ${impl}`, unit: 'KiB', samples: values, summary: summarize(values), better: 'lower' })
    }
    add('heap', 'JS heap per connection end')
    add('rss', 'RSS per connection end')
    add('buffers', 'ArrayBuffers (off-heap) per connection end')
  }

  progress.section(`connections held at once: up to ${config.heldConnections}, memory at ${config.checkpoints.join(', ')}`)
  const held = new Map<ImplName, Checkpoint | undefined>()
  for (const impl of IMPLS) {
    const points = await holdConnections(impl, config.checkpoints, fd).catch((err: unknown) => {
      results.notes.push(`holding ${config.heldConnections} ${impl} connections failed: ${err instanceof Error ? err.message : String(err)}`)
      return [] as Checkpoint[]
    })
    for (const point of points) {
      const index = results.connections.findIndex((entry) => entry.connections === point.connections)
      const entry = index >= 0 ? results.connections[index] : undefined
      const rssKiB = { ...entry?.rssKiB, [impl]: point.server.rss / KiB }
      const heapKiB = { ...entry?.heapKiB, [impl]: point.server.heapUsed / KiB }
      if (index >= 0) results.connections[index] = { connections: point.connections, rssKiB, heapKiB }
      else results.connections.push({ connections: point.connections, rssKiB, heapKiB })
      progress.log(`  ${impl.padEnd(9)} ${String(point.connections).padStart(6)} held (last step took ${(point.openMs / MS_PER_SECOND).toFixed(1)} s): ` +
        `server RSS +${(point.server.rss / MiB).toFixed(1)} MiB, heap +${(point.server.heapUsed / MiB).toFixed(1)} MiB, ` +
        `client RSS +${(point.client.rss / MiB).toFixed(1)} MiB`)
    }
    held.set(impl, points.at(-1))
  }
  // Rows after the loop, so the table groups them: counts first, then the memory at that scale.
  for (const impl of IMPLS) {
    const count = held.get(impl)?.connections ?? 0
    results.add({
      id: `memory.held.${impl}`, section: MEMORY_SECTION, label: `connections held at once by one process, ${impl}`,
      unit: 'connections', samples: [count], summary: summarize([count]), better: 'higher'
    })
  }
  for (const impl of IMPLS) {
    const point = held.get(impl)
    const rss = point === undefined ? Number.NaN : point.server.rss / point.connections / KiB
    results.add({
      id: `memory.heldRss.${impl}`, section: MEMORY_SECTION, label: `server RSS per connection while holding them all, ${impl}`,
      unit: 'KiB', samples: [rss], summary: summarize([rss]), better: 'lower'
    })
  }
}

/** Average growth of the two sides per connection, in KiB. */
function perEnd (point: Checkpoint): { heap: number, rss: number, buffers: number } {
  const per = (measure: keyof SideGrowth): number => (point.server[measure] + point.client[measure]) / 2 / point.connections / KiB
  return { heap: per('heapUsed'), rss: per('rss'), buffers: per('buffers') }
}

function sides (point: Checkpoint): string {
  const kib = (bytes: number): string => (bytes / point.connections / KiB).toFixed(1)
  return ` (server ${kib(point.server.heapUsed)}/${kib(point.server.rss)}, client ${kib(point.client.heapUsed)}/${kib(point.client.rss)} heap/RSS)`
}

function growth (after: Reply, before: Reply): SideGrowth {
  const value = (reply: Reply, key: string): number => reply[key] ?? Number.NaN
  return {
    rss: value(after, 'rss') - value(before, 'rss'),
    heapUsed: value(after, 'heapUsed') - value(before, 'heapUsed'),
    buffers: value(after, 'arrayBuffers') - value(before, 'arrayBuffers')
  }
}

/** Opens connections up to each checkpoint in turn, measuring both sides at each. */
async function holdConnections (impl: ImplName, checkpoints: readonly number[], fd: PeerOptions): Promise<Checkpoint[]> {
  let server: Peer | undefined
  let clients: Peer | undefined
  try {
    server = await startPeer('server', [impl, 'idle'], fd)
    const { port, publicKey } = server.ready
    clients = await startPeer('clients', [impl, String(port), publicKey ?? ''], fd)
    await clients.request('hold', WARMUP_CONNECTIONS)
    await clients.request('release')
    await waitForServer(server, (reply) => reply.accepted === WARMUP_CONNECTIONS)
    const baseServer = await server.request('measure')
    const baseClient = await clients.request('measure')
    const points: Checkpoint[] = []
    for (const connections of checkpoints) {
      const { ms } = await clients.request('hold', connections)
      await waitForServer(server, (reply) => (reply.accepted ?? 0) >= WARMUP_CONNECTIONS + connections)
      const serverNow = await server.request('measure')
      const clientNow = await clients.request('measure')
      points.push({ connections, server: growth(serverNow, baseServer), client: growth(clientNow, baseClient), openMs: ms ?? Number.NaN })
    }
    return points
  } finally {
    await clients?.exit()
    await server?.exit()
  }
}

async function waitForServer (server: Peer, done: (reply: Reply) => boolean): Promise<void> {
  const deadline = performance.now() + SETTLE_TIMEOUT_MS
  while (!done(await server.request('accepted'))) {
    if (performance.now() > deadline) throw new Error('the server did not complete the expected handshakes in time')
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

/** The open-file limits; peers are started through `ulimit -n` when the soft limit is too low. */
function fileLimits (needed: number, results: Results): PeerOptions {
  const read = (flag: string): number => {
    const text = execFileSync('/bin/sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).trim()
    return text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text)
  }
  const soft = read('-n')
  const hard = read('-Hn')
  if (hard < needed) {
    results.notes.push(`ulimit -n is ${soft} (hard ${hard}): too low to hold ${needed - FD_MARGIN} connections in one process; ` +
      'raise it (e.g. `ulimit -n 65536`, or nofile in /etc/security/limits.conf) and rerun')
  }
  return { fdLimit: Math.min(needed, hard), softFdLimit: soft }
}
