/**
 * --progress: bytes moved and the current rate on stderr, like `pv`, drawn by cli-progress. A
 * terminal gets a live line; anything else (a log file, a pipe) gets nothing, because a stream
 * of redraws would fill it with noise, unless SHS_PROGRESS=force asks for periodic lines.
 */
import cliProgress from 'cli-progress'
import type { Traffic } from './pipe.ts'

export const PROGRESS_ENV = 'SHS_PROGRESS'
export const PROGRESS_FORCE = 'force'

const TTY_REDRAWS_PER_SECOND = 4
/** When forced onto a non-terminal, one line per second is readable and cheap. */
const NON_TTY_LINE_INTERVAL_MS = 1_000
/** The rate is measured over the last few seconds, like pv's, not averaged over the whole run. */
const RATE_WINDOW_MS = 3_000
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const
const UNIT_STEP = 1024

export interface Progress extends Traffic {
  connectionOpened (): void
  connectionClosed (): void
  stop (): void
}

/** A no-op when not asked for, so callers never branch on --progress. */
export function createProgress (enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled) return SILENT
  const forced = process.env[PROGRESS_ENV] === PROGRESS_FORCE
  if (!stream.isTTY && !forced) return SILENT
  return new ProgressLine(stream, forced)
}

const SILENT: Progress = {
  sent () {},
  received () {},
  connectionOpened () {},
  connectionClosed () {},
  stop () {}
}

class RateMeter {
  #total = 0
  readonly #samples: Array<{ at: number, total: number }> = []

  get total (): number {
    return this.#total
  }

  add (bytes: number): void {
    this.#total += bytes
  }

  /** Bytes per second over the recent window. */
  rate (now: number): number {
    this.#samples.push({ at: now, total: this.#total })
    while (this.#samples.length > 1 && now - (this.#samples[0] as { at: number }).at > RATE_WINDOW_MS) this.#samples.shift()
    const oldest = this.#samples[0] as { at: number, total: number }
    const seconds = (now - oldest.at) / 1000
    return seconds > 0 ? (this.#total - oldest.total) / seconds : 0
  }
}

class ProgressLine implements Progress {
  readonly #bar: cliProgress.SingleBar
  readonly #in = new RateMeter()
  readonly #out = new RateMeter()
  readonly #start = Date.now()
  #open = 0
  #served = 0

  constructor (stream: NodeJS.WriteStream, forced: boolean) {
    this.#bar = new cliProgress.SingleBar({
      stream,
      format: () => this.#format(),
      fps: TTY_REDRAWS_PER_SECOND,
      noTTYOutput: forced,
      notTTYSchedule: NON_TTY_LINE_INTERVAL_MS,
      hideCursor: false,
      // We stop the line ourselves; its own SIGINT hook would swallow the signal's default exit.
      gracefulExit: false
    })
    this.#bar.start(0, 0)
  }

  sent (bytes: number): void {
    this.#out.add(bytes)
  }

  received (bytes: number): void {
    this.#in.add(bytes)
  }

  connectionOpened (): void {
    this.#open++
    this.#served++
  }

  connectionClosed (): void {
    this.#open--
  }

  stop (): void {
    this.#bar.stop()
  }

  #format (): string {
    const now = Date.now()
    const seconds = Math.round((now - this.#start) / 1000)
    const connections = this.#served > 1 ? `  ${this.#open} open / ${this.#served} connections` : ''
    return `received ${formatBytes(this.#in.total)} (${formatBytes(this.#in.rate(now))}/s)  ` +
      `sent ${formatBytes(this.#out.total)} (${formatBytes(this.#out.rate(now))}/s)  ${seconds} s${connections}`
  }
}

export function formatBytes (bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= UNIT_STEP && unit < UNITS.length - 1) {
    value /= UNIT_STEP
    unit++
  }
  return unit === 0 ? `${Math.round(value)} ${UNITS[unit]}` : `${value.toFixed(1)} ${UNITS[unit]}`
}
