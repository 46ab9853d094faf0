/**
 * A small dependency-free SVG with two panels: the time to move a payload versus its size
 * (log–log, with the one-thread floor as a dashed line), and the memory a server process grows
 * by versus the connections it holds.
 */
import { KiB, MiB, formatBytes } from './config.ts'
import type { Results } from './model.ts'

interface Series {
  readonly name: string
  readonly color: string
  readonly dashed: boolean
  readonly points: ReadonlyArray<readonly [number, number]>
}

interface Axis {
  readonly label: string
  readonly log: boolean
  readonly ticks: readonly number[]
  readonly format: (value: number) => string
}

interface Panel {
  readonly title: string
  readonly x: Axis
  readonly y: Axis
  readonly series: readonly Series[]
}

const COLORS = { ours: '#1f77b4', reference: '#ff7f0e', tcp: '#2ca02c', floor: '#555555' } as const
const PANEL_WIDTH = 460
const PANEL_HEIGHT = 330
const MARGIN = { left: 62, right: 30, top: 34, bottom: 48 }
const FONT = 'font-family="sans-serif" font-size="11"'
/** Pixel offsets of the text and legend around a panel's plot area. */
const LAYOUT = {
  titleAbove: 14,
  tickLabelBelow: 14,
  tickLabelLeft: 5,
  baselineShift: 4,
  axisLabelBelow: 34,
  axisLabelLeft: 14,
  legendLine: 15,
  legendFirst: 14,
  legendSwatchStart: 8,
  legendSwatchEnd: 30,
  legendText: 35,
  captionLeft: 8,
  captionBelow: 5,
  captionHeight: 18,
  pointRadius: 2.5,
  minLabelGap: 48,
  strokeWidth: 2
} as const
const DASHES = '5 4'
const LOG_BASE = 10
const MS_PER_SECOND = 1000
/** Nice linear tick steps: 1, 2 and 5 times a power of ten. */
const NICE_STEPS = [1, 2, 5]
const LINEAR_TICKS = 5

function escape (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function logTicks (min: number, max: number): number[] {
  const ticks: number[] = []
  for (let exponent = Math.floor(Math.log10(min)); exponent <= Math.ceil(Math.log10(max)); exponent++) ticks.push(LOG_BASE ** exponent)
  return ticks
}

function linearTicks (max: number): number[] {
  const rough = max / LINEAR_TICKS
  const power = LOG_BASE ** Math.floor(Math.log10(rough))
  const step = (NICE_STEPS.find((nice) => nice * power >= rough) ?? LOG_BASE) * power
  const ticks: number[] = []
  for (let value = 0; value <= max + step / 2; value += step) ticks.push(value)
  if ((ticks.at(-1) ?? 0) < max) ticks.push((ticks.at(-1) ?? 0) + step)
  return ticks
}

function drawPanel (panel: Panel, originX: number): string {
  const width = PANEL_WIDTH - MARGIN.left - MARGIN.right
  const height = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom
  const left = originX + MARGIN.left
  const top = MARGIN.top
  const scale = (axis: Axis, length: number) => {
    const lo = axis.ticks[0] as number
    const hi = axis.ticks.at(-1) as number
    const f = axis.log ? Math.log10 : (value: number) => value
    return (value: number): number => (f(value) - f(lo)) / (f(hi) - f(lo)) * length
  }
  const sx = scale(panel.x, width)
  const sy = scale(panel.y, height)
  const px = (value: number): number => left + sx(value)
  const py = (value: number): number => top + height - sy(value)
  const parts: string[] = [
    `<text x="${left + width / 2}" y="${top - LAYOUT.titleAbove}" text-anchor="middle" ${FONT} font-weight="bold">${escape(panel.title)}</text>`,
    `<rect x="${left}" y="${top}" width="${width}" height="${height}" fill="none" stroke="#999"/>`
  ]
  // From the right, so the largest value always keeps its label; crowded labels are skipped.
  let labelled = Number.POSITIVE_INFINITY
  for (const tick of [...panel.x.ticks].reverse()) {
    parts.push(`<line x1="${px(tick)}" y1="${top}" x2="${px(tick)}" y2="${top + height}" stroke="#eee"/>`)
    if (labelled - px(tick) < LAYOUT.minLabelGap) continue
    labelled = px(tick)
    parts.push(`<text x="${px(tick)}" y="${top + height + LAYOUT.tickLabelBelow}" text-anchor="middle" ${FONT}>${escape(panel.x.format(tick))}</text>`)
  }
  for (const tick of panel.y.ticks) {
    parts.push(`<line x1="${left}" y1="${py(tick)}" x2="${left + width}" y2="${py(tick)}" stroke="#eee"/>`,
      `<text x="${left - LAYOUT.tickLabelLeft}" y="${py(tick) + LAYOUT.baselineShift}" text-anchor="end" ${FONT}>${escape(panel.y.format(tick))}</text>`)
  }
  parts.push(`<text x="${left + width / 2}" y="${top + height + LAYOUT.axisLabelBelow}" text-anchor="middle" ${FONT}>${escape(panel.x.label)}</text>`,
    `<text transform="translate(${originX + LAYOUT.axisLabelLeft} ${top + height / 2}) rotate(-90)" text-anchor="middle" ${FONT}>${escape(panel.y.label)}</text>`)
  panel.series.forEach((series, index) => {
    const points = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!panel.y.log || y > 0))
    if (points.length === 0) return
    const dash = series.dashed ? ` stroke-dasharray="${DASHES}"` : ''
    parts.push(`<polyline fill="none" stroke="${series.color}" stroke-width="${LAYOUT.strokeWidth}"${dash} points="${points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`)
    for (const [x, y] of points) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="${LAYOUT.pointRadius}" fill="${series.color}"/>`)
    const legendY = top + LAYOUT.legendFirst + index * LAYOUT.legendLine
    parts.push(`<line x1="${left + LAYOUT.legendSwatchStart}" y1="${legendY - LAYOUT.baselineShift}" x2="${left + LAYOUT.legendSwatchEnd}" y2="${legendY - LAYOUT.baselineShift}" stroke="${series.color}" stroke-width="${LAYOUT.strokeWidth}"${dash}/>`,
      `<text x="${left + LAYOUT.legendText}" y="${legendY}" ${FONT}>${escape(series.name)}</text>`)
  })
  return parts.join('\n')
}

function sizePanel (results: Results): Panel | undefined {
  if (results.sizes.length === 0) return undefined
  const floor = results.median('floors.one')
  const series = (['ours', 'reference', 'tcp'] as const).map((impl): Series => ({
    name: impl === 'tcp' ? 'raw TCP' : impl,
    color: COLORS[impl],
    dashed: false,
    points: results.sizes.map((point) => [point.bytes, point.ms[impl] ?? Number.NaN] as const)
  }))
  if (floor !== undefined) {
    series.push({ name: 'one-thread floor (seal + open)', color: COLORS.floor, dashed: true, points: results.sizes.map((point) => [point.bytes, point.bytes / MiB / floor * MS_PER_SECOND] as const) })
  }
  const values = series.flatMap((entry) => entry.points.map(([, y]) => y)).filter((y) => Number.isFinite(y) && y > 0)
  const sizes = results.sizes.map((point) => point.bytes)
  return {
    title: 'Time to move a payload, both ends in one process',
    x: { label: 'payload size (log)', log: true, ticks: sizes, format: formatBytes },
    y: { label: 'milliseconds (log)', log: true, ticks: logTicks(Math.min(...values), Math.max(...values)), format: (ms) => (ms >= 1 ? ms.toFixed(0) : String(ms)) },
    series
  }
}

function connectionPanel (results: Results): Panel | undefined {
  if (results.connections.length === 0) return undefined
  const points = [...results.connections].sort((a, b) => a.connections - b.connections)
  const series: Series[] = []
  for (const impl of ['ours', 'reference', 'tcp'] as const) {
    const name = impl === 'tcp' ? 'plain TCP' : impl
    series.push({ name: `${name}, RSS`, color: COLORS[impl], dashed: false, points: [[0, 0], ...points.map((point) => [point.connections, (point.rssKiB[impl] ?? Number.NaN) / KiB] as const)] })
    series.push({ name: `${name}, JS heap`, color: COLORS[impl], dashed: true, points: [[0, 0], ...points.map((point) => [point.connections, (point.heapKiB[impl] ?? Number.NaN) / KiB] as const)] })
  }
  const maxY = Math.max(...series.flatMap((entry) => entry.points.map(([, y]) => y)).filter(Number.isFinite))
  const maxX = points.at(-1)?.connections ?? 1
  return {
    title: 'Server process memory growth vs idle connections held',
    x: { label: 'connections held', log: false, ticks: linearTicks(maxX), format: (value) => value.toLocaleString('en-US') },
    y: { label: 'MiB above baseline', log: false, ticks: linearTicks(maxY), format: (value) => String(Number(value.toPrecision(3))) },
    series
  }
}

export function renderSvg (results: Results, caption: string): string {
  const panels = [sizePanel(results), connectionPanel(results)].filter((panel): panel is Panel => panel !== undefined)
  const width = Math.max(1, panels.length) * PANEL_WIDTH
  const height = PANEL_HEIGHT + LAYOUT.captionHeight
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...panels.map((panel, index) => drawPanel(panel, index * PANEL_WIDTH)),
    `<text x="${LAYOUT.captionLeft}" y="${height - LAYOUT.captionBelow}" ${FONT} fill="#666">${escape(caption)}</text>`,
    '</svg>',
    ''
  ].join('\n')
}
