/**
 * A one-way channel of byte chunks with a pipe's backpressure: `push` resolves once the reader
 * took the chunk, so a reader that stops reading stops the writer. Both in-memory ways in
 * (it-pipe duplexes, pull-streams) are built from two of these.
 */
export class Channel implements AsyncIterator<Uint8Array>, AsyncIterable<Uint8Array> {
  readonly #queue: Array<{ bytes: Uint8Array, taken: () => void }> = []
  #reader: ((result: IteratorResult<Uint8Array>) => void) | undefined
  #ended = false
  #endedListeners: Array<() => void> = []

  /** Resolves once the reader took `bytes` (at once if the channel ended: nobody will read them). */
  async push (bytes: Uint8Array): Promise<void> {
    if (this.#ended) return
    await new Promise<void>((resolve) => {
      this.#queue.push({ bytes, taken: resolve })
      this.#hand()
    })
  }

  end (): void {
    if (this.#ended) return
    this.#ended = true
    // Whatever nobody took is dropped, and its writer released.
    for (const queued of this.#queue.splice(0)) queued.taken()
    this.#hand()
    for (const listener of this.#endedListeners.splice(0)) listener()
  }

  get ended (): boolean {
    return this.#ended
  }

  onEnd (listener: () => void): void {
    if (this.#ended) listener()
    else this.#endedListeners.push(listener)
  }

  async next (): Promise<IteratorResult<Uint8Array>> {
    return await new Promise((resolve) => {
      this.#reader = resolve
      this.#hand()
    })
  }

  async return (): Promise<IteratorResult<Uint8Array>> {
    this.end()
    return { value: undefined, done: true }
  }

  [Symbol.asyncIterator] (): AsyncIterator<Uint8Array> {
    return this
  }

  #hand (): void {
    const reader = this.#reader
    if (reader === undefined) return
    const queued = this.#queue.shift()
    if (queued !== undefined) {
      this.#reader = undefined
      reader({ value: queued.bytes, done: false })
      queued.taken()
    } else if (this.#ended) {
      this.#reader = undefined
      reader({ value: undefined, done: true })
    }
  }
}
