/**
 * `npm run bench`: every benchmark of issue 5 in one go, on this machine, side by side.
 * Progress goes to stderr; stdout gets one Markdown table (medians, min–max, floors, peers, and
 * each goal's ratio with PASS/FAIL). The same numbers go to bench-results/latest.json and the
 * cost curves to docs/bench.svg. See config.ts for the options (--quick for development).
 *
 * Sections run one after another, never in parallel: the machine has two cores, and the
 * two-process measurements need both.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname } from 'node:path'
import { type BenchConfig, type SectionName, formatBytes, parseConfig } from './config.ts'
import { measureTcpHandshakes } from './handshake-tcp.ts'
import { measureHandshakes } from './handshake.ts'
import { measureLibp2pRows } from './libp2p-rows.ts'
import { measureMemory } from './memory.ts'
import { LoadMonitor } from './machine.ts'
import { Results } from './model.ts'
import { Progress } from './progress.ts'
import { evaluateGoals, formatReport, runInfo, toJson } from './report.ts'
import { retakes, waitForQuiet } from './quiet.ts'
import { measureSizes } from './sizes.ts'
import { renderSvg } from './svg.ts'
import { measureThroughput } from './throughput.ts'

/** Other processes using more than this share of the CPUs make the numbers unreliable. */
const BUSY_SHARE = 0.05
const PERCENT = 100
/** The load monitor's name for the pauses between sections; they do not count. */
const WAITING = 'waiting'

type Step = (config: BenchConfig, results: Results, progress: Progress) => Promise<void>

/** In table order. Sizes come after throughput: their largest point reuses its medians. */
const STEPS: ReadonlyArray<readonly [SectionName, Step]> = [
  ['throughput', measureThroughput],
  ['sizes', measureSizes],
  ['libp2p', measureLibp2pRows],
  ['handshake', async (config, results, progress) => {
    await measureHandshakes(config, results, progress)
    await measureTcpHandshakes(config, results, progress)
  }],
  ['memory', measureMemory]
]

async function main (): Promise<void> {
  const config = parseConfig()
  const progress = new Progress()
  const results = new Results()
  const loadAtStart = os.loadavg()[0] ?? 0
  if ((globalThis as { gc?: unknown }).gc === undefined) {
    progress.log('note: run with node --expose-gc (npm run bench does); child peers get it regardless')
  }
  progress.log(`shs-transport bench: ${formatBytes(config.bytes)} per throughput run, ${config.runs} runs, ` +
    `sections ${[...config.only].join(', ')}${config.quick ? ' (quick)' : ''}`)
  const monitor = new LoadMonitor()
  monitor.start()
  for (const [name, step] of STEPS) {
    if (!config.only.has(name)) continue
    if (config.waitForQuietMs > 0) {
      // Time spent waiting is not bench time: keep it out of the other-processes figure.
      monitor.section(WAITING)
      let reported = false
      await waitForQuiet(config.waitForQuietMs, (share) => {
        if (!reported) progress.log(`waiting for other processes to calm down (${(share * PERCENT).toFixed(0)}% of the CPUs busy) before ${name}…`)
        reported = true
      })
    }
    monitor.section(name)
    try {
      await step(config, results, progress)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      results.notes.push(`the ${name} benchmarks failed and are missing from this table: ${message}`)
      progress.log(`${name} FAILED: ${err instanceof Error ? err.stack ?? message : message}`)
    }
  }

  const foreign = await monitor.stop([WAITING])
  results.raw.foreignCpuShare = foreign
  if (foreign !== undefined && foreign.overall > BUSY_SHARE) {
    const bySection = Object.entries(foreign.sections)
      .map(([name, share]) => `${name} ${(share * PERCENT).toFixed(0)}%`).join(', ')
    results.notes.push(`other processes used ${(foreign.overall * PERCENT).toFixed(0)}% of the CPUs while the bench ran ` +
      `(peak ${(foreign.peak * PERCENT).toFixed(0)}% over a second; ${bySection}): the affected numbers are low and their ranges wide`)
  }
  results.raw.retakes = retakes
  if (retakes.retaken > 0) {
    results.notes.push(`${retakes.retaken} ${retakes.retaken === 1 ? 'sample was' : 'samples were'} taken again because other processes used the CPUs meanwhile` +
      (retakes.keptDisturbed > 0 ? `; ${retakes.keptDisturbed} stayed disturbed after the last retake and were kept` : ''))
  }
  const info = runInfo(progress.elapsedSeconds, loadAtStart, foreign?.overall)
  const goals = evaluateGoals(results)
  process.stdout.write(formatReport(results, config, info, goals) + '\n')

  await mkdir(dirname(config.jsonPath), { recursive: true })
  await writeFile(config.jsonPath, JSON.stringify(toJson(results, config, info, goals), null, 2) + '\n')
  progress.log(`wrote ${config.jsonPath}`)
  if (results.sizes.length > 0 || results.connections.length > 0) {
    await mkdir(dirname(config.svgPath), { recursive: true })
    await writeFile(config.svgPath, renderSvg(results, `npm run bench · ${info.date} · Node ${info.node} · ${info.cores} × ${info.cpu}`))
    progress.log(`wrote ${config.svgPath}`)
  }
}

await main()
// Timers left by the reference packages (handshake timeouts) must not hold the table back.
process.exit(0)
