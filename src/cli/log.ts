/**
 * Everything `shs` says to people goes to stderr, so stdout carries only data. `info` lines are
 * always shown; `verbose` lines (handshake stages, timings) only with --verbose.
 */
import { performance } from 'node:perf_hooks'

const PREFIX = 'shs: '

export class Log {
  readonly isVerbose: boolean
  readonly #write: (line: string) => void

  constructor (verbose: boolean, write: (line: string) => void = (line) => { process.stderr.write(line) }) {
    this.isVerbose = verbose
    this.#write = write
  }

  info (message: string): void {
    this.#write(`${PREFIX}${message}\n`)
  }

  warn (message: string): void {
    this.#write(`${PREFIX}warning: ${message}\n`)
  }

  verbose (message: string): void {
    if (this.isVerbose) this.#write(`${PREFIX}${message}\n`)
  }

  /** A stopwatch whose lines carry the time since it started, for stage-by-stage timing. */
  timer (label: string): StageTimer {
    return new StageTimer(this, label)
  }
}

export class StageTimer {
  readonly #log: Log
  readonly #label: string
  readonly #start = performance.now()

  constructor (log: Log, label: string) {
    this.#log = log
    this.#label = label
  }

  get elapsedMs (): number {
    return performance.now() - this.#start
  }

  stage (message: string): void {
    if (!this.#log.isVerbose) return
    this.#log.verbose(`${this.#label} +${formatMs(this.elapsedMs)} ${message}`)
  }
}

export function formatMs (ms: number): string {
  const PRECISE_BELOW_MS = 10
  return ms < PRECISE_BELOW_MS ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`
}
