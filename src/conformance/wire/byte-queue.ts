/**
 * The bytes a peer sent that no check has read yet, in arrival order. Taking from the front copies
 * only what is taken, so a peer that sends in many small pieces costs linear time, not quadratic.
 */
export class ByteQueue {
  readonly #chunks: Uint8Array[] = []
  /** How much of the first chunk was already taken. */
  #offset = 0
  #length = 0

  get length (): number {
    return this.#length
  }

  push (chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return
    this.#chunks.push(chunk)
    this.#length += chunk.byteLength
  }

  /** Exactly `count` bytes (at most `length`), copied out. */
  take (count: number): Uint8Array {
    const wanted = Math.min(count, this.#length)
    const out = new Uint8Array(wanted)
    let filled = 0
    while (filled < wanted) {
      const first = this.#chunks[0] as Uint8Array
      const piece = first.subarray(this.#offset, this.#offset + wanted - filled)
      out.set(piece, filled)
      filled += piece.byteLength
      this.#offset += piece.byteLength
      if (this.#offset === first.byteLength) {
        this.#chunks.shift()
        this.#offset = 0
      }
    }
    this.#length -= wanted
    return out
  }

  /** Drops everything queued; returns how many bytes that was. */
  discard (): number {
    const dropped = this.#length
    this.#chunks.length = 0
    this.#offset = 0
    this.#length = 0
    return dropped
  }
}
