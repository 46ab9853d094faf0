/**
 * What a held connection costs a server: N idle authenticated connections held by one server
 * process (ours `listen()`, the npm reference over `net`, a plain `node:net` server that only
 * reads), dialled by other processes from many loopback addresses (127.0.0.2 and up). The server's
 * RSS and JS heap after full GCs, before and while holding, divided by N; then, still holding, 200
 * new handshakes, each of which must complete. Each sample is a fresh server process.
 */
import { type Child, startChild } from './child.ts'
import { type BenchConfig, KiB, MS_PER_SECOND, MiB, log } from './config.ts'
import type { Report } from './report.ts'
import { interleave, summarize } from './stats.ts'

const PEER = new URL('./scale-peer.ts', import.meta.url).pathname
const IMPLS = ['ours', 'reference', 'tcp', 'tcp-shaped'] as const
type Impl = typeof IMPLS[number]
/** The goal: a held connection costs ours at most twice what it costs plain `node:net`. */
const RSS_GOAL_OVER_TCP = 2
/** New handshakes the server must complete while it holds the N. */
const PROBES = 200
/** Client processes sharing the N (each holds its share on one fd each). */
const CLIENT_PROCESSES = 2
/** Source addresses per client process, 127.0.0.2 and up: no source holds many, whatever the caps per source. */
const SOURCES_PER_CLIENT = 100
/** Files the server keeps open besides its connections (node, its libraries, IPC). */
const FD_MARGIN = 100
/** Full-size samples per server: each holds N connections, so fewer than the other sections take. */
const MAX_RUNS = 3

interface Sample {
  readonly held: number
  /** RSS growth per connection after full GCs, the young generation V8 grew included. */
  readonly rss: number
  /** The same after a last-resort GC, which gives the spare young generation back: what the connections themselves hold. */
  readonly ownRss: number
  /** The young generation while holding, in MiB. */
  readonly youngMiB: number
  readonly heap: number
  readonly external: number
  readonly handshakesPerSecond: number
  readonly probesCompleted: number
  /** Connections the clients failed to open (none expected). */
  readonly failed: number
}

type Memory = Readonly<Record<'rss' | 'rssAfterLastResort' | 'heapUsed' | 'external' | 'youngGeneration' | 'accepted', number>>

async function measure (server: Child): Promise<Memory> {
  server.send({ measure: 1 })
  return (await server.next()) as unknown as Memory
}

async function sample (impl: Impl, wanted: number): Promise<Sample> {
  const server = startChild(['serve', impl], PEER)
  const clients: Child[] = []
  let port = ''
  let key = ''
  const client = (count: number, index: number): Child => {
    const started = startChild(['hold', impl, port, key, String(count), String(2 + index * SOURCES_PER_CLIENT), String(SOURCES_PER_CLIENT)], PEER)
    clients.push(started)
    return started
  }
  try {
    const ready = await server.next()
    port = String(ready.port)
    key = String(ready.publicKey)
    const fdLimit = Number(ready.fdLimit)
    const count = fdLimit > 0 ? Math.min(wanted, fdLimit - FD_MARGIN) : wanted
    // Warm-up: the server's code compiled and its pools made before the baseline.
    const warm = client(0, 0)
    await warm.next()
    warm.send({ probe: PROBES })
    await warm.next()
    await warm.stop()
    const before = await measure(server)
    const holders = Array.from({ length: CLIENT_PROCESSES }, (_, index) => client(Math.ceil(count / CLIENT_PROCESSES), index))
    const opened = await Promise.all(holders.map(async (holder) => await holder.next()))
    const holding = await measure(server)
    const held = holding.accepted - before.accepted
    const failed = opened.reduce((sum, report) => sum + Number(report.failed), 0)
    if (failed > 0) log(`  ${impl}: ${failed} of ${count} connections failed to open`)
    const prober = holders[0] as Child
    prober.send({ probe: PROBES })
    const probe = await prober.next()
    const after = await measure(server)
    const probesCompleted = Math.min(Number(probe.completed), after.accepted - holding.accepted)
    return {
      held,
      // From the baseline's last-resort GC: the young generation these handshakes grew is counted in full.
      rss: (holding.rss - before.rssAfterLastResort) / held / KiB,
      ownRss: (holding.rssAfterLastResort - before.rssAfterLastResort) / held / KiB,
      youngMiB: holding.youngGeneration / MiB,
      heap: (holding.heapUsed - before.heapUsed) / held / KiB,
      external: (holding.external - before.external) / held / KiB,
      handshakesPerSecond: probesCompleted / (Number(probe.ms) / MS_PER_SECOND),
      probesCompleted,
      failed
    }
  } finally {
    await Promise.all([...clients, server].map(async (child) => { await child.stop() }))
  }
}

export async function measureScale (config: BenchConfig, report: Report): Promise<void> {
  // A smoke run takes one sample per server: each holds its connections for several seconds.
  const runs = config.quick ? 1 : Math.min(config.runs, MAX_RUNS)
  log(`scale: ${config.heldConnections} idle connections held per sample from ${CLIENT_PROCESSES * SOURCES_PER_CLIENT} ` +
    `addresses, ${runs} runs, each sample a fresh server process`)
  const samples: Record<Impl, Sample[]> = { ours: [], reference: [], tcp: [], 'tcp-shaped': [] }
  const series = (impl: Impl, of: (s: Sample) => number): number[] => samples[impl].map(of)
  await interleave(runs, IMPLS, async (impl, run) => {
    const s = await sample(impl, config.heldConnections)
    samples[impl].push(s)
    log(`  run ${run + 1}/${runs}  ${impl.padEnd(10)} ${s.held} held, each: ${s.ownRss.toFixed(2)} KiB RSS (${s.rss.toFixed(2)} with ` +
      `the young generation at ${s.youngMiB.toFixed(0)} MiB), ${s.heap.toFixed(2)} KiB heap, ${s.external.toFixed(2)} KiB external; ` +
      `${s.probesCompleted}/${PROBES} new handshakes at ${s.handshakesPerSecond.toFixed(0)} per s`)
    return s.ownRss
  })
  const held = Math.min(...IMPLS.flatMap((impl) => series(impl, (s) => s.held)))
  const youngs = (impl: Impl): string => series(impl, (s) => s.youngMiB).map((n) => n.toFixed(0)).join(', ')
  const probes = (impl: Impl): string => series(impl, (s) => s.probesCompleted).map((n) => `${n}/${PROBES}`).join(', ')
  const bound = (of: (s: Sample) => number): { name: string, samples: number[] } =>
    ({ name: `${RSS_GOAL_OVER_TCP} × node:net`, samples: series('tcp', (s) => RSS_GOAL_OVER_TCP * of(s)) })
  report.add({ label: `floor: plain node:net server, RSS per held connection (${held}+ held)`, unit: 'KiB', ours: series('tcp', (s) => s.ownRss) })
  report.add({
    label: 'floor: the same after echoing the handshake\'s message sizes (64 + 112 bytes, no crypto)', unit: 'KiB',
    ours: series('tcp-shaped', (s) => s.ownRss), remark: `JS heap ${summarize(series('tcp-shaped', (s) => s.heap)).median.toFixed(2)} KiB`
  })
  report.add({
    label: 'RSS per held connection, server process, after a last-resort GC', unit: 'KiB', ours: series('ours', (s) => s.ownRss),
    peer: { name: 'reference', samples: series('reference', (s) => s.ownRss) },
    bound: bound((s) => s.ownRss),
    goals: [{ of: 'bound', compare: '<=', target: 1 }]
  })
  report.add({
    label: 'RSS per held connection, server process, after full GCs (the young generation grown)', unit: 'KiB', ours: series('ours', (s) => s.rss),
    peer: { name: 'reference', samples: series('reference', (s) => s.rss) },
    bound: bound((s) => s.rss),
    remark: `young generation: ours ${youngs('ours')}, reference ${youngs('reference')}, node:net ${youngs('tcp')} MiB`
  })
  report.add({
    label: 'JS heap per held connection, server process', unit: 'KiB', ours: series('ours', (s) => s.heap),
    peer: { name: 'reference', samples: series('reference', (s) => s.heap) },
    bound: { name: 'node:net', samples: series('tcp', (s) => s.heap) },
    remark: 'informational'
  })
  report.add({
    label: `new handshakes while holding them, ${PROBES} one after another`, unit: 'per s', ours: series('ours', (s) => s.handshakesPerSecond),
    peer: { name: 'reference', samples: series('reference', (s) => s.handshakesPerSecond) },
    remark: `completed: ours ${probes('ours')}; reference ${probes('reference')}`
  })
  if (runs < config.runs) report.notes.push(`the scale rows are medians of ${runs} runs (each sample holds ${held}+ connections)`)
  const failures = IMPLS.filter((impl) => samples[impl].some((s) => s.failed > 0))
  if (failures.length > 0) report.notes.push(`scale: some connections failed to open (${failures.join(', ')}): its rows count only those held`)
  report.extra.scale = samples
}
