/**
 * The one exact-length reader: chunks of any size go in, exactly `length` bytes come out, and
 * what is left over stays in order for whoever reads next (the first box-stream bytes may share
 * a chunk with the last handshake message). Every transport's handshake reads through it.
 */
export class ChunkQueue {
  #chunks: Uint8Array[] = []
  #length = 0

  /** Bytes queued. */
  get length (): number {
    return this.#length
  }

  push (chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return
    this.#chunks.push(chunk)
    this.#length += chunk.byteLength
  }

  /**
   * Exactly `length` bytes, or undefined if fewer are queued. A message that arrived in one
   * chunk is handed out without a copy; one spread over several is joined into a new buffer.
   */
  take (length: number): Uint8Array | undefined {
    if (this.#length < length) return undefined
    const first = this.#chunks[0] as Uint8Array
    let message: Uint8Array
    if (first.byteLength >= length) {
      message = first.subarray(0, length)
      if (first.byteLength === length) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(length)
    } else {
      message = new Uint8Array(length)
      let filled = 0
      while (filled < length) {
        const chunk = this.#chunks[0] as Uint8Array
        const take = Math.min(length - filled, chunk.byteLength)
        message.set(chunk.subarray(0, take), filled)
        filled += take
        if (take === chunk.byteLength) this.#chunks.shift()
        else this.#chunks[0] = chunk.subarray(take)
      }
    }
    this.#length -= length
    return message
  }

  /** The next queued chunk as it came (or what is left of it), or undefined. */
  shift (): Uint8Array | undefined {
    const chunk = this.#chunks.shift()
    if (chunk !== undefined) this.#length -= chunk.byteLength
    return chunk
  }

  /** Everything queued, in order; the queue is empty afterwards. */
  drain (): Uint8Array[] {
    const chunks = this.#chunks
    this.#chunks = []
    this.#length = 0
    return chunks
  }
}
