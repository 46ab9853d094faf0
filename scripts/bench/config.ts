/**
 * Options of `npm run bench` and the sizes every section uses. The defaults follow docs/PERFORMANCE.md
 * (256 MiB per throughput run, medians of 5 runs, 16 clients); `--quick` is a smoke run.
 *
 *   node --expose-gc scripts/bench/run.ts [--quick] [--runs N] [--mib N] [--only a,b] [--json FILE] [--held N] [--trace]
 *
 * `--held N`: connections the scale section holds per sample (at most the open-file limit allows).
 * `--trace`: the round-trips section logs the chunks of its first connection of each kind at 100 ms.
 */
import { parseArgs } from 'node:util'

export const KiB = 1024
export const MiB = 1024 * KiB
export const MS_PER_SECOND = 1000
export const US_PER_MS = 1000
export const HOST = '127.0.0.1'

export const SECTIONS = ['throughput', 'small-writes', 'libp2p', 'handshake', 'memory', 'round-trips', 'scale'] as const
export type SectionName = typeof SECTIONS[number]

export interface BenchConfig {
  readonly quick: boolean
  /** Runs per measurement; every value in the table is the median of these. */
  readonly runs: number
  /** Bytes per bulk transfer, written 64 KiB at a time. */
  readonly bytes: number
  /** Bytes per small-writes transfer (100-byte writes against 64 KiB writes). */
  readonly smallWriteBytes: number
  /** 1-byte echo round trips per sample. */
  readonly roundTrips: number
  /** In-memory handshake pairs per sample. */
  readonly pairs: number
  /** The server under load from 16 concurrent clients in another process. */
  readonly loadClients: number
  readonly loadWarmupMs: number
  readonly loadWindowMs: number
  /** Idle connections held per memory sample. */
  readonly idleConnections: number
  /** Idle connections one server holds per scale sample. */
  readonly heldConnections: number
  readonly only: ReadonlySet<SectionName>
  readonly jsonPath: string | undefined
  readonly trace: boolean
}

const FULL = { runs: 5, mib: 256, smallMiB: 16, roundTrips: 500, pairs: 200, warmupMs: 300, windowMs: 1500, idle: 1000, held: 10_000 }
const QUICK = { runs: 2, mib: 8, smallMiB: 1, roundTrips: 50, pairs: 20, warmupMs: 100, windowMs: 300, idle: 100, held: 1000 }
const LOAD_CLIENTS = 16

export function parseConfig (argv: readonly string[] = process.argv.slice(2)): BenchConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      mib: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'string' },
      held: { type: 'string' },
      trace: { type: 'boolean', default: false }
    }
  })
  const quick = values.quick === true
  const size = quick ? QUICK : FULL
  const only = values.only?.split(',').map((name) => name.trim()) ?? [...SECTIONS]
  for (const name of only) {
    if (!(SECTIONS as readonly string[]).includes(name)) throw new RangeError(`--only: unknown section "${name}"; choose from ${SECTIONS.join(', ')}`)
  }
  return {
    quick,
    runs: values.runs === undefined ? size.runs : Math.round(positive(values.runs, '--runs')),
    bytes: Math.round((values.mib === undefined ? size.mib : positive(values.mib, '--mib')) * MiB),
    smallWriteBytes: size.smallMiB * MiB,
    roundTrips: size.roundTrips,
    pairs: size.pairs,
    loadClients: LOAD_CLIENTS,
    loadWarmupMs: size.warmupMs,
    loadWindowMs: size.windowMs,
    idleConnections: size.idle,
    heldConnections: values.held === undefined ? size.held : Math.round(positive(values.held, '--held')),
    only: new Set(only as SectionName[]),
    jsonPath: values.json,
    trace: values.trace === true
  }
}

function positive (text: string, name: string): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got "${text}"`)
  return value
}

const started = performance.now()

/** Progress on stderr, stamped with the seconds since start; stdout carries only the table. */
export function log (message: string): void {
  const seconds = ((performance.now() - started) / MS_PER_SECOND).toFixed(0).padStart(4)
  process.stderr.write(`[${seconds} s] ${message}\n`)
}

export function mibPerSecond (bytes: number, ms: number): number {
  return bytes / MiB / (ms / MS_PER_SECOND)
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
