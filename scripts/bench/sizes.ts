/**
 * How the cost of a transfer grows with its size (both ends in one process, connection already
 * open): ours, the reference and raw TCP, for the plot. Small transfers are dominated by the
 * round trip and per-write overheads, large ones by the crypto. The largest size is the
 * throughput benchmark's, whose medians are reused.
 */
import { type BenchConfig, MiB, formatBytes } from './config.ts'
import { IMPLS, type ImplName } from './impl/types.ts'
import type { Results } from './model.ts'
import type { Progress } from './progress.ts'
import { logRetake, quietSample } from './quiet.ts'
import { openRig } from './rig.ts'
import { interleave, median } from './stats.ts'

/** Small transfers take well under a millisecond: each sample averages enough of them to move this much. */
const BYTES_PER_SAMPLE = 4 * MiB
const MAX_TRANSFERS_PER_SAMPLE = 50

const THROUGHPUT_METRIC: Readonly<Record<ImplName, string>> = {
  ours: 'throughput.one.ours', reference: 'throughput.one.reference', tcp: 'floors.tcp.one'
}
const MS_PER_SECOND = 1000

export async function measureSizes (config: BenchConfig, results: Results, progress: Progress): Promise<void> {
  progress.section(`cost versus payload size (one process): ${config.sizes.map(formatBytes).join(', ')}`)
  for (const bytes of config.sizes) {
    const ms: Partial<Record<ImplName, number>> = {}
    const fromThroughput = bytes === config.bytes
      ? IMPLS.map((impl) => [impl, results.median(THROUGHPUT_METRIC[impl])] as const)
      : []
    if (fromThroughput.length > 0 && fromThroughput.every(([, rate]) => rate !== undefined)) {
      for (const [impl, rate] of fromThroughput) ms[impl] = bytes / MiB / (rate as number) * MS_PER_SECOND
    } else {
      const transfers = Math.max(1, Math.min(MAX_TRANSFERS_PER_SAMPLE, Math.floor(BYTES_PER_SAMPLE / bytes)))
      const rig = await openRig('one', IMPLS, bytes)
      try {
        const samples = await interleave(config.runs, IMPLS, async (impl, run) => await quietSample(async () => {
          let total = 0
          for (let transfer = 0; transfer < transfers; transfer++) total += await rig.transfer(impl)
          return total / transfers
        }, logRetake(progress, `${formatBytes(bytes)} ${impl} run ${run + 1}`)))
        for (const impl of IMPLS) ms[impl] = median(samples[impl])
      } finally {
        await rig.close()
      }
    }
    results.sizes.push({ bytes, ms })
    progress.log(`  ${formatBytes(bytes).padStart(8)}  ${IMPLS.map((impl) => `${impl} ${formatMs(ms[impl])}`).join('  ')}`)
  }
}

function formatMs (ms: number | undefined): string {
  return ms === undefined ? 'n/a' : `${ms.toPrecision(3)} ms`
}
