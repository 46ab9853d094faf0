/**
 * A bare connection for conformance probes, over TCP or WebSocket: we write exactly the bytes a
 * check chooses (valid, random, truncated) and observe exactly what the peer sends back and when
 * it hangs up. Nothing here speaks SHS; the checks drive the handshake themselves.
 *
 * Safe against the peer it observes: at most QUEUE_LIMIT_BYTES wait unread (past that the
 * transport is paused, so a flood is held back by the network's own flow control), every read
 * and every wait has a deadline, and waiting for a hang-up counts bytes instead of keeping them.
 */
import { performance } from 'node:perf_hooks'
import { Changes, waitUntil } from '../changes.ts'
import { ChunkQueue } from '../../driver/chunks.ts'

/** Unread bytes held per connection before the peer is paused; also the largest single read. */
export const QUEUE_LIMIT_BYTES = 256 * 1024

/** What a transport adapter (TCP, WebSocket) does for the connection. */
export interface Transport {
  write: (bytes: Uint8Array) => void
  /** "That was everything" (TCP FIN, a WebSocket close), reading on until the peer hangs up. */
  end: () => void
  destroy: () => void
  pause: () => void
  resume: () => void
}

/** What the adapter reports: bytes as they come, and the end (FIN, close, reset or error). */
export interface TransportEvents {
  data: (chunk: Uint8Array) => void
  hangUp: () => void
}

export type ReadOutcome =
  | { readonly kind: 'bytes', readonly bytes: Uint8Array }
  | { readonly kind: 'hung-up', readonly received: number }
  | { readonly kind: 'timeout', readonly received: number }

export interface HangUpOutcome {
  readonly hungUp: boolean
  /** Bytes that were waiting or arrived while we waited (a correct peer sends none); dropped, only counted. */
  readonly received: number
  /** From the start of the wait to the hang-up, or to the end of the wait. */
  readonly ms: number
}

export class RawConnection {
  readonly #transport: Transport
  readonly #queue = new ChunkQueue()
  #received = 0
  #paused = false
  #hungUp = false
  #hungUpAt = 0
  /** Notified on every chunk and on the hang-up. */
  readonly changes = new Changes()

  constructor (start: (events: TransportEvents) => Transport) {
    this.#transport = start({ data: (chunk) => { this.#deliver(chunk) }, hangUp: () => { this.#hangUp() } })
  }

  /** Bytes that arrived and were not read yet. */
  get buffered (): number {
    return this.#queue.length
  }

  /** Every byte the peer sent on this connection, read or not. */
  get received (): number {
    return this.#received
  }

  get hungUp (): boolean {
    return this.#hungUp
  }

  /** performance.now() at the hang-up (meaningful once `hungUp`). */
  get hungUpAt (): number {
    return this.#hungUpAt
  }

  /** Also after the peer's FIN: it may still be reading (a half-close). */
  write (bytes: Uint8Array): void {
    this.#transport.write(bytes)
  }

  endWrite (): void {
    this.#transport.end()
  }

  /** Exactly `length` bytes (at most QUEUE_LIMIT_BYTES), unless the peer hangs up or `ms` pass first. */
  async read (length: number, ms: number): Promise<ReadOutcome> {
    if (length > QUEUE_LIMIT_BYTES) throw new RangeError(`a read of ${length} bytes is more than the ${QUEUE_LIMIT_BYTES} a connection holds`)
    await this.#waitUntil(() => this.#queue.length >= length || this.#hungUp, ms)
    if (this.#queue.length >= length) return { kind: 'bytes', bytes: this.#take(length) }
    return this.#hungUp ? { kind: 'hung-up', received: this.#queue.length } : { kind: 'timeout', received: this.#queue.length }
  }

  /** A copy of the first `length` bytes once they came, left unread; undefined if the peer hung up or `ms` passed first. */
  async peek (length: number, ms: number): Promise<Uint8Array | undefined> {
    await this.#waitUntil(() => this.#queue.length >= length || this.#hungUp, ms)
    if (this.#queue.length < length) return undefined
    const head = Uint8Array.from(this.#queue.take(length) as Uint8Array)
    const rest = this.#queue.drain()
    this.#queue.push(head)
    for (const chunk of rest) this.#queue.push(chunk)
    return Uint8Array.from(head)
  }

  /** Up to `max` bytes of whatever has arrived, waiting up to `ms` for at least one; empty once hung up or timed out. */
  async readSome (ms: number, max: number): Promise<Uint8Array> {
    await this.#waitUntil(() => this.#queue.length > 0 || this.#hungUp, ms)
    return this.#take(max)
  }

  /**
   * Waits up to `ms` for the peer to hang up, dropping and counting what it sends meanwhile (and
   * what was still unread); stops early once more than `maxBytes` came, as the verdict is clear then.
   */
  async waitForHangUp (ms: number, maxBytes: number): Promise<HangUpOutcome> {
    const start = performance.now()
    let received = 0
    const drain = (): boolean => {
      received += this.#queue.length
      this.#queue.drain()
      this.#resumeIfDrained()
      return this.#hungUp || received > maxBytes
    }
    await this.#waitUntil(drain, ms)
    drain()
    if (!this.#hungUp) return { hungUp: false, received, ms: performance.now() - start }
    return { hungUp: true, received, ms: Math.max(0, this.#hungUpAt - start) }
  }

  close (): void {
    this.#transport.destroy()
    this.#hangUp()
  }

  #deliver (chunk: Uint8Array): void {
    this.#received += chunk.byteLength
    this.#queue.push(chunk)
    if (!this.#paused && this.#queue.length >= QUEUE_LIMIT_BYTES) {
      this.#paused = true
      this.#transport.pause()
    }
    this.changes.notify()
  }

  #hangUp (): void {
    if (this.#hungUp) return
    this.#hungUp = true
    this.#hungUpAt = performance.now()
    this.changes.notify()
  }

  /** Up to `length` bytes (a view of what arrived, when it came in one chunk). */
  #take (length: number): Uint8Array {
    const count = Math.min(length, this.#queue.length)
    const bytes = count === 0 ? new Uint8Array(0) : this.#queue.take(count) as Uint8Array
    this.#resumeIfDrained()
    return bytes
  }

  #resumeIfDrained (): void {
    if (this.#paused && this.#queue.length < QUEUE_LIMIT_BYTES / 2) {
      this.#paused = false
      this.#transport.resume()
    }
  }

  async #waitUntil (condition: () => boolean, ms: number): Promise<boolean> {
    return await waitUntil([this.changes], condition, ms)
  }
}
