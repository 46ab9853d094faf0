/**
 * SHS over the browser's own `WebSocket` (the WHATWG API; tested in Chromium): the duplex and
 * the client. The framing is the one the `ws` adapter uses in Node (./message-duplex.ts).
 */
import { ConnectionError, InvalidOptionError } from '../errors.ts'
import { SecretHandshake } from '../handshake/machine.ts'
import { checkCallback, checkOptions, checkSignal, checkTimeout, describeValue, optionalDuration } from '../options.ts'
import { acceptEveryone, secureDuplex, withDeadline, wipingOnFailure } from '../stream/handshake.ts'
import type { Deadline } from '../stream/deadline.ts'
import type { ByteDuplex, ClientHandshakeOptions, SecureStream } from '../stream/types.ts'
import { messageDuplex } from './message-duplex.ts'
import { checkWebSocketUrl } from './url.ts'

/** Bytes the browser may hold unsent before the writer waits: enough to keep a fast link busy. */
const SEND_HIGH_WATER_BYTES = 1024 * 1024
/** How often a waiting writer looks at `bufferedAmount` again: the browser has no event for it draining. */
const DRAIN_POLL_MS = 5
/**
 * A browser WebSocket cannot stop reading (only Chromium's WebSocketStream can), so instead of
 * pausing we drop a peer that has sent this much more than the application read.
 */
export const MAX_UNREAD_BYTES = 16 * 1024 * 1024

export interface BrowserWebSocketDuplexOptions {
  /** Milliseconds without a message either way before the connection ends with ERR_SHS_IDLE_TIMEOUT (default: no limit). */
  idleTimeout?: number | undefined
}

export function browserWebSocketDuplex (socket: WebSocket, options: BrowserWebSocketDuplexOptions = {}): ByteDuplex {
  if (!(socket instanceof WebSocket)) {
    throw new InvalidOptionError('socket', `browserWebSocketDuplex needs the browser's WebSocket, got ${describeValue(socket)}`)
  }
  const idleTimeout = optionalDuration(checkOptions(options).idleTimeout, 'idleTimeout')
  socket.binaryType = 'arraybuffer'
  const { duplex, events } = messageDuplex({
    send: async (chunk) => {
      socket.send(chunk)
      while (socket.bufferedAmount > SEND_HIGH_WATER_BYTES && socket.readyState === WebSocket.OPEN) {
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS))
      }
    },
    isOpen: () => socket.readyState === WebSocket.OPEN,
    pause: () => {},
    resume: () => {},
    close: () => { socket.close() },
    terminate: () => { socket.close() }
  }, { maxUnreadBytes: MAX_UNREAD_BYTES, idleTimeout })
  socket.addEventListener('message', (event: MessageEvent) => {
    if (!(event.data instanceof ArrayBuffer)) {
      events.failed(new ConnectionError('the peer sent a text WebSocket message: SHS peers send only binary messages'))
      socket.close()
      return
    }
    events.message(new Uint8Array(event.data))
  })
  socket.addEventListener('close', () => { events.closed() })
  socket.addEventListener('error', () => {
    // Browsers give no reason for a WebSocket error, on purpose.
    events.failed(new ConnectionError('the WebSocket failed (the browser tells no more; its console may)'))
  })
  return duplex
}

export interface WebSocketConnectOptions extends ClientHandshakeOptions, BrowserWebSocketDuplexOptions {
  /** `ws://HOST:PORT` or `wss://HOST:PORT` (the part of a multiserver address before `~shs:`). */
  url: string
}

/** Opens the browser's WebSocket and runs the client handshake; the timeout covers both. */
export async function connectWebSocket (options: WebSocketConnectOptions): Promise<SecureStream> {
  // Checked at the call, before the socket opens: a bad option never costs a connection.
  const { keys, networkKey, remotePublicKey } = checkOptions(options)
  const url = checkWebSocketUrl(options.url)
  const idleTimeout = optionalDuration(options.idleTimeout, 'idleTimeout')
  const timeout = checkTimeout(options.timeout)
  const signal = checkSignal(options.signal)
  const onProgress = checkCallback(options.onHandshakeProgress, 'onHandshakeProgress')
  const machine = SecretHandshake.client({ keys, networkKey, remotePublicKey })
  return await wipingOnFailure(machine, withDeadline({ timeout, signal }, async (deadline) => {
    const socket = await openSocket(url, deadline)
    return await secureDuplex(browserWebSocketDuplex(socket, { idleTimeout }), machine, deadline, acceptEveryone, onProgress)
  }))
}

async function openSocket (url: string, deadline: Deadline): Promise<WebSocket> {
  if (deadline.fired) throw deadline.error(`opening the WebSocket ${url}`)
  let socket: WebSocket
  try {
    socket = new WebSocket(url)
  } catch (err) {
    throw new ConnectionError(`could not open the WebSocket ${url}: ${(err as Error).message}`, { cause: err })
  }
  socket.binaryType = 'arraybuffer'
  const opened = new Promise<WebSocket>((resolve, reject) => {
    const onError = (): void => {
      reject(new ConnectionError(`could not open the WebSocket ${url}: check the address, that the server runs, ` +
        'and for wss: that the browser trusts its certificate'))
    }
    socket.addEventListener('open', () => { socket.removeEventListener('error', onError); resolve(socket) }, { once: true })
    socket.addEventListener('error', onError, { once: true })
  })
  try {
    return await deadline.race(opened, () => `opening the WebSocket ${url}`)
  } catch (err) {
    socket.close()
    throw err
  }
}
