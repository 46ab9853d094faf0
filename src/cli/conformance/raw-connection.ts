/**
 * A bare TCP connection for conformance probes: we write exactly the bytes a check chooses
 * (valid, random, truncated) and record exactly what the peer sends back and when it hangs up.
 * Nothing here speaks SHS; the checks drive the handshake machine themselves.
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { type HostPort, formatHostPort } from '../address.ts'
import { Changes, waitUntil } from './changes.ts'

export class ProbeConnectError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ProbeConnectError'
  }
}

export type ReadOutcome =
  | { readonly kind: 'bytes', readonly bytes: Uint8Array }
  | { readonly kind: 'hung-up', readonly received: number }
  | { readonly kind: 'timeout', readonly received: number }

export interface HangUpOutcome {
  readonly hungUp: boolean
  /** Bytes that arrived while we waited (a correct server sends none). */
  readonly received: number
  /** From the start of the wait to the hang-up, or to the end of the wait. */
  readonly ms: number
}

export class RawConnection {
  readonly #socket: net.Socket
  #buffered: Buffer[] = []
  #bufferedLength = 0
  #hungUp = false
  #hungUpAt = 0
  /** Notified on every byte and on the hang-up. */
  readonly changes = new Changes()

  private constructor (socket: net.Socket) {
    this.#socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.#buffered.push(chunk)
      this.#bufferedLength += chunk.byteLength
      this.#notify()
    })
    // FIN, reset or any error: for a probe, all of them mean "the server hung up".
    const onHangUp = (): void => {
      if (this.#hungUp) return
      this.#hungUp = true
      this.#hungUpAt = performance.now()
      this.#notify()
    }
    socket.on('end', onHangUp)
    socket.on('close', onHangUp)
    socket.on('error', onHangUp)
  }

  static async open (target: HostPort, timeout: number): Promise<RawConnection> {
    const where = formatHostPort(target)
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const attempt = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true })
      const timer = setTimeout(() => {
        attempt.destroy()
        reject(new ProbeConnectError(`could not connect to ${where} within ${timeout} ms`))
      }, timeout)
      attempt.once('connect', () => {
        clearTimeout(timer)
        attempt.removeAllListeners('error')
        resolve(attempt)
      })
      attempt.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        reject(new ProbeConnectError(`could not connect to ${where} (${err.code ?? err.message})`, { cause: err }))
      })
    })
    return new RawConnection(socket)
  }

  /** Wraps a socket our own listener accepted (the client role, where we play the server). */
  static accepted (socket: net.Socket): RawConnection {
    socket.setNoDelay(true)
    return new RawConnection(socket)
  }

  /** Bytes that arrived and were not read yet. */
  get buffered (): number {
    return this.#bufferedLength
  }

  /** performance.now() at the hang-up (meaningful once `hungUp`). */
  get hungUpAt (): number {
    return this.#hungUpAt
  }

  get hungUp (): boolean {
    return this.#hungUp
  }

  write (bytes: Uint8Array): void {
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(bytes)
  }

  /** Sends FIN: "that was everything", so a server waiting for more bytes sees end of stream. */
  endWrite (): void {
    if (!this.#socket.destroyed) this.#socket.end()
  }

  /** Exactly `length` bytes, unless the server hangs up or `ms` pass first. */
  async read (length: number, ms: number): Promise<ReadOutcome> {
    await this.#waitUntil(() => this.#bufferedLength >= length || this.#hungUp, ms)
    if (this.#bufferedLength >= length) return { kind: 'bytes', bytes: this.#take(length) }
    return this.#hungUp ? { kind: 'hung-up', received: this.#bufferedLength } : { kind: 'timeout', received: this.#bufferedLength }
  }

  /** Whatever has arrived, waiting up to `ms` for at least one byte; empty once hung up or timed out. */
  async readSome (ms: number): Promise<Uint8Array> {
    await this.#waitUntil(() => this.#bufferedLength > 0 || this.#hungUp, ms)
    return this.#take(this.#bufferedLength)
  }

  /**
   * Waits for the peer to hang up, counting every byte it sends meanwhile; with `maxBytes`, stops
   * early once more than that many bytes are waiting (the verdict is clear by then).
   */
  async waitForHangUp (ms: number, maxBytes = Infinity): Promise<HangUpOutcome> {
    const start = performance.now()
    const before = this.#bufferedLength
    await this.#waitUntil(() => this.#hungUp || this.#bufferedLength > maxBytes, ms)
    const received = this.#bufferedLength - before
    if (!this.#hungUp) return { hungUp: false, received, ms: performance.now() - start }
    return { hungUp: true, received, ms: Math.max(0, this.#hungUpAt - start) }
  }

  close (): void {
    this.#socket.destroy()
    this.#notify()
  }

  #take (length: number): Uint8Array {
    const joined = Buffer.concat(this.#buffered, this.#bufferedLength)
    this.#buffered = length < joined.byteLength ? [joined.subarray(length)] : []
    this.#bufferedLength = joined.byteLength - length
    return new Uint8Array(joined.subarray(0, length))
  }

  #notify (): void {
    this.changes.notify()
  }

  #waitUntil (condition: () => boolean, ms: number): Promise<boolean> {
    return waitUntil([this.changes], condition, ms)
  }
}
