/**
 * Reads exact byte counts from an async iterable of chunks, for the handshake's fixed-size
 * messages, and hands back whatever arrived beyond them (the first box-stream bytes may share a
 * chunk with the last handshake message).
 */
import { ChunkQueue } from '../driver/chunks.ts'
import { toBytes } from '../driver/transport.ts'
import type { ByteDuplex } from '../driver/types.ts'

type Chunk = Uint8Array | { subarray(): Uint8Array }

export class ByteReader {
  readonly #iterator: AsyncIterator<Chunk> | Iterator<Chunk>
  readonly #buffered = new ChunkQueue()
  #done = false

  constructor (source: ByteDuplex['source']) {
    this.#iterator = Symbol.asyncIterator in source
      ? (source as AsyncIterable<Chunk>)[Symbol.asyncIterator]()
      : (source as Iterable<Chunk>)[Symbol.iterator]()
  }

  /** Exactly `length` bytes, or undefined if the source ended first. Transport errors are thrown. */
  async read (length: number): Promise<Uint8Array | undefined> {
    while (this.#buffered.length < length) {
      if (this.#done) return undefined
      const result = await this.#iterator.next()
      if (result.done === true) {
        this.#done = true
        return undefined
      }
      this.#buffered.push(toBytes(result.value))
    }
    return this.#buffered.take(length)
  }

  /**
   * The next chunk not yet consumed (the buffered bytes first, then the source's), or undefined
   * at the end. Used after the handshake, where the box stream takes bytes in any sizes.
   */
  async readChunk (): Promise<Uint8Array | undefined> {
    const buffered = this.#buffered.shift()
    if (buffered !== undefined) return buffered
    while (!this.#done) {
      const result = await this.#iterator.next()
      if (result.done === true) {
        this.#done = true
        return undefined
      }
      const bytes = toBytes(result.value)
      if (bytes.byteLength > 0) return bytes
    }
    return undefined
  }

  /** Stops reading the source (without waiting for a pending read to settle). */
  close (): void {
    this.#done = true
    const returned = this.#iterator.return?.()
    if (returned instanceof Promise) returned.catch(() => {})
  }
}
