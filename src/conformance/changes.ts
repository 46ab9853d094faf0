/**
 * Event-driven waiting without polling: a source (a connection, a process) calls `notify()`
 * whenever its state changes, and `waitUntil` re-checks a condition over one or more sources
 * then, with a deadline whose timer never outlives the wait.
 */
export class Changes {
  readonly #listeners = new Set<() => void>()

  notify (): void {
    for (const listener of [...this.#listeners]) listener()
  }

  add (listener: () => void): void {
    this.#listeners.add(listener)
  }

  delete (listener: () => void): void {
    this.#listeners.delete(listener)
  }
}

/** Resolves true once `condition` holds, false after `ms`. */
export async function waitUntil (sources: readonly Changes[], condition: () => boolean, ms: number): Promise<boolean> {
  if (condition()) return true
  return await new Promise((resolve) => {
    const finish = (result: boolean): void => {
      clearTimeout(timer)
      for (const source of sources) source.delete(check)
      resolve(result)
    }
    const check = (): void => { if (condition()) finish(true) }
    const timer = setTimeout(() => { finish(false) }, ms)
    for (const source of sources) source.add(check)
  })
}
