/**
 * Command line and environment for `npm run bench`. The defaults follow issue 5 (256 MiB per
 * throughput run, 5 runs, 10 000 held connections); `--quick` shrinks everything for development.
 *
 *   node --expose-gc scripts/bench/run.ts [--quick] [--mib N] [--runs N] [--only a,b]
 *                                         [--json FILE] [--svg FILE] [--connections N] [--no-wait]
 *   BENCH_MIB=N (or SHS_BENCH_MIB=N, as scripts/bench/libp2p.ts reads it) sets --mib.
 */
import { parseArgs } from 'node:util'

export const MiB = 1024 * 1024
export const KiB = 1024

/** Benchmark groups, for --only. The floors are measured inside `throughput`, interleaved with what they bound. */
export const SECTIONS = ['throughput', 'sizes', 'libp2p', 'handshake', 'memory'] as const
export type SectionName = typeof SECTIONS[number]

export interface BenchConfig {
  readonly quick: boolean
  /** Bytes per throughput run. */
  readonly bytes: number
  /** Runs per metric (medians of these). */
  readonly runs: number
  /** Payload sizes of the cost-versus-size sweep (one process). */
  readonly sizes: readonly number[]
  /** Connections opened to measure the memory of one idle connection. */
  readonly idleConnections: number
  /** Connections held at once in one process (the 10 000 goal); memory is sampled at `checkpoints`. */
  readonly heldConnections: number
  readonly checkpoints: readonly number[]
  /** Handshakes per sample: in memory, and sequential connect + handshake + close over TCP. */
  readonly inMemoryHandshakes: number
  readonly sequentialHandshakes: number
  /** Concurrent clients of the server-under-load test, and its timing window. */
  readonly loadClients: number
  readonly loadWarmupMs: number
  readonly loadWindowMs: number
  readonly only: ReadonlySet<SectionName>
  readonly jsonPath: string
  readonly svgPath: string
  /** Before each section, wait at most this long for other processes to go quiet (0: never wait). */
  readonly waitForQuietMs: number
}

const DEFAULT_MIB = 256
const QUICK_MIB = 16
const DEFAULT_RUNS = 5
const QUICK_RUNS = 3
const DEFAULT_SIZES = [1 * KiB, 16 * KiB, 256 * KiB, 4 * MiB, 64 * MiB]
const DEFAULT_IDLE_CONNECTIONS = 1000
const QUICK_IDLE_CONNECTIONS = 200
const DEFAULT_HELD_CONNECTIONS = 10_000
const QUICK_HELD_CONNECTIONS = 1000
/** Fractions of the held count at which memory is sampled for the plot. */
const CHECKPOINT_FRACTIONS = [0.1, 0.25, 0.5, 1]
const DEFAULT_IN_MEMORY_HANDSHAKES = 200
const DEFAULT_SEQUENTIAL_HANDSHAKES = 200
const QUICK_HANDSHAKES = 50
/** Issue 5: "16 concurrent clients". */
const LOAD_CLIENTS = 16
const LOAD_WARMUP_MS = 300
const LOAD_WINDOW_MS = 1500
const QUICK_LOAD_WINDOW_MS = 500
/** On a shared machine, a section waits this long at most for other work to finish first. */
const WAIT_FOR_QUIET_MS = 60_000
const DEFAULT_JSON = 'bench-results/latest.json'
const DEFAULT_SVG = 'docs/bench.svg'
/** A quick run must not overwrite the plot docs/PERFORMANCE.md shows. */
const QUICK_SVG = 'bench-results/bench.svg'

export function parseConfig (argv: readonly string[] = process.argv.slice(2)): BenchConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      mib: { type: 'string' },
      runs: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'string' },
      svg: { type: 'string' },
      connections: { type: 'string' },
      'no-wait': { type: 'boolean', default: false }
    }
  })
  const quick = values.quick === true
  const mibText = values.mib ?? process.env.BENCH_MIB ?? process.env.SHS_BENCH_MIB
  const mib = mibText === undefined ? (quick ? QUICK_MIB : DEFAULT_MIB) : positive(mibText, '--mib / BENCH_MIB')
  const bytes = Math.round(mib * MiB)
  const runs = values.runs === undefined ? (quick ? QUICK_RUNS : DEFAULT_RUNS) : Math.round(positive(values.runs, '--runs'))
  const held = values.connections === undefined
    ? (quick ? QUICK_HELD_CONNECTIONS : DEFAULT_HELD_CONNECTIONS)
    : Math.round(positive(values.connections, '--connections'))
  return {
    quick,
    bytes,
    runs,
    // The sweep never goes past the throughput size, whose result it reuses as its last point.
    sizes: [...DEFAULT_SIZES.filter((size) => size < bytes), bytes],
    idleConnections: Math.min(held, quick ? QUICK_IDLE_CONNECTIONS : DEFAULT_IDLE_CONNECTIONS),
    heldConnections: held,
    checkpoints: CHECKPOINT_FRACTIONS.map((fraction) => Math.round(held * fraction)),
    inMemoryHandshakes: quick ? QUICK_HANDSHAKES : DEFAULT_IN_MEMORY_HANDSHAKES,
    sequentialHandshakes: quick ? QUICK_HANDSHAKES : DEFAULT_SEQUENTIAL_HANDSHAKES,
    loadClients: LOAD_CLIENTS,
    loadWarmupMs: LOAD_WARMUP_MS,
    loadWindowMs: quick ? QUICK_LOAD_WINDOW_MS : LOAD_WINDOW_MS,
    only: parseSections(values.only),
    jsonPath: values.json ?? DEFAULT_JSON,
    svgPath: values.svg ?? (quick ? QUICK_SVG : DEFAULT_SVG),
    waitForQuietMs: values['no-wait'] === true ? 0 : WAIT_FOR_QUIET_MS
  }
}

function parseSections (text: string | undefined): ReadonlySet<SectionName> {
  if (text === undefined) return new Set(SECTIONS)
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '')
  for (const name of names) {
    if (!(SECTIONS as readonly string[]).includes(name)) {
      throw new RangeError(`--only: unknown section "${name}"; choose from ${SECTIONS.join(', ')}`)
    }
  }
  return new Set(names as SectionName[])
}

function positive (text: string, name: string): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got "${text}"`)
  return value
}

/** "256 MiB", "16 KiB": sizes the way the table prints them. */
export function formatBytes (bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`
  return `${bytes} B`
}
