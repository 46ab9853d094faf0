/**
 * The idle timeout of a WebSocket connection, which has no `setTimeout` of its socket to lean on
 * (a browser's WebSocket least of all): one timer per connection, and each message in or out only
 * notes the time, so a busy connection costs no timer churn.
 */
export class IdleWatch {
  readonly #idleTimeout: number
  readonly #onIdle: () => void
  #lastActivity = performance.now()
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor (idleTimeout: number, onIdle: () => void) {
    this.#idleTimeout = idleTimeout
    this.#onIdle = onIdle
    this.#schedule(idleTimeout)
  }

  /** A message went in or out. */
  touch (): void {
    this.#lastActivity = performance.now()
  }

  stop (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule (delay: number): void {
    this.#timer = setTimeout(() => {
      const quiet = performance.now() - this.#lastActivity
      if (quiet >= this.#idleTimeout) {
        this.#timer = undefined
        this.#onIdle()
      } else {
        this.#schedule(Math.ceil(this.#idleTimeout - quiet))
      }
    }, delay)
  }
}
