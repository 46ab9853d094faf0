/** WebSocket client: open `ws://` or `wss://`, run the client handshake over binary messages. */
import { performance } from 'node:perf_hooks'
import { WebSocket } from 'ws'
import { ConnectionError } from '../errors.ts'
import { checkTimeout } from '../options.ts'
import { clientHandshake, withDeadline } from '../stream/handshake.ts'
import type { ClientHandshakeOptions, SecureStream } from '../stream/types.ts'
import { MAX_MESSAGE_BYTES, type WebSocketDuplexOptions, webSocketDuplex } from './duplex.ts'

export interface WebSocketConnectOptions extends ClientHandshakeOptions, WebSocketDuplexOptions {
  /** `ws://HOST:PORT` or `wss://HOST:PORT` (the part of a multiserver address before `~shs:`). */
  url: string
  /** For `wss:`: certificate authorities to trust besides the system's (PEM), e.g. a self-signed server certificate. */
  ca?: string | Uint8Array | Array<string | Uint8Array>
}

/** The timeout covers opening the WebSocket and the handshake together. */
export async function connectWebSocket (options: WebSocketConnectOptions): Promise<SecureStream> {
  const { url, ca, pingInterval, ...handshake } = options
  // Checked at the call, before the socket opens: a bad timeout never costs a connection.
  const timeout = checkTimeout(options.timeout)
  const started = performance.now()
  const socket = await withDeadline({ timeout, signal: options.signal }, async (deadline) => await openSocket(url, ca, deadline))
  // What is left of the timeout, in whole milliseconds (timers take integers).
  const left = Math.max(1, Math.floor(timeout - (performance.now() - started)))
  return await clientHandshake(webSocketDuplex(socket, { pingInterval }), { ...handshake, timeout: left })
}

async function openSocket (url: string, ca: WebSocketConnectOptions['ca'], deadline: Parameters<Parameters<typeof withDeadline>[1]>[0]): Promise<WebSocket> {
  const socket = new WebSocket(url, { ca: ca as string | Buffer | Array<string | Buffer> | undefined, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES })
  const opened = new Promise<WebSocket>((resolve, reject) => {
    socket.once('open', () => { socket.off('error', reject); resolve(socket) })
    socket.once('error', (err) => {
      reject(new ConnectionError(`could not open the WebSocket ${url} (${(err as NodeJS.ErrnoException).code ?? err.message}): ` +
        'check the address, that the server runs, and for wss: that its certificate is trusted (ca)', { cause: err }))
    })
  })
  try {
    return await deadline.race(opened, () => `opening the WebSocket ${url}`)
  } catch (err) {
    socket.on('error', ignoreReportedElsewhere)
    socket.terminate()
    throw err
  }
}

function ignoreReportedElsewhere (): void {}
