/** The one table `npm run bench` prints (Markdown, so docs/PERFORMANCE.md can show it as is), and its JSON twin. */
import os from 'node:os'
import { type BenchConfig, formatBytes } from './config.ts'
import { GOALS } from './goals.ts'
import { WRITE_CHUNK_BYTES } from './impl/types.ts'
import type { GoalResult, Metric, Results, Unit } from './model.ts'

export interface RunInfo {
  readonly date: string
  readonly node: string
  readonly platform: string
  readonly cpu: string
  readonly cores: number
  readonly wallSeconds: number
  /** One-minute load averages when the bench started and ended: other work on the machine skews everything. */
  readonly loadAverage: readonly [number, number]
  /** Share of all CPUs other processes used while the bench ran (0–1), where the OS tells. */
  readonly otherProcessesCpu: number | undefined
}

export function runInfo (wallSeconds: number, loadAtStart: number, otherProcessesCpu?: number): RunInfo {
  const cpus = os.cpus()
  return {
    date: new Date().toISOString().slice(0, 10),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    wallSeconds,
    loadAverage: [loadAtStart, os.loadavg()[0] ?? Number.NaN],
    otherProcessesCpu
  }
}

export function evaluateGoals (results: Results): GoalResult[] {
  return GOALS.map((goal) => {
    const numerator = results.median(goal.numerator)
    const denominator = typeof goal.denominator === 'string' ? results.median(goal.denominator) : goal.denominator.value
    if (numerator === undefined || denominator === undefined || denominator === 0) return { ...goal, ratio: undefined, pass: undefined }
    const ratio = numerator / denominator
    return { ...goal, ratio, pass: goal.compare === '>=' ? ratio >= goal.target : ratio <= goal.target }
  })
}

const SECONDS_PER_MINUTE = 60
const HIGH_RATE = 100
const SIGNIFICANT_DIGITS = 3
const PERCENT = 100

function formatValue (value: number, unit: Unit): string {
  if (Number.isNaN(value)) return 'n/a'
  switch (unit) {
    case 'MiB/s': case 'per s': return value >= HIGH_RATE ? value.toFixed(0) : value.toFixed(1)
    case 'connections': return value.toFixed(0)
    case 'KiB': return value.toFixed(2)
    case 'ms': case 'µs': return value.toPrecision(SIGNIFICANT_DIGITS)
  }
}

function formatWall (seconds: number): string {
  const whole = Math.round(seconds)
  return `${Math.floor(whole / SECONDS_PER_MINUTE)} min ${whole % SECONDS_PER_MINUTE} s`
}

const COLUMNS = ['metric', 'median', 'min – max', 'goal', 'ratio', 'result']

function row (cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`
}

function metricRows (metric: Metric, goals: readonly GoalResult[]): string[] {
  const { median, min, max } = metric.summary
  const range = metric.samples.length > 1 ? `${formatValue(min, metric.unit)} – ${formatValue(max, metric.unit)}` : ''
  const goalCells = (goal: GoalResult | undefined): string[] => goal === undefined
    ? ['', '', '']
    : [`${goal.text} ${goal.compare === '>=' ? '≥' : '≤'} ${goal.target}`,
        goal.ratio === undefined ? 'n/a' : goal.ratio.toFixed(2),
        goal.pass === undefined ? 'n/a' : goal.pass ? 'PASS' : '**FAIL**']
  const mine = goals.filter((goal) => goal.row === metric.id)
  const lines = [row([metric.label, `${formatValue(median, metric.unit)} ${metric.unit}`, range, ...goalCells(mine[0])])]
  for (const goal of mine.slice(1)) lines.push(row(['', '', '', ...goalCells(goal)]))
  return lines
}

export function formatReport (results: Results, config: BenchConfig, info: RunInfo, goals: readonly GoalResult[]): string {
  const lines = [
    `shs-transport \`npm run bench\` · ${info.date} · Node ${info.node} · ${info.platform} · ${info.cores} × ${info.cpu} · wall time ${formatWall(info.wallSeconds)} · ` +
      (info.otherProcessesCpu === undefined ? '' : `other processes used ${(info.otherProcessesCpu * PERCENT).toFixed(0)}% of the CPUs meanwhile`) +
      (config.quick ? ' · QUICK RUN' : ''),
    `Throughput: ${formatBytes(config.bytes)} per run in ${formatBytes(WRITE_CHUNK_BYTES)} writes, loopback TCP. Every value is the median of ${config.runs} runs ` +
      '(min – max beside it), all measured in this one run on this machine; ratios compare medians. MiB/s = 2^20 bytes/s. ' +
      '"Per connection end": the growth of the server and the client process averaged, per connection.',
    '',
    row(COLUMNS),
    row(['---', '--:', '--:', '---', '--:', '---'])
  ]
  let section = ''
  for (const metric of results.metrics.values()) {
    if (metric.section !== section) {
      section = metric.section
      lines.push(row([`**${section}**`, '', '', '', '', '']))
    }
    lines.push(...metricRows(metric, goals))
  }
  const judged = goals.filter((goal) => goal.pass !== undefined)
  lines.push('', `Goals met: ${judged.filter((goal) => goal.pass === true).length} of ${judged.length}` +
    (judged.length < goals.length ? ` (${goals.length - judged.length} not measured in this run)` : '') + '.')
  for (const note of results.notes) lines.push(`Note: ${note}`)
  return lines.join('\n')
}

export function toJson (results: Results, config: BenchConfig, info: RunInfo, goals: readonly GoalResult[]): unknown {
  return {
    info,
    config: { ...config, only: [...config.only] },
    metrics: [...results.metrics.values()],
    goals,
    sizes: results.sizes,
    connections: results.connections,
    notes: results.notes,
    raw: results.raw
  }
}
