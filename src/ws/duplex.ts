/**
 * A WebSocket as an it-pipe byte duplex, the way multiserver's ws plugin (pull-websocket)
 * carries SHS: every write is one binary message, and the reader treats the messages as one
 * byte stream, whatever their boundaries.
 */
import type { WebSocket } from 'ws'
import { ConnectionError } from '../errors.ts'
import type { ByteDuplex } from '../stream/types.ts'

/** Messages queued before we pause the socket, so a slow reader bounds what a fast peer makes us hold. */
const QUEUE_HIGH_WATER = 16
/**
 * The largest message we accept (the ws package's default is 100 MiB). Box-stream peers send a
 * packet or a few per message (multiserver sends each header and body apart), so this is
 * plenty, and with the queue above bounds what one peer can make us hold to 4 MiB.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024
/** We send at most this much per message, well under what any peer accepts. */
const SEND_SLICE_BYTES = 64 * 1024

export interface WebSocketDuplexOptions {
  /**
   * Milliseconds between WebSocket pings (default: none). Browsers and proxies close idle
   * WebSockets (ssb-browser-core saw about 30 s); a ping keeps them open, and a peer that did
   * not answer the previous ping by the next one is dropped as dead.
   */
  pingInterval?: number | undefined
}

export function webSocketDuplex (socket: WebSocket, options: WebSocketDuplexOptions = {}): ByteDuplex {
  const queue: Uint8Array[] = []
  let ended = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  let sinkDone = false
  /** We stopped reading: the peer's goodbye came (the box stream needs nothing after it), or the socket closed. */
  let readDone = false
  const notify = (): void => { wake?.(); wake = undefined }

  socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    queue.push(toBytes(data))
    if (queue.length >= QUEUE_HIGH_WATER) socket.pause()
    notify()
  })
  socket.on('close', () => { ended = true; stopPing(); notify() })
  socket.on('error', (err: Error) => {
    failure ??= new ConnectionError(`the WebSocket failed: ${err.message}`, { cause: err })
    notify()
  })
  const stopPing = keepAlive(socket, options.pingInterval, (interval) => {
    failure ??= new ConnectionError(`the peer did not answer a WebSocket ping within ${interval} ms: ` +
      'it or the network between us is gone')
  })

  // Neither side of a WebSocket can be closed alone: close once we are done writing and done reading.
  const closeWhenBothEnded = (): void => {
    if (sinkDone && (ended || readDone)) socket.close()
  }

  async function * source (): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const next = queue.shift()
        if (next !== undefined) {
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

  return {
    source: source(),
    sink: async (chunks: AsyncIterable<Uint8Array>) => {
      for await (const chunk of chunks) {
        for (let offset = 0; offset < chunk.byteLength; offset += SEND_SLICE_BYTES) {
          await send(socket, chunk.subarray(offset, offset + SEND_SLICE_BYTES))
        }
      }
      sinkDone = true
      closeWhenBothEnded()
    },
    abort: () => {
      stopPing()
      socket.terminate()
    }
  }
}

async function send (socket: WebSocket, chunk: Uint8Array): Promise<void> {
  if (socket.readyState !== socket.OPEN) throw new ConnectionError('the WebSocket closed while we were still writing: the peer hung up')
  // Waiting for each message to reach the socket is the backpressure: a slow network slows the writer.
  await new Promise<void>((resolve, reject) => {
    socket.send(chunk, { binary: true }, (err) => {
      if (err === undefined || err === null) resolve()
      else reject(new ConnectionError(`the WebSocket failed while writing: ${err.message}`, { cause: err }))
    })
  })
}

function toBytes (data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data
}

/** Returns the function that stops the pings. */
function keepAlive (socket: WebSocket, interval: number | undefined, onDead: (interval: number) => void): () => void {
  if (interval === undefined) return () => {}
  if (!Number.isFinite(interval) || interval <= 0) {
    throw new RangeError(`pingInterval must be a positive number of milliseconds, got ${String(interval)}`)
  }
  let answered = true
  socket.on('pong', () => { answered = true })
  const timer = setInterval(() => {
    if (!answered) {
      onDead(interval)
      socket.terminate()
      return
    }
    answered = false
    socket.ping()
  }, interval)
  return () => { clearInterval(timer) }
}
