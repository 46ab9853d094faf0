/**
 * --progress: bytes moved and the current rate on stderr, like `pv`. On a terminal it is one
 * status line at the bottom, redrawn in place; log lines are printed above it (clear the line,
 * print, redraw), so neither ever overwrites the other. The line appears when the first stream
 * starts, its clock starts then too, and `stop()` leaves its last state on a line of its own.
 * Only carriage return and "erase to end of line" are used: no cursor saving or restoring, no
 * change to line wrapping, so the screen stays what a plain program would leave.
 *
 * Anything else (a log file, a pipe) gets no status line, because a stream of redraws would fill
 * it with noise, unless SHS_PROGRESS=force asks for one plain line per second.
 */
import type { Traffic } from './pipe.ts'

export const PROGRESS_ENV = 'SHS_PROGRESS'
export const PROGRESS_FORCE = 'force'

const TTY_REDRAW_INTERVAL_MS = 250
/** When forced onto a non-terminal, one line per second is readable and cheap. */
const NON_TTY_LINE_INTERVAL_MS = 1_000
/** The rate is measured over the last few seconds, like pv's, not averaged over the whole run. */
const RATE_WINDOW_MS = 3_000
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const
const UNIT_STEP = 1024
/** Assumed when a terminal does not say how wide it is. */
const DEFAULT_COLUMNS = 80
/** Carriage return, then ECMA-48 "erase in line" from the cursor to the end. */
const CLEAR_LINE = '\r\u001b[K'

export interface Progress extends Traffic {
  connectionOpened (): void
  connectionClosed (): void
  /** Writes text (whole lines) to stderr without disturbing the status line. */
  print (text: string): void
  /** Leaves the last state on its own line and stops redrawing. Idempotent. */
  stop (): void
}

/** The clock a status line reads; tests pass their own. */
export interface ProgressClock {
  now (): number
  every (ms: number, tick: () => void): { stop (): void }
}

const REAL_CLOCK: ProgressClock = {
  now: () => Date.now(),
  every (ms, tick) {
    const timer = setInterval(tick, ms)
    // A status line never keeps the process alive.
    timer.unref()
    return { stop: () => { clearInterval(timer) } }
  }
}

/** Prints straight through when not asked for (or not a terminal), so callers never branch on --progress. */
export function createProgress (enabled: boolean, stream: NodeJS.WriteStream = process.stderr, clock: ProgressClock = REAL_CLOCK): Progress {
  const forced = process.env[PROGRESS_ENV] === PROGRESS_FORCE
  if (!enabled || (stream.isTTY !== true && !forced)) return silent(stream)
  return new StatusLine(stream, stream.isTTY === true, clock)
}

function silent (stream: NodeJS.WritableStream): Progress {
  return {
    sent () {},
    received () {},
    connectionOpened () {},
    connectionClosed () {},
    print (text) { stream.write(text) },
    stop () {}
  }
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

class StatusLine implements Progress {
  readonly #stream: NodeJS.WriteStream
  readonly #terminal: boolean
  readonly #clock: ProgressClock
  readonly #in = new RateMeter()
  readonly #out = new RateMeter()
  #start = 0
  #open = 0
  #served = 0
  #ticker: { stop (): void } | undefined
  /** Whether the status line is on the screen now (the cursor sits at its end). */
  #shown = false
  #stopped = false

  constructor (stream: NodeJS.WriteStream, terminal: boolean, clock: ProgressClock) {
    this.#stream = stream
    this.#terminal = terminal
    this.#clock = clock
  }

  sent (bytes: number): void {
    this.#begin()
    this.#out.add(bytes)
  }

  received (bytes: number): void {
    this.#begin()
    this.#in.add(bytes)
  }

  connectionOpened (): void {
    this.#begin()
    this.#open++
    this.#served++
  }

  connectionClosed (): void {
    this.#open--
  }

  print (text: string): void {
    if (!this.#shown) {
      this.#stream.write(text)
      return
    }
    this.#stream.write(CLEAR_LINE + text)
    this.#shown = false
    this.#draw()
  }

  stop (): void {
    if (this.#stopped) return
    this.#stopped = true
    this.#ticker?.stop()
    if (this.#ticker === undefined) return
    this.#draw()
    if (this.#terminal) this.#stream.write('\n')
    this.#shown = false
  }

  /** The first stream starts the clock and the redraws. */
  #begin (): void {
    if (this.#ticker !== undefined || this.#stopped) return
    this.#start = this.#clock.now()
    this.#ticker = this.#clock.every(this.#terminal ? TTY_REDRAW_INTERVAL_MS : NON_TTY_LINE_INTERVAL_MS, () => { this.#draw() })
    this.#draw()
  }

  #draw (): void {
    const text = this.#format()
    if (!this.#terminal) {
      this.#stream.write(`${text}\n`)
      return
    }
    // One column short of the width, so the line never wraps (a wrapped line cannot be redrawn
    // in place); the terminal may have been resized since the last draw.
    const columns = this.#stream.columns > 0 ? this.#stream.columns : DEFAULT_COLUMNS
    this.#stream.write(CLEAR_LINE + text.slice(0, Math.max(0, columns - 1)))
    this.#shown = true
  }

  #format (): string {
    const now = this.#clock.now()
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
