/**
 * The part of a WebSocket duplex that does not depend on which WebSocket it is (the `ws`
 * package in Node, the browser's own): multiserver's ws plugin (pull-websocket) carries SHS with
 * every write as one binary message, and the reader treats the messages as one byte stream,
 * whatever their boundaries. An adapter feeds socket events in and gives the few socket calls out.
 */
import { ConnectionError, type ShsError, idleTimeoutError } from '../errors.ts'
import type { ByteDuplex } from '../stream/types.ts'
import { IdleWatch } from './idle-watch.ts'

/** Messages queued before we ask the socket to pause, so a slow reader bounds what a fast peer makes us hold. */
const QUEUE_HIGH_WATER = 16
/** We send at most this much per message, well under what any peer accepts. */
const SEND_SLICE_BYTES = 64 * 1024

/** What the duplex needs from a socket. */
export interface MessageSocket {
  /** Sends one binary message; resolves once the socket took it, which is the writer's backpressure. */
  send (chunk: Uint8Array): Promise<void>
  isOpen (): boolean
  /** Stop and restart reading from the network (a socket that cannot pause bounds its queue itself). */
  pause (): void
  resume (): void
  /** A clean close, once both directions are done. */
  close (): void
  /** A hard stop. */
  terminate (): void
}

/** What the adapter tells the duplex. */
export interface MessageEvents {
  message (bytes: Uint8Array): void
  closed (): void
  /** The first failure wins; the reader throws it once the queued messages are read. */
  failed (error: ShsError): void
}

export interface MessageDuplexOptions {
  /**
   * For a socket that cannot pause (a browser's): the peer is dropped once this many received
   * bytes wait unread, so a fast or hostile peer costs bounded memory.
   */
  maxUnreadBytes?: number
  /** Milliseconds without a message either way before the connection ends with ERR_SHS_IDLE_TIMEOUT (default: no limit). */
  idleTimeout?: number | undefined
}

export function messageDuplex (socket: MessageSocket, options: MessageDuplexOptions = {}): { duplex: ByteDuplex, events: MessageEvents } {
  const queue: Uint8Array[] = []
  let unreadBytes = 0
  const maxUnreadBytes = options.maxUnreadBytes ?? Infinity
  let ended = false
  let failure: ShsError | undefined
  let wake: (() => void) | undefined
  let sinkDone = false
  /** We stopped reading: the peer's goodbye came (the box stream needs nothing after it), or the socket closed. */
  let readDone = false
  const notify = (): void => { wake?.(); wake = undefined }

  // Neither side of a WebSocket can be closed alone: close once we are done writing and done reading.
  const closeWhenBothEnded = (): void => {
    if (sinkDone && (ended || readDone)) socket.close()
  }

  const idle = options.idleTimeout === undefined
    ? undefined
    : new IdleWatch(options.idleTimeout, () => {
        events.failed(idleTimeoutError(options.idleTimeout as number))
        socket.terminate()
      })

  const events: MessageEvents = {
    message (bytes) {
      if (failure !== undefined) return
      idle?.touch()
      unreadBytes += bytes.byteLength
      if (unreadBytes > maxUnreadBytes) {
        events.failed(new ConnectionError(`the peer sent more than ${maxUnreadBytes} bytes that were not read yet: ` +
          'read the stream as it arrives (this WebSocket cannot make the peer wait)'))
        socket.terminate()
        return
      }
      queue.push(bytes)
      if (queue.length >= QUEUE_HIGH_WATER) socket.pause()
      notify()
    },
    closed () { idle?.stop(); ended = true; notify() },
    failed (error) { idle?.stop(); failure ??= error; notify() }
  }

  async function * source (): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const next = queue.shift()
        if (next !== undefined) {
          unreadBytes -= next.byteLength
          if (queue.length < QUEUE_HIGH_WATER / 2) socket.resume()
          yield next
          continue
        }
        if (failure !== undefined) throw failure
        if (ended) return
        await new Promise<void>((resolve) => { wake = resolve })
      }
    } finally {
      readDone = true
      closeWhenBothEnded()
    }
  }

  const duplex: ByteDuplex = {
    source: source(),
    sink: async (chunks: AsyncIterable<Uint8Array>) => {
      for await (const chunk of chunks) {
        for (let offset = 0; offset < chunk.byteLength; offset += SEND_SLICE_BYTES) {
          if (!socket.isOpen()) throw new ConnectionError('the WebSocket closed while we were still writing: the peer hung up')
          idle?.touch()
          await socket.send(chunk.subarray(offset, offset + SEND_SLICE_BYTES))
        }
      }
      sinkDone = true
      closeWhenBothEnded()
    },
    abort: () => { idle?.stop(); socket.terminate() }
  }
  return { duplex, events }
}
