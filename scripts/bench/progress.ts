/** Progress on stderr (stdout carries only the table), each line stamped with the time since start. */

const MS_PER_SECOND = 1000
const SECONDS_PER_MINUTE = 60

export class Progress {
  readonly #started = performance.now()

  /** Seconds since the bench started. */
  get elapsedSeconds (): number {
    return (performance.now() - this.#started) / MS_PER_SECOND
  }

  log (message: string): void {
    const seconds = Math.floor(this.elapsedSeconds)
    const stamp = `${Math.floor(seconds / SECONDS_PER_MINUTE)}:${String(seconds % SECONDS_PER_MINUTE).padStart(2, '0')}`
    process.stderr.write(`[${stamp}] ${message}\n`)
  }

  section (title: string): void {
    this.log(`── ${title}`)
  }
}
