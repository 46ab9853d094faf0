/**
 * `npm run bench`: the goals of docs/PERFORMANCE.md measured side by side on this machine, loopback
 * only. Progress
 * goes to stderr; stdout gets one Markdown table (medians, min–max, the bound each row is held to,
 * ours / bound, ours / peer, and each goal met or not); `--json FILE` writes every sample too.
 * Sections run one after another, never in parallel: two-process runs need both cores. A section
 * that fails or overruns its time limit costs its rows (noted under the table), never the run: the
 * exit code is 0 unless the options are wrong. See docs/PERFORMANCE.md for what bounds each number.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname } from 'node:path'
import { type BenchConfig, MS_PER_SECOND, type SectionName, log, parseConfig } from './config.ts'
import { measureHandshakes } from './handshake.ts'
import { measureLibp2p } from './libp2p.ts'
import { measureMemory } from './memory.ts'
import { Report, formatTable, toJson } from './report.ts'
import { measureRoundTrips } from './round-trips.ts'
import { measureScale } from './scale.ts'
import { measureSmallWrites, measureThroughput } from './throughput.ts'

const SECTIONS: Readonly<Record<SectionName, (config: BenchConfig, report: Report) => Promise<void>>> = {
  throughput: measureThroughput,
  'small-writes': measureSmallWrites,
  libp2p: measureLibp2p,
  handshake: measureHandshakes,
  memory: measureMemory,
  'round-trips': measureRoundTrips,
  scale: measureScale
}

/** A section still running after this long is given up (noted), so the bench always ends. */
const SECTION_LIMIT_MS = 10 * 60 * MS_PER_SECOND

const config = parseConfig()
const report = new Report()
const started = performance.now()
const loadBefore = os.loadavg()[0] ?? Number.NaN
log(`shs-transport bench${config.quick ? ' (quick)' : ''}: ${config.runs} runs, sections ${[...config.only].join(', ')}`)
for (const [name, measure] of Object.entries(SECTIONS)) {
  if (!config.only.has(name as SectionName)) continue
  try {
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`still running after ${SECTION_LIMIT_MS / MS_PER_SECOND} s`)) }, SECTION_LIMIT_MS)
    })
    await Promise.race([measure(config, report), limit]).finally(() => { clearTimeout(timer) })
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    report.notes.push(`the ${name} section failed, its rows are missing: ${message}`)
    log(`${name} failed: ${err instanceof Error ? err.stack ?? message : message}`)
  }
}
const wallSeconds = (performance.now() - started) / MS_PER_SECOND
const load = [loadBefore, os.loadavg()[0] ?? Number.NaN]
const cores = os.availableParallelism()
if (Math.max(...load) > cores) {
  report.notes.push(`the load average (${load.map((value) => value.toFixed(1)).join(' → ')}) exceeded the ${cores} cores: other processes ` +
    'took CPU time from this run, so its numbers are low and spread and even its ratios can move; judge goals on a quiet machine')
}
process.stdout.write(formatTable(report, config, wallSeconds, load) + '\n')
if (config.jsonPath !== undefined) {
  await mkdir(dirname(config.jsonPath), { recursive: true })
  await writeFile(config.jsonPath, JSON.stringify(toJson(report, config, wallSeconds, load), null, 2) + '\n')
  log(`wrote ${config.jsonPath}`)
}
// Timers left by the reference packages (handshake timeouts) must not hold the table back.
process.exit(0)
