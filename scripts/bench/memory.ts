/**
 * JS heap per idle established connection end. Each sample runs in a fresh child process (peer.ts
 * `idle`): it warms up, settles with full GCs, opens N connections to its own server, settles
 * again; the heap growth divided by 2N (each connection has a client and a server end).
 */
import { startChild } from './child.ts'
import { type BenchConfig, log } from './config.ts'
import type { Report } from './report.ts'
import { interleave } from './stats.ts'

/** The budget per idle connection end, in KiB (docs/PERFORMANCE.md). */
const HEAP_BUDGET_KIB = 4

export async function measureMemory (config: BenchConfig, report: Report): Promise<void> {
  log(`memory: ${config.idleConnections} idle connections per sample, each sample in a fresh process`)
  const s = await interleave(config.runs, ['ours', 'reference'], async (impl, run) => {
    const child = startChild(['idle', impl, String(config.idleConnections)])
    try {
      const kib = Number((await child.next()).heapPerEnd)
      log(`  run ${run + 1}/${config.runs}  ${impl.padEnd(9)} ${kib.toFixed(2)} KiB of JS heap per connection end`)
      return kib
    } finally {
      await child.stop()
    }
  })
  report.add({
    label: 'JS heap per idle connection end', unit: 'KiB', ours: s.ours,
    peer: { name: 'reference', samples: s.reference },
    bound: { name: 'budget', samples: [HEAP_BUDGET_KIB] },
    goals: [{ of: 'bound', compare: '<=', target: 1 }]
  })
}
