/**
 * SHS over the browser's own `WebSocket` (the WHATWG API; tested in Chromium): the client. The
 * framing is the one the `ws` adapter uses in Node (./message-channel.ts).
 */
import { ConnectionError } from '../errors.ts'
import { SecretHandshake } from '../handshake/machine.ts'
import { checkRekeyOption } from '../handshake/rekey-options.ts'
import { withRekeyFallback } from '../driver/rekey-fallback.ts'
import { checkCallback, checkOptions, checkSignal, checkTimeout, optionalDuration } from '../options.ts'
import { acceptEveryone, runHandshake, withDeadline, wipingOnFailure } from '../driver/handshake.ts'
import type { Deadline } from '../driver/deadline.ts'
import type { ClientHandshakeOptions, SecureStream } from '../driver/types.ts'
import { MessageChannel } from './message-channel.ts'
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

export interface BrowserWebSocketOptions {
  /** Milliseconds without a message either way before the connection ends with ERR_SHS_IDLE_TIMEOUT (default: no limit). */
  idleTimeout?: number | undefined
}

/** The browser's WebSocket as a message channel: its events wired in. */
function browserWebSocketChannel (socket: WebSocket, idleTimeout: number | undefined): MessageChannel {
  socket.binaryType = 'arraybuffer'
  const channel = new MessageChannel({
    send: async (chunk) => {
      if (socket.readyState !== WebSocket.OPEN) throw new ConnectionError('the WebSocket closed while we were still writing: the peer hung up')
      // Queued at once, before any wait: the channel relies on the order of the calls.
      socket.send(chunk)
      while (socket.bufferedAmount > SEND_HIGH_WATER_BYTES && socket.readyState === WebSocket.OPEN) {
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS))
      }
    },
    // A browser WebSocket cannot stop reading: the channel bounds what waits unread instead.
    canPause: false,
    pause: () => {},
    resume: () => {},
    close: () => { socket.close() },
    terminate: () => { socket.close() }
  }, { idleTimeout, maxUnreadBytes: MAX_UNREAD_BYTES })
  socket.addEventListener('message', (event: MessageEvent) => {
    if (!(event.data instanceof ArrayBuffer)) {
      channel.failed(new ConnectionError('the peer sent a text WebSocket message: SHS peers send only binary messages'))
      socket.close()
      return
    }
    channel.message(new Uint8Array(event.data))
  })
  socket.addEventListener('close', () => { channel.closed() })
  socket.addEventListener('error', () => {
    // Browsers give no reason for a WebSocket error, on purpose.
    channel.failed(new ConnectionError('the WebSocket failed (the browser tells no more; its console may)'))
  })
  return channel
}

export interface WebSocketConnectOptions extends ClientHandshakeOptions, BrowserWebSocketOptions {
  /** `ws://HOST:PORT` or `wss://HOST:PORT` (the part of a multiserver address before `~shs:`). */
  url: string
}

/**
 * Opens the browser's WebSocket and runs the client handshake; the timeout covers both (and, with
 * `rekey: 'prefer'` and a server without the extension, the second WebSocket).
 */
export async function connectWebSocket (options: WebSocketConnectOptions): Promise<SecureStream> {
  // Checked at the call, before the socket opens: a bad option never costs a connection.
  const { keys, networkKey, remotePublicKey } = checkOptions(options)
  const url = checkWebSocketUrl(options.url)
  const idleTimeout = optionalDuration(options.idleTimeout, 'idleTimeout')
  const timeout = checkTimeout(options.timeout)
  const signal = checkSignal(options.signal)
  const onProgress = checkCallback(options.onHandshakeProgress, 'onHandshakeProgress')
  const init = { keys, networkKey, remotePublicKey, earlyData: options.earlyData }
  const rekey = checkRekeyOption(options.rekey)
  const first = SecretHandshake.client({ ...init, rekey })
  return await withDeadline({ timeout, signal }, async (deadline) => await withRekeyFallback(rekey, timeout, first, () => SecretHandshake.client(init),
    async (machine, helloWait) => await wipingOnFailure(machine, (async () => {
      const channel = browserWebSocketChannel(await openSocket(url, deadline), idleTimeout)
      return channel.secure(await runHandshake(channel.handshake, machine, deadline, acceptEveryone, onProgress, helloWait))
    })())))
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
