/** A WebSocket of the `ws` package (Node) as a message channel: its events wired in, and pings if asked. */
import type { WebSocket } from 'ws'
import { ConnectionError, InvalidOptionError } from '../errors.ts'
import { checkOptions, describeValue, optionalDuration } from '../options.ts'
import { MessageChannel } from './message-channel.ts'

/**
 * The largest message we accept (the ws package's default is 100 MiB). Box-stream peers send a
 * packet or a few per message (multiserver sends each header and body apart), so this is plenty.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024

export interface WebSocketOptions {
  /**
   * Milliseconds between WebSocket pings (default: none). Browsers and proxies close idle
   * WebSockets (ssb-browser-core saw about 30 s); a ping keeps them open, and a peer that did
   * not answer the previous ping by the next one is dropped as dead.
   */
  pingInterval?: number | undefined
  /**
   * Milliseconds without a message either way (pings do not count) before the connection ends
   * with ERR_SHS_IDLE_TIMEOUT (default: no limit). It counts from when the WebSocket opened.
   */
  idleTimeout?: number | undefined
}

/** Checks the options of a WebSocket connection, at the call that takes them. */
export function checkWebSocketOptions (options: WebSocketOptions | undefined): { pingInterval: number | undefined, idleTimeout: number | undefined } {
  const given = checkOptions(options)
  return { pingInterval: optionalDuration(given.pingInterval, 'pingInterval'), idleTimeout: optionalDuration(given.idleTimeout, 'idleTimeout') }
}

/** An open WebSocket of the `ws` package (or one with its methods). */
export function checkSocket (socket: unknown): asserts socket is WebSocket {
  const candidate = socket as Partial<WebSocket> | null
  if (typeof socket !== 'object' || candidate === null || typeof candidate.send !== 'function' ||
      typeof candidate.on !== 'function' || typeof candidate.terminate !== 'function') {
    throw new InvalidOptionError('socket', `a WebSocket of the ws package is needed, got ${describeValue(socket)}`)
  }
}

export function nodeWebSocketChannel (socket: WebSocket, options: { pingInterval: number | undefined, idleTimeout: number | undefined }): MessageChannel {
  let stopPing = (): void => {}
  const channel = new MessageChannel({
    send: async (chunk) => {
      // Waiting for each message to reach the socket is the backpressure: a slow network slows the writer.
      await new Promise<void>((resolve, reject) => {
        socket.send(chunk, { binary: true }, (err) => {
          if (err === undefined || err === null) resolve()
          else reject(new ConnectionError(`the WebSocket failed while writing: ${err.message}`, { cause: err }))
        })
      })
    },
    canPause: true,
    pause: () => { socket.pause() },
    resume: () => { socket.resume() },
    close: () => { socket.close() },
    terminate: () => { stopPing(); socket.terminate() }
  }, { idleTimeout: options.idleTimeout })
  socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    if (!isBinary) {
      channel.failed(new ConnectionError('the peer sent a text WebSocket message: SHS peers send only binary messages'))
      socket.terminate()
      return
    }
    channel.message(toBytes(data))
  })
  socket.on('close', () => { stopPing(); channel.closed() })
  socket.on('error', (err: Error) => {
    channel.failed(new ConnectionError(`the WebSocket failed: ${err.message === '' ? err.name : err.message}`, { cause: err }))
  })
  const pingInterval = options.pingInterval
  if (pingInterval !== undefined) {
    stopPing = keepAlive(socket, pingInterval, () => {
      channel.failed(new ConnectionError(`the peer did not answer a WebSocket ping within ${pingInterval} ms: ` +
        'it or the network between us is gone'))
    })
  }
  return channel
}

function toBytes (data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data
}

/** Returns the function that stops the pings. */
function keepAlive (socket: WebSocket, interval: number, onDead: () => void): () => void {
  let answered = true
  socket.on('pong', () => { answered = true })
  const timer = setInterval(() => {
    // A socket closing or closed cannot be pinged (ws throws); its 'close' stops the pings.
    if (socket.readyState !== socket.OPEN) return
    if (!answered) {
      onDead()
      socket.terminate()
      return
    }
    answered = false
    socket.ping()
  }, interval)
  return () => { clearInterval(timer) }
}
