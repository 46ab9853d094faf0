/**
 * The one table `npm run bench` prints: per scenario our median and range, the peer's, the bound
 * this run allows, the two ratios the goals use (ours / bound, ours / peer) and each goal met or not.
 * Ratios are of medians measured side by side in this run; absolute numbers move with the machine.
 */
import os from 'node:os'
import type { BenchConfig } from './config.ts'
import { type Summary, summarize } from './stats.ts'

export type Unit = 'MiB/s' | 'ms' | 'µs' | 'per s' | 'KiB' | 'RTT'

export interface Series {
  /** How the table names it: "reference", "noise", "1 / (1/open + 1/TCP)". */
  readonly name: string
  readonly samples: readonly number[]
}

export interface Goal {
  readonly of: 'bound' | 'peer'
  readonly compare: '>=' | '<='
  readonly target: number
}

export interface Row {
  readonly label: string
  readonly unit: Unit
  /** Our samples, or the measured value of a floor. */
  readonly ours: readonly number[]
  readonly peer?: Series
  readonly bound?: Series
  readonly goals?: readonly Goal[]
  /** Shown in the goal column of a row without goals. */
  readonly remark?: string
}

interface GoalResult extends Goal {
  readonly ratio: number | undefined
  readonly met: boolean | undefined
}

export class Report {
  readonly rows: Row[] = []
  readonly notes: string[] = []
  /** Numbers kept in the JSON only (client CPU under load, per-call handshake costs). */
  readonly extra: Record<string, unknown> = {}

  add (row: Row): void {
    this.rows.push(row)
  }
}

function ratio (row: Row, of: 'bound' | 'peer'): number | undefined {
  const other = row[of]
  if (other === undefined) return undefined
  const value = summarize(row.ours).median / summarize(other.samples).median
  return Number.isFinite(value) ? value : undefined
}

function evaluate (row: Row): GoalResult[] {
  return (row.goals ?? []).map((goal) => {
    const value = ratio(row, goal.of)
    const met = value === undefined ? undefined : goal.compare === '>=' ? value >= goal.target : value <= goal.target
    return { ...goal, ratio: value, met }
  })
}

const WHOLE_ABOVE = 100

function formatNumber (value: number, unit: Unit): string {
  if (Number.isNaN(value)) return 'n/a'
  if (unit === 'KiB' || unit === 'RTT') return value.toFixed(2)
  if (unit === 'ms' || unit === 'µs') return value.toPrecision(3)
  return value >= WHOLE_ABOVE ? value.toFixed(0) : value.toFixed(1)
}

function formatSamples (samples: readonly number[], unit: Unit): string {
  const { median, min, max }: Summary = summarize(samples)
  const range = samples.length > 1 ? ` (${formatNumber(min, unit)}–${formatNumber(max, unit)})` : ''
  return formatNumber(median, unit) + range
}

function formatGoal (goal: GoalResult, row: Row): string {
  const against = goal.of === 'bound' ? 'bound' : row.peer?.name ?? 'peer'
  const verdict = goal.met === undefined ? 'not measured' : goal.met ? 'met' : 'not met'
  return `${goal.compare === '>=' ? '≥' : '≤'} ${goal.target} x ${against}: ${verdict}`
}

const cell = (text: string): string => text.replaceAll('|', '\\|')

export function formatTable (report: Report, config: BenchConfig, wallSeconds: number, load: readonly number[]): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU'
  const lines = [
    `shs-transport \`npm run bench${config.quick ? ' -- --quick' : ''}\` · ${new Date().toISOString().slice(0, 16)}Z · Node ${process.version} · ` +
      `${os.availableParallelism()} × ${cpu} · ${Math.round(wallSeconds)} s · load average ${load.map((value) => value.toFixed(1)).join(' → ')}`,
    `Medians of ${config.runs} runs (min–max in brackets), all taken side by side in this run; ratios compare medians; for times, ` +
      'a ratio below 1 means ours takes less. Other work on a shared machine lowers and spreads every number: compare ratios, not runs.',
    '',
    '| scenario | ours | peer | bound | ours / bound | ours / peer | goal |',
    '|---|--:|--:|--:|--:|--:|---|'
  ]
  let met = 0
  let judged = 0
  for (const row of report.rows) {
    const goals = evaluate(row)
    judged += goals.filter((goal) => goal.met !== undefined).length
    met += goals.filter((goal) => goal.met === true).length
    const named = (series: Series | undefined): string => series === undefined ? '' : `${series.name} ${formatSamples(series.samples, row.unit)}`
    const ratioCell = (of: 'bound' | 'peer'): string => ratio(row, of)?.toFixed(2) ?? ''
    lines.push('| ' + [
      `${row.label} (${row.unit})`, formatSamples(row.ours, row.unit), named(row.peer), named(row.bound),
      ratioCell('bound'), ratioCell('peer'), goals.length > 0 ? goals.map((goal) => formatGoal(goal, row)).join('; ') : row.remark ?? ''
    ].map(cell).join(' | ') + ' |')
  }
  const total = report.rows.reduce((sum, row) => sum + (row.goals?.length ?? 0), 0)
  lines.push('', `Goals met: ${met} of ${judged}` + (judged < total ? ` (${total - judged} not measured in this run).` : '.'))
  for (const note of report.notes) lines.push(`Note: ${note}`)
  return lines.join('\n')
}

export function toJson (report: Report, config: BenchConfig, wallSeconds: number, load: readonly number[]): unknown {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().map((entry) => entry.model),
    wallSeconds,
    loadAverage: load,
    config: { ...config, only: [...config.only] },
    rows: report.rows.map((row) => ({
      ...row,
      summary: { ours: summarize(row.ours), peer: row.peer && summarize(row.peer.samples), bound: row.bound && summarize(row.bound.samples) },
      ratios: { bound: ratio(row, 'bound'), peer: ratio(row, 'peer') },
      goals: evaluate(row)
    })),
    notes: report.notes,
    extra: report.extra
  }
}
