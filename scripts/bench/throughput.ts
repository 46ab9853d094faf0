/**
 * Bulk throughput of the box stream over TCP: ours and the npm reference, with both ends in one
 * process and with the receiver in a child process, next to the floors (libsodium seal/open,
 * raw TCP) measured in the same loop. Every run visits every task once, so drift hits all alike.
 */
import { type BenchConfig, formatBytes } from './config.ts'
import { FLOORS_SECTION, deriveFloors, measureOpen, measureSeal } from './floors.ts'
import type { ImplName } from './impl/types.ts'
import type { Metric, Results } from './model.ts'
import type { Progress } from './progress.ts'
import { logRetake, quietSample } from './quiet.ts'
import { type Placement, type Rig, mibPerSecond, openRig } from './rig.ts'
import { interleave, summarize } from './stats.ts'

export const ONE_PROCESS_SECTION = 'Box stream over TCP, both ends in one process'
export const TWO_PROCESS_SECTION = 'Box stream over TCP, two processes (receiver in a child process)'

interface Task {
  readonly id: string
  readonly section: string
  readonly label: string
  readonly run: () => Promise<number>
}

export async function measureThroughput (config: BenchConfig, results: Results, progress: Progress): Promise<void> {
  const { bytes } = config
  progress.section(`throughput: ${formatBytes(bytes)} per run, ${config.runs} runs, tasks interleaved`)
  const rigs = new Map<Placement, Rig>()
  try {
    rigs.set('one', await openRig('one', ['tcp', 'ours', 'reference'], bytes))
    rigs.set('two', await openRig('two', ['tcp', 'ours', 'reference'], bytes))
    const timed = (placement: Placement, impl: ImplName) => async (): Promise<number> => {
      const rig = rigs.get(placement) as Rig
      return mibPerSecond(bytes, await rig.transfer(impl))
    }
    const tasks: Task[] = [
      { id: 'floors.seal', section: FLOORS_SECTION, label: 'libsodium crypto_secretbox_easy, 4 KiB chunks', run: async () => measureSeal(bytes) },
      { id: 'floors.open', section: FLOORS_SECTION, label: 'libsodium crypto_secretbox_open_easy, 4 KiB chunks', run: async () => measureOpen(bytes) },
      { id: 'floors.tcp.one', section: FLOORS_SECTION, label: 'raw TCP, both ends in one process', run: timed('one', 'tcp') },
      { id: 'floors.tcp.two', section: FLOORS_SECTION, label: 'raw TCP, two processes', run: timed('two', 'tcp') },
      { id: 'throughput.one.ours', section: ONE_PROCESS_SECTION, label: 'ours', run: timed('one', 'ours') },
      { id: 'throughput.one.reference', section: ONE_PROCESS_SECTION, label: 'reference (secret-handshake + pull-box-stream)', run: timed('one', 'reference') },
      { id: 'throughput.two.ours', section: TWO_PROCESS_SECTION, label: 'ours', run: timed('two', 'ours') },
      { id: 'throughput.two.reference', section: TWO_PROCESS_SECTION, label: 'reference (secret-handshake + pull-box-stream)', run: timed('two', 'reference') }
    ]
    const byId = new Map(tasks.map((task) => [task.id, task]))
    const samples = await interleave(config.runs, tasks.map((task) => task.id), async (id, run) => {
      const value = await quietSample((byId.get(id) as Task).run, logRetake(progress, `${id} run ${run + 1}`))
      progress.log(`  run ${run + 1}/${config.runs}  ${id.padEnd(26)} ${value.toFixed(0)} MiB/s`)
      return value
    })
    for (const task of tasks) {
      const values = samples[task.id] ?? []
      results.add({
        id: task.id, section: task.section, label: task.label, unit: 'MiB/s', samples: values, summary: summarize(values), better: 'higher'
      } satisfies Metric)
      // The derived floors belong in the floors section, right after the last measured floor.
      if (task.id === 'floors.tcp.two') deriveFloors(results)
    }
  } finally {
    for (const rig of rigs.values()) await rig.close()
  }
}
