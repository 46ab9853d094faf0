/**
 * The libp2p rows: scripts/bench/libp2p.ts (owned separately) runs shs, noise and plaintext in
 * the same TCP + yamux harness; this turns its result into table rows. It is imported lazily so
 * that a missing or broken libp2p module costs its rows, not the whole bench.
 */
import type { BenchConfig } from './config.ts'
import type { Results } from './model.ts'
import type { Progress } from './progress.ts'
import { summarize } from './stats.ts'

export const LIBP2P_SECTION = 'libp2p 3, TCP + yamux, both nodes in one process (scripts/bench/libp2p.ts)'

const LABELS = { shs: 'shs() (this library)', noise: '@chainsafe/libp2p-noise', plaintext: '@libp2p/plaintext (no encryption)' } as const

export async function measureLibp2pRows (config: BenchConfig, results: Results, progress: Progress): Promise<void> {
  const { measureLibp2p } = await import('./libp2p.ts')
  progress.section(`libp2p: shs, noise and plaintext, ${config.runs} runs each, interleaved`)
  const result = await measureLibp2p({
    bytes: config.bytes,
    runs: config.runs,
    onRun: (name, run, sample) => {
      progress.log(`  run ${run + 1}/${config.runs}  ${name.padEnd(9)} dial ${sample.dialMs.toFixed(2)} ms, ${sample.throughputMiBps.toFixed(0)} MiB/s`)
    }
  })
  results.raw.libp2p = result
  for (const entry of result.results) {
    const throughput = entry.samples.map((sample) => sample.throughputMiBps)
    results.add({
      id: `libp2p.throughput.${entry.name}`, section: LIBP2P_SECTION, label: `throughput, ${LABELS[entry.name]}`,
      unit: 'MiB/s', samples: throughput, summary: summarize(throughput), better: 'higher'
    })
  }
  for (const entry of result.results) {
    const dial = entry.samples.map((sample) => sample.dialMs)
    results.add({
      id: `libp2p.dial.${entry.name}`, section: LIBP2P_SECTION, label: `dial + upgrade, ${LABELS[entry.name]}`,
      unit: 'ms', samples: dial, summary: summarize(dial), better: 'lower'
    })
  }
}
