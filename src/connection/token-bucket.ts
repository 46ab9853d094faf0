/** A token bucket over a clock the caller gives: `capacity` at once, then one token per `interval` ms. */
export class TokenBucket {
  readonly #capacity: number
  readonly #interval: number
  readonly #now: () => number
  #tokens: number
  #at: number

  constructor (capacity: number, interval: number, now: () => number) {
    this.#capacity = capacity
    this.#interval = interval
    this.#now = now
    this.#tokens = capacity
    this.#at = now()
  }

  available (): boolean {
    this.#refill()
    return this.#tokens >= 1
  }

  take (): boolean {
    if (!this.available()) return false
    this.#tokens--
    return true
  }

  /** Milliseconds until a token is there (0: now). */
  waitTime (): number {
    this.#refill()
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) * this.#interval)
  }

  #refill (): void {
    const now = this.#now()
    // A clock that went back (a fake one reset in a test) adds nothing.
    const elapsed = Math.max(0, now - this.#at)
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsed / this.#interval)
    this.#at = now
  }
}
