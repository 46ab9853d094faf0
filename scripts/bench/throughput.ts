/**
 * Bulk throughput over loopback TCP, ours against the reference, with both ends in one process and
 * with the receiver in a child process, interleaved with the floors that bound them (libsodium
 * seal and open, raw TCP); and small writes: 100-byte writes against 64 KiB writes, and the
 * round trip of 1-byte writes from an interactive session.
 */
import { type Child, startChild } from './child.ts'
import { type BenchConfig, KiB, MiB, US_PER_MS, log, mibPerSecond } from './config.ts'
import { headerMicrosecondsPerPacket, measureHeaderBoxes, measureOpen, measureSeal } from './floors.ts'
import type { Report } from './report.ts'
import { interleave, perRun, serial, summarize } from './stats.ts'
import { type BenchServer, type ImplName, type ServerMode, type Target, fromHex, writes } from './transports/types.ts'
import { loadTransport } from './transports/load.ts'

/** A typical application write, not tied to the box stream's 4 KiB packets. */
const BULK_WRITE_BYTES = 64 * KiB
const SMALL_WRITE_BYTES = 100
const PERCENT = 100

interface Servers {
  readonly targets: Map<string, Target>
  close (): Promise<void>
}

/** Starts one server per entry, here or in a child process. */
async function startServers (entries: ReadonlyArray<[name: string, impl: ImplName, mode: ServerMode, inChild: boolean]>): Promise<Servers> {
  const targets = new Map<string, Target>()
  const local: BenchServer[] = []
  const children: Child[] = []
  const close = async (): Promise<void> => {
    for (const server of local) await server.close()
    for (const child of children) await child.stop()
  }
  try {
    for (const [name, impl, mode, inChild] of entries) {
      if (!inChild) {
        const server = await (await loadTransport(impl)).serve(mode)
        local.push(server)
        targets.set(name, server.target)
        continue
      }
      const child = startChild(['serve', impl, mode.kind, String(mode.kind === 'sink' ? mode.bytes : 0)])
      children.push(child)
      const ready = await child.next()
      targets.set(name, { port: Number(ready.port), publicKey: fromHex(String(ready.publicKey)) })
    }
  } catch (err) {
    await close()
    throw err
  }
  return { targets, close }
}

type Task = (target: Target | undefined) => Promise<number>

async function transfers (config: BenchConfig, servers: Servers, tasks: Record<string, Task>): Promise<Record<string, number[]>> {
  return await interleave(config.runs, Object.keys(tasks), async (name, run) => {
    const value = await (tasks[name] as Task)(servers.targets.get(name))
    log(`  run ${run + 1}/${config.runs}  ${name.padEnd(16)} ${value.toPrecision(4)} ${name.endsWith('round trip') ? 'µs' : 'MiB/s'}`)
    return value
  })
}

const transfer = (impl: ImplName, bytes: number, writeBytes: number): Task => async (target) => {
  if (target === undefined) throw new Error(`no ${impl} server`)
  return mibPerSecond(bytes, await (await loadTransport(impl)).transfer(target, bytes, writeBytes))
}

export async function measureThroughput (config: BenchConfig, report: Report): Promise<void> {
  const { bytes } = config
  log(`throughput: ${bytes / MiB} MiB per transfer in 64 KiB writes, ${config.runs} runs, floors interleaved`)
  const sink: ServerMode = { kind: 'sink', bytes }
  const servers = await startServers([
    ['tcp one', 'tcp', sink, false], ['ours one', 'ours', sink, false], ['rekey one', 'rekey', sink, false], ['reference one', 'reference', sink, false],
    ['tcp two', 'tcp', sink, true], ['ours two', 'ours', sink, true], ['rekey two', 'rekey', sink, true], ['reference two', 'reference', sink, true]
  ])
  try {
    const s = await transfers(config, servers, {
      seal: async () => measureSeal(bytes),
      open: async () => measureOpen(bytes),
      headers: async () => measureHeaderBoxes(bytes),
      'header opens': async () => measureHeaderBoxes(bytes, 'open'),
      ...Object.fromEntries((['tcp', 'ours', 'rekey', 'reference'] as const).flatMap((impl) => ['one', 'two'].map((where) =>
        [`${impl} ${where}`, transfer(impl, bytes, BULK_WRITE_BYTES)])))
    })
    const series = (name: string): number[] => s[name] ?? []
    const unit = 'MiB/s'
    report.add({ label: 'floor: libsodium seal, 4 KiB chunks', unit, ours: series('seal') })
    report.add({ label: 'floor: libsodium open, 4 KiB chunks', unit, ours: series('open') })
    report.add({ label: 'floor: raw TCP, one process', unit, ours: series('tcp one') })
    report.add({ label: 'floor: raw TCP, two processes', unit, ours: series('tcp two') })
    report.add({ label: 'floor: one thread = 1 / (1/seal + 1/open)', unit, ours: perRun(serial, series('seal'), series('open')) })
    report.add({
      label: 'box stream over TCP, one process', unit, ours: series('ours one'),
      peer: { name: 'reference', samples: series('reference one') },
      bound: { name: '1 / (1/seal + 1/open + 1/TCP)', samples: perRun(serial, series('seal'), series('open'), series('tcp one')) },
      goals: [{ of: 'bound', compare: '>=', target: 0.9 }]
    })
    // The protocol seals and opens a 34-byte header box per packet besides its body; the floors
    // and the bound above leave them out. Shown apart, with what the bound would be with them.
    const oneThread = perRun(serial, series('seal'), series('open'))
    const headerShare = summarize(oneThread).median / summarize(series('headers')).median
    report.add({
      label: 'header boxes: one seal + one open per 4 KiB packet', unit: 'µs', ours: series('headers').map(headerMicrosecondsPerPacket),
      remark: `informational: ${(PERCENT * headerShare).toFixed(0)} % on top of the one-thread floor; not in any bound`
    })
    report.add({
      label: 'box stream over TCP, one process, header boxes counted', unit, ours: series('ours one'),
      bound: { name: '1 / (1/seal + 1/open + 1/headers + 1/TCP)', samples: perRun(serial, series('seal'), series('open'), series('headers'), series('tcp one')) },
      remark: 'informational: the bound the protocol allows'
    })
    report.add({
      label: 'box stream over TCP, two processes', unit, ours: series('ours two'),
      peer: { name: 'reference', samples: series('reference two') },
      bound: { name: '1 / (1/open + 1/TCP two processes)', samples: perRun(serial, series('open'), series('tcp two')) },
      goals: [{ of: 'bound', compare: '>=', target: 0.8 }]
    })
    // The rekey extension between rekeys costs what SHS1 costs: its rows against ours without it.
    for (const where of ['one process', 'two processes'] as const) {
      const key = where === 'one process' ? 'one' : 'two'
      report.add({
        label: `box stream with the rekey extension (a rekey every 64 MiB), ${where}`, unit, ours: series(`rekey ${key}`),
        peer: { name: 'plain SHS1 (ours)', samples: series(`ours ${key}`) },
        goals: [{ of: 'peer', compare: '>=', target: 0.98 }]
      })
    }
    // The receiving process also opens each packet's header box, which the bound above leaves out.
    report.add({
      label: 'box stream over TCP, two processes, header opens counted', unit, ours: series('ours two'),
      bound: { name: '1 / (1/open + 1/header opens + 1/TCP two processes)', samples: perRun(serial, series('open'), series('header opens'), series('tcp two')) },
      remark: 'informational: the bound the protocol allows the receiver'
    })
  } finally {
    await servers.close()
  }
}

/** The async generator a transfer's writes come from, drained by a bare loop: its own rate. */
async function sourceAlone (bytes: number, writeBytes: number): Promise<number> {
  const started = performance.now()
  for await (const chunk of (async function * () { yield * writes(bytes, writeBytes) })()) void chunk
  return mibPerSecond(bytes, performance.now() - started)
}

export async function measureSmallWrites (config: BenchConfig, report: Report): Promise<void> {
  const bytes = config.smallWriteBytes
  log(`small writes: ${bytes / MiB} MiB in 100-byte and 64 KiB writes, and ${config.roundTrips} 1-byte round trips, one process`)
  const sink: ServerMode = { kind: 'sink', bytes }
  const servers = await startServers([
    ['ours 100 B', 'ours', sink, false], ['ours 64 KiB', 'ours', sink, false], ['tcp 100 B', 'tcp', sink, false],
    ['ours round trip', 'ours', { kind: 'echo' }, false], ['tcp round trip', 'tcp', { kind: 'echo' }, false]
  ])
  const roundTrip = (impl: ImplName): Task => async (target) => {
    const run = (await loadTransport(impl)).roundTrip
    if (target === undefined || run === undefined) throw new Error(`no ${impl} round trip`)
    return await run(target, config.roundTrips) * US_PER_MS
  }
  try {
    const s = await transfers(config, servers, {
      'ours 100 B': transfer('ours', bytes, SMALL_WRITE_BYTES),
      'ours 64 KiB': transfer('ours', bytes, BULK_WRITE_BYTES),
      'tcp 100 B': transfer('tcp', bytes, SMALL_WRITE_BYTES),
      'source 100 B': async () => await sourceAlone(bytes, SMALL_WRITE_BYTES),
      'ours round trip': roundTrip('ours'),
      'tcp round trip': roundTrip('tcp')
    })
    report.add({
      label: 'small writes: 100-byte writes, one process', unit: 'MiB/s', ours: s['ours 100 B'] ?? [],
      peer: { name: 'raw TCP', samples: s['tcp 100 B'] ?? [] },
      bound: { name: 'ours in 64 KiB writes', samples: s['ours 64 KiB'] ?? [] },
      goals: [{ of: 'bound', compare: '>=', target: 0.5 }]
    })
    // Each 100-byte write costs the bench's own source (an async generator) as much as the
    // transport's work: however cheap the transport, 100 B / 64 KiB cannot pass
    // source / (source + ours in 64 KiB writes).
    const source = s['source 100 B'] ?? []
    const cap = perRun((alone, bulk) => alone / (alone + bulk), source, s['ours 64 KiB'] ?? [])
    report.add({
      label: 'small writes: the bench\'s source alone (async generator, 100 B, no I/O)', unit: 'MiB/s', ours: source,
      remark: `informational: caps 100 B / 64 KiB at source / (source + ours 64 KiB) = ${summarize(cap).median.toFixed(2)}`
    })
    report.add({
      label: 'interactive: 1-byte write to its echo, one process', unit: 'µs', ours: s['ours round trip'] ?? [],
      peer: { name: 'raw TCP', samples: s['tcp round trip'] ?? [] },
      remark: 'no ratio goal: each write must still go out at once'
    })
  } finally {
    await servers.close()
  }
}
