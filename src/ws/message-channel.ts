/**
 * SHS over WebSocket messages, whichever WebSocket it is (the `ws` package in Node, the
 * browser's own): multiserver's ws plugin (pull-websocket) sends every write as one binary
 * message, and a reader takes the messages as one byte stream, whatever their boundaries. The
 * channel is the transport of both phases: the handshake reads exact lengths from the messages,
 * then the secure stream's driver gets every message as it comes, into the connection's one read
 * queue. The adapter of each WebSocket feeds its events in and gives the few socket calls out.
 */
import { ConnectionError, type ShsError, idleTimeoutError } from '../errors.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { ChunkQueue } from '../driver/chunks.ts'
import { FINISHED_LINGER_MS } from '../driver/constants.ts'
import type { HandshakeTransport } from '../driver/handshake.ts'
import { SecureStreamDriver } from '../driver/secure-stream.ts'
import { type StreamTransport, connectionBroke } from '../driver/transport.ts'
import type { SecureStream } from '../driver/types.ts'
import { IdleWatch } from './idle-watch.ts'

/** What the channel needs from a WebSocket. */
export interface MessageSocket {
  /**
   * Queues one binary message at once (messages go out in the order of the calls) and resolves
   * once the socket took it (the writer's backpressure); rejects if it cannot.
   */
  send (chunk: Uint8Array): Promise<void>
  /** Stop and restart reading from the network; a socket that cannot (a browser's) says so with `canPause`. */
  readonly canPause: boolean
  pause (): void
  resume (): void
  /** A clean close (the WebSocket close handshake). */
  close (): void
  /** A hard stop. */
  terminate (): void
}

export interface MessageChannelOptions {
  /** Milliseconds without a message either way before the connection ends with ERR_SHS_IDLE_TIMEOUT. */
  idleTimeout?: number | undefined
  /**
   * For a socket that cannot pause: the peer is dropped once this many received bytes wait
   * unread, so a fast or hostile peer costs bounded memory.
   */
  maxUnreadBytes?: number | undefined
}

/** We send at most this much per message, well under what any peer accepts. */
const SEND_SLICE_BYTES = 64 * 1024

export class MessageChannel {
  readonly #socket: MessageSocket
  readonly #maxUnreadBytes: number
  readonly #idle: IdleWatch | undefined
  /** The handshake's bytes so far; after it, whatever came with its last message. */
  readonly #pending = new ChunkQueue()
  #waiting: { length: number, resolve: (message: Uint8Array | undefined) => void, reject: (error: Error) => void } | undefined
  #driver: SecureStreamDriver | undefined
  #ended = false
  #failure: ShsError | undefined
  #paused = false
  /** Bytes received while the driver asked a socket that cannot pause to pause. */
  #unreadWhilePaused = 0
  /** Cuts a finished connection whose peer never answers our close. */
  #linger: ReturnType<typeof setTimeout> | undefined

  constructor (socket: MessageSocket, options: MessageChannelOptions = {}) {
    this.#socket = socket
    this.#maxUnreadBytes = options.maxUnreadBytes ?? Number.POSITIVE_INFINITY
    const idleTimeout = options.idleTimeout
    this.#idle = idleTimeout === undefined
      ? undefined
      : new IdleWatch(idleTimeout, () => {
          this.failed(idleTimeoutError(idleTimeout))
          socket.terminate()
        })
  }

  // --- events from the WebSocket ---------------------------------------------------------------

  message (bytes: Uint8Array): void {
    if (this.#failure !== undefined || this.#ended) return
    this.#idle?.touch()
    const driver = this.#driver
    if (driver === undefined) {
      this.#pending.push(bytes)
      this.#serveRead()
      return
    }
    if (this.#paused && !this.#socket.canPause) {
      this.#unreadWhilePaused += bytes.byteLength
      if (this.#unreadWhilePaused > this.#maxUnreadBytes) {
        this.failed(new ConnectionError(`the peer sent more than ${this.#maxUnreadBytes} bytes that were not read yet: ` +
          'read the stream as it arrives (this WebSocket cannot make the peer wait)'))
        this.#socket.terminate()
        return
      }
    }
    driver.receive(bytes)
  }

  closed (): void {
    this.#idle?.stop()
    clearTimeout(this.#linger)
    if (this.#ended) return
    this.#ended = true
    this.#serveRead()
    const driver = this.#driver
    if (driver === undefined) return
    // A WebSocket that closes is the end of the peer's bytes too; after both goodbyes, no news.
    driver.receiveEnd()
    driver.transportFailed(() => closedEarly(driver))
  }

  /** The first failure wins. */
  failed (error: ShsError): void {
    this.#idle?.stop()
    this.#failure ??= error
    const waiting = this.#waiting
    this.#waiting = undefined
    waiting?.reject(error)
    this.#driver?.transportFailed(error)
  }

  // --- the handshake's transport ---------------------------------------------------------------

  /** What the shared handshake driver reads from and writes to. */
  readonly handshake: HandshakeTransport = {
    read: (length) => {
      const message = this.#pending.take(length)
      if (message !== undefined) return message
      if (this.#failure !== undefined) throw this.#failure
      if (this.#ended) return undefined
      return new Promise((resolve, reject) => { this.#waiting = { length, resolve, reject } })
    },
    write: (bytes) => { this.#sendSliced(bytes).catch((err: unknown) => { this.failed(connectionBroke(err)) }) },
    abort: () => {
      this.#idle?.stop()
      this.#socket.terminate()
    }
  }

  /** The handshake completed: the secure stream takes the channel over, with what came after the last message. */
  secure (session: SessionKeys): SecureStream {
    const driver = new SecureStreamDriver(session)
    driver.attach(this.#streamTransport())
    this.#driver = driver
    for (const chunk of this.#pending.drain()) driver.receive(chunk)
    if (this.#failure !== undefined) {
      driver.transportFailed(this.#failure)
    } else if (this.#ended) {
      // It closed while the handshake finished: the end reaches the stream now.
      driver.receiveEnd()
      driver.transportFailed(() => closedEarly(driver))
    }
    return driver
  }

  #streamTransport (): StreamTransport {
    const socket = this.#socket
    return {
      write: (sealed, _buffer, taken) => {
        this.#sendSliced(sealed).then(taken, (err: unknown) => { this.failed(connectionBroke(err)) })
      },
      writeLast: async (sealed) => { await this.#sendSliced(sealed) },
      // A WebSocket cannot be half-closed: the close handshake once both goodbyes are exchanged,
      // cut short if the peer never answers it.
      close: () => {
        this.#idle?.stop()
        if (this.#ended) return
        socket.close()
        this.#linger = setTimeout(() => { socket.terminate() }, FINISHED_LINGER_MS)
        // The connection is over: the linger must not keep the process alive.
        ;(this.#linger as { unref?: () => void }).unref?.()
      },
      destroy: () => {
        this.#idle?.stop()
        socket.terminate()
      },
      pause: () => {
        this.#paused = true
        this.#unreadWhilePaused = 0
        socket.pause()
      },
      resume: () => {
        this.#paused = false
        socket.resume()
      }
    }
  }

  /**
   * Sends `bytes` as messages of at most SEND_SLICE_BYTES, all handed to the socket at once, so
   * two sends never interleave their slices; resolves once the socket took the last one.
   */
  async #sendSliced (bytes: Uint8Array): Promise<void> {
    if (this.#ended || this.#failure !== undefined) throw new ConnectionError('the WebSocket closed while we were still writing: the peer hung up')
    this.#idle?.touch()
    const sent: Array<Promise<void>> = []
    for (let offset = 0; offset < bytes.byteLength; offset += SEND_SLICE_BYTES) {
      sent.push(this.#socket.send(bytes.subarray(offset, offset + SEND_SLICE_BYTES)))
    }
    await Promise.all(sent)
  }

  #serveRead (): void {
    const waiting = this.#waiting
    if (waiting === undefined) return
    const message = this.#pending.take(waiting.length)
    if (message !== undefined || this.#ended) {
      this.#waiting = undefined
      waiting.resolve(message)
    }
  }
}

function closedEarly (driver: SecureStreamDriver): ConnectionError {
  if (driver.box.reading === 'ended') {
    return new ConnectionError('the peer closed the WebSocket after its goodbye while we were still writing: ' +
      'it does not wait for ours (multiserver\'s ws plugin closes as soon as its own side ends)')
  }
  return new ConnectionError('the WebSocket closed before the peer\'s goodbye: the peer crashed or the network failed')
}
