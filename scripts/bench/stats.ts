/** Repeated samples: taken round-robin so drift hits every task alike; summed up as median and range. */

export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
}

export function summarize (values: readonly number[]): Summary {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN }
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1
    ? sorted[middle] as number
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number }
}

/** Each run visits every task once (odd runs in reverse order); returns each task's samples. */
export async function interleave<T extends string> (
  runs: number,
  names: readonly T[],
  task: (name: T, run: number) => Promise<number>
): Promise<Record<T, number[]>> {
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<T, number[]>
  for (let run = 0; run < runs; run++) {
    // Every other run in reverse order, so that no task always runs right after the same one
    // (a neighbour's leftover garbage, sockets in TIME_WAIT or warm caches would favour one side).
    const order = run % 2 === 0 ? names : [...names].reverse()
    for (const name of order) samples[name].push(await task(name, run))
  }
  return samples
}

/** `combine` applied run by run to samples taken in the same runs (a bound from its floors). */
export function perRun (combine: (...values: number[]) => number, ...series: ReadonlyArray<readonly number[]>): number[] {
  const runs = Math.min(...series.map((values) => values.length))
  return Array.from({ length: runs }, (_, run) => combine(...series.map((values) => values[run] as number)))
}

/** 1 / (1/a + 1/b + ...): the rate of stages one thread runs one after the other. */
export function serial (...rates: number[]): number {
  return 1 / rates.reduce((sum, rate) => sum + 1 / rate, 0)
}
