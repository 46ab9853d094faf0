/** The shapes every benchmark module fills in and the report prints: metrics, goals, plot points. */
import type { Summary } from './stats.ts'

export type Unit = 'MiB/s' | 'ms' | 'µs' | 'per s' | 'KiB' | 'connections'

export interface Metric {
  /** Stable key, used by goals and in the JSON (e.g. `throughput.one.ours`). */
  readonly id: string
  /** Table section the metric is printed in. */
  readonly section: string
  readonly label: string
  readonly unit: Unit
  readonly samples: readonly number[]
  readonly summary: Summary
  /** Higher is better (throughput, rates) or lower is better (times, memory). */
  readonly better: 'higher' | 'lower'
}

/** A fixed reference value (an absolute goal such as "≤ 4 KiB"), used in place of a measured denominator. */
export interface Constant {
  readonly value: number
  readonly label: string
}

export interface Goal {
  /** The metric row the goal is printed under. */
  readonly row: string
  readonly numerator: string
  readonly denominator: string | Constant
  readonly compare: '>=' | '<='
  readonly target: number
  /** How the ratio reads, e.g. "ours ÷ one-thread floor". */
  readonly text: string
}

export interface GoalResult extends Goal {
  /** Ratio of medians, or undefined when a side was not measured in this run. */
  readonly ratio: number | undefined
  readonly pass: boolean | undefined
}

export interface SizePoint {
  readonly bytes: number
  /** Median milliseconds for one transfer of `bytes`, per implementation. */
  readonly ms: Readonly<Record<string, number>>
}

export interface ConnectionPoint {
  readonly connections: number
  /** Per implementation: the server process's growth over its baseline, in KiB. */
  readonly rssKiB: Readonly<Record<string, number>>
  readonly heapKiB: Readonly<Record<string, number>>
}

/** Everything one `npm run bench` measured; modules add to it, the report reads it. */
export class Results {
  readonly metrics = new Map<string, Metric>()
  readonly sizes: SizePoint[] = []
  readonly connections: ConnectionPoint[] = []
  /** Remarks that belong next to the table (skipped parts, limits hit). */
  readonly notes: string[] = []
  /** Raw results of imported modules (libp2p), kept whole in the JSON. */
  readonly raw: Record<string, unknown> = {}

  add (metric: Omit<Metric, 'summary'> & { summary: Summary }): Metric {
    this.metrics.set(metric.id, metric)
    return metric
  }

  median (id: string): number | undefined {
    const value = this.metrics.get(id)?.summary.median
    return value === undefined || Number.isNaN(value) ? undefined : value
  }
}
