/** Summaries of repeated measurements: the median resists one-off stalls (GC, scheduler), min–max shows the spread. */

export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
}

export function median (values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? sorted[middle] as number
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

export function summarize (values: readonly number[]): Summary {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN }
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) }
}

/** Runs `task` once per run, each time over every entry, so slow drift (heat, noise) hits all entries alike. */
export async function interleave<T extends string> (
  runs: number,
  names: readonly T[],
  task: (name: T, run: number) => Promise<number>
): Promise<Record<T, number[]>> {
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<T, number[]>
  for (let run = 0; run < runs; run++) {
    for (const name of names) samples[name].push(await task(name, run))
  }
  return samples
}
