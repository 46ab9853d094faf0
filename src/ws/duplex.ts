/**
 * A WebSocket of the `ws` package (Node) as an it-pipe byte duplex; the framing is shared with
 * the browser's WebSocket (./message-duplex.ts).
 */
import type { WebSocket } from 'ws'
import { ConnectionError } from '../errors.ts'
import type { ByteDuplex } from '../stream/types.ts'
import { messageDuplex } from './message-duplex.ts'

/**
 * The largest message we accept (the ws package's default is 100 MiB). Box-stream peers send a
 * packet or a few per message (multiserver sends each header and body apart), so this is
 * plenty, and with the reader's queue bounds what one peer can make us hold to 4 MiB.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024

export interface WebSocketDuplexOptions {
  /**
   * Milliseconds between WebSocket pings (default: none). Browsers and proxies close idle
   * WebSockets (ssb-browser-core saw about 30 s); a ping keeps them open, and a peer that did
   * not answer the previous ping by the next one is dropped as dead.
   */
  pingInterval?: number | undefined
}

export function webSocketDuplex (socket: WebSocket, options: WebSocketDuplexOptions = {}): ByteDuplex {
  const { duplex, events } = messageDuplex({
    send: async (chunk) => { await send(socket, chunk) },
    isOpen: () => socket.readyState === socket.OPEN,
    pause: () => { socket.pause() },
    resume: () => { socket.resume() },
    close: () => { socket.close() },
    terminate: () => { stopPing(); socket.terminate() }
  })
  socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => { events.message(toBytes(data)) })
  socket.on('close', () => { stopPing(); events.closed() })
  socket.on('error', (err: Error) => {
    events.failed(new ConnectionError(`the WebSocket failed: ${err.message}`, { cause: err }))
  })
  const stopPing = keepAlive(socket, options.pingInterval, (interval) => {
    events.failed(new ConnectionError(`the peer did not answer a WebSocket ping within ${interval} ms: ` +
      'it or the network between us is gone'))
  })
  return duplex
}

async function send (socket: WebSocket, chunk: Uint8Array): Promise<void> {
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
