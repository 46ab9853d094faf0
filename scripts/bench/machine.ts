/**
 * Other work on the machine. Every number in the table assumes two otherwise quiet cores, so the
 * bench watches what the rest of the machine does while it runs and says so next to the table:
 * - `backgroundLoad()`: the share of all CPUs busy over half a second (whoever uses them);
 * - `snapshot()` / `foreignShare()`: the CPU time used by every process that is not this bench or
 *   one of its children (from /proc/<pid>/stat) between two moments;
 * - `LoadMonitor`: the same once a second, attributed to the section running at the time.
 * Linux only; elsewhere they report nothing and the bench runs unchanged (quiet.ts uses them).
 */
import os from 'node:os'
import { readFile, readdir } from 'node:fs/promises'

/** /proc/stat's first line: cpu user nice system idle iowait irq softirq steal ... (in clock ticks). */
const IDLE_FIELD = 3
const IOWAIT_FIELD = 4
const SAMPLE_MS = 500
/** Kernel clock ticks per second (USER_HZ): 100 on every mainstream Linux build. */
const TICKS_PER_SECOND = 100
/** Fields of /proc/<pid>/stat after the command name: state is 0, ppid 1, utime 11, stime 12. */
const PPID_FIELD = 1
const UTIME_FIELD = 11
const STIME_FIELD = 12
const MONITOR_INTERVAL_MS = 1000
const MS_PER_SECOND = 1000
/** The section before the first one: loading modules, not measuring. */
const START = 'start'

async function cpuTicks (): Promise<{ busy: number, total: number } | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? ''
    const fields = line.trim().split(/\s+/).slice(1).map(Number)
    const total = fields.reduce((sum, value) => sum + value, 0)
    const idle = (fields[IDLE_FIELD] ?? 0) + (fields[IOWAIT_FIELD] ?? 0)
    return { busy: total - idle, total }
  } catch {
    return undefined
  }
}

/** The share of all cores (0–1) busy over a short window, taken while the bench does nothing. */
export async function backgroundLoad (): Promise<number | undefined> {
  const before = await cpuTicks()
  await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS))
  const after = await cpuTicks()
  if (before === undefined || after === undefined || after.total === before.total) return undefined
  return (after.busy - before.busy) / (after.total - before.total)
}

interface ProcessTicks { ppid: number, ticks: number }

async function processTicks (): Promise<Map<number, ProcessTicks>> {
  const table = new Map<number, ProcessTicks>()
  const entries = await readdir('/proc')
  await Promise.all(entries.filter((name) => /^\d+$/.test(name)).map(async (name) => {
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8')
      // The command name is in parentheses and may contain spaces: split after its closing one.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      table.set(Number(name), {
        ppid: Number(fields[PPID_FIELD]),
        ticks: Number(fields[UTIME_FIELD]) + Number(fields[STIME_FIELD])
      })
    } catch {
      // The process exited between the listing and the read.
    }
  }))
  return table
}

/** This process and everything it started (peers, and the shells that exec them). */
function ownTree (table: Map<number, ProcessTicks>): Set<number> {
  const own = new Set([process.pid])
  for (let grew = true; grew;) {
    grew = false
    for (const [pid, entry] of table) {
      if (!own.has(pid) && own.has(entry.ppid)) { own.add(pid); grew = true }
    }
  }
  return own
}

export interface Snapshot {
  readonly table: Map<number, ProcessTicks>
  readonly at: number
}

/** Every process's CPU time so far; undefined where /proc is not available. */
export async function snapshot (): Promise<Snapshot | undefined> {
  if (process.platform !== 'linux') return undefined
  const table = await processTicks().catch(() => undefined)
  return table === undefined ? undefined : { table, at: performance.now() }
}

/** Clock ticks other processes (not this one or its children) used between two snapshots. */
function foreignTicks (from: Snapshot, to: Snapshot): number {
  const own = ownTree(to.table)
  let ticks = 0
  for (const [pid, entry] of to.table) {
    // A process that started in between counts from zero.
    if (!own.has(pid)) ticks += entry.ticks - (from.table.get(pid)?.ticks ?? 0)
  }
  return ticks
}

const CORES = os.cpus().length

function share (ticks: number, seconds: number): number {
  return seconds > 0 ? ticks / TICKS_PER_SECOND / seconds / CORES : 0
}

/** The share of all CPUs (0–1) other processes used between two snapshots. */
export function foreignShare (from: Snapshot, to: Snapshot): number {
  return share(foreignTicks(from, to), (to.at - from.at) / MS_PER_SECOND)
}

export interface ForeignLoad {
  /** Other processes' CPU time as a share of all cores (0–1), over the whole run and per section. */
  readonly overall: number
  readonly peak: number
  readonly sections: Readonly<Record<string, number>>
}

export class LoadMonitor {
  #previous: Snapshot | undefined
  #section = START
  readonly #totals = new Map<string, { ticks: number, seconds: number, peak: number }>()
  #timer: ReturnType<typeof setInterval> | undefined
  #sampling: Promise<void> = Promise.resolve()

  start (): void {
    if (process.platform !== 'linux') return
    this.#sampling = this.#sample()
    // Unref'd: the monitor must never keep the bench alive.
    this.#timer = setInterval(() => { this.#sampling = this.#sampling.then(async () => { await this.#sample() }) }, MONITOR_INTERVAL_MS)
    this.#timer.unref()
  }

  section (name: string): void {
    this.#sampling = this.#sampling.then(async () => {
      await this.#sample()
      this.#section = name
    })
  }

  /** Stops sampling and sums up, leaving out the start-up and the sections named in `ignore`. */
  async stop (ignore: readonly string[] = []): Promise<ForeignLoad | undefined> {
    if (this.#timer === undefined) return undefined
    clearInterval(this.#timer)
    await this.#sampling
    await this.#sample()
    let ticks = 0
    let seconds = 0
    let peak = 0
    const sections: Record<string, number> = {}
    for (const [name, total] of this.#totals) {
      if (name === START || ignore.includes(name)) continue
      ticks += total.ticks
      seconds += total.seconds
      peak = Math.max(peak, total.peak)
      if (total.seconds > 0) sections[name] = share(total.ticks, total.seconds)
    }
    return { overall: share(ticks, seconds), peak, sections }
  }

  async #sample (): Promise<void> {
    const next = await snapshot()
    if (next === undefined) return
    const previous = this.#previous
    if (previous !== undefined) {
      const ticks = foreignTicks(previous, next)
      const seconds = (next.at - previous.at) / MS_PER_SECOND
      const total = this.#totals.get(this.#section) ?? { ticks: 0, seconds: 0, peak: 0 }
      // Short windows (a section change right after a tick) are too coarse in clock ticks for a peak.
      const peak = seconds * MS_PER_SECOND >= MONITOR_INTERVAL_MS / 2 ? Math.min(1, share(ticks, seconds)) : 0
      this.#totals.set(this.#section, { ticks: total.ticks + ticks, seconds: total.seconds + seconds, peak: Math.max(total.peak, peak) })
    }
    this.#previous = next
  }
}
