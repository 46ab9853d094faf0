/**
 * WebSocket server: every WebSocket client runs the server handshake over binary messages, as
 * multiserver's ws plugin serves SHS; `wss:` when given a certificate and key. The application's
 * callbacks are contained and the hostile-load guard (admission, hello deadline, connection caps,
 * idle timeout) applies exactly as in `listen()`: the same two pieces serve both.
 */
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { setMaxListeners } from 'node:events'
import { asKeyPair, asNetworkKey } from '../crypto/keys.ts'
import { ConnectionError, ShsError } from '../errors.ts'
import { ListenGuard } from '../net/listen-guard.ts'
import { ContainedCallbacks, type OnStream, type RemoteAddress, type ServerOptions } from '../net/server-callbacks.ts'
import { checkTimeout } from '../options.ts'
import { serverHandshake } from '../stream/handshake.ts'
import { MAX_MESSAGE_BYTES, type WebSocketDuplexOptions, webSocketDuplex } from './duplex.ts'

/** Where a WebSocket client comes from: the address of its TCP connection. */
export type WebSocketRemote = RemoteAddress

/** `listen()`'s options (see ServerOptions), plus the certificate for `wss:` and the WebSocket's own. */
export interface WebSocketListenOptions extends ServerOptions, WebSocketDuplexOptions {
  /** PEM certificate and key: serve `wss:` instead of `ws:`. */
  cert?: string | Uint8Array
  key?: string | Uint8Array
}

export interface WebSocketListener {
  address (): { host: string, port: number, secure: boolean }
  /** Stops accepting and aborts handshakes in progress; streams already handed out live on. */
  stopAccepting (): void
  /** Stops accepting and closes every connection, handshaking or not. */
  close (): Promise<void>
}

const DEFAULT_HOST = '127.0.0.1'

export async function listenWebSocket (options: WebSocketListenOptions, onStream: OnStream<WebSocketRemote>): Promise<WebSocketListener> {
  // Every option is checked here, once: a bad one fails this call, not each connection later.
  asKeyPair(options.keys)
  asNetworkKey(options.networkKey)
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TypeError('wss needs both cert and key (PEM); pass neither for plain ws')
  }
  const timeout = checkTimeout(options.timeout)
  const callbacks = new ContainedCallbacks(options, onStream)
  const closing = new AbortController()
  // Every handshake in progress listens on this one signal; hundreds at once is normal here.
  setMaxListeners(Infinity, closing.signal)
  const guard = new ListenGuard(options, closing.signal)
  const secure = options.cert !== undefined
  const server = secure
    ? https.createServer({ cert: options.cert as string, key: options.key as string })
    : http.createServer()
  const sockets = new Set<WebSocket>()
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES })
  wss.on('connection', (socket, request) => {
    socket.on('error', ignoreReportedElsewhere)
    const remote = { host: request.socket.remoteAddress ?? '?', port: request.socket.remotePort ?? 0 }
    const admitted = callbacks.connection(remote) ?? guard.admit(remote.host, timeout)
    if (admitted instanceof ShsError) {
      socket.terminate()
      callbacks.handshakeError(admitted, remote)
      return
    }
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    const { authorize, onHandshakeProgress } = callbacks
    serverHandshake(webSocketDuplex(socket, { pingInterval: options.pingInterval }), {
      keys: options.keys,
      networkKey: options.networkKey,
      timeout,
      signal: admitted.abortSignal(),
      // The guard checks the connection caps first; then the application decides.
      authorize: async (publicKey) => await admitted.authorize(publicKey, async () =>
        authorize === undefined ? true : await authorize(publicKey, remote)),
      onHandshakeProgress: (progress) => {
        admitted.progress(progress)
        onHandshakeProgress?.(progress, remote)
      }
    }).then(
      (stream) => { callbacks.deliver(admitted.established(request.socket, stream), remote) },
      (err: unknown) => {
        socket.terminate()
        const error = err instanceof ShsError ? err : new ConnectionError(String(err), { cause: err })
        callbacks.handshakeError(admitted.failed(error), remote)
      })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new ConnectionError(`could not listen for WebSockets on ${options.host ?? DEFAULT_HOST}:${options.port} ` +
        `(${err.code ?? err.message}): ${err.code === 'EADDRINUSE' ? 'the port is taken; pick another' : 'check the host and port'}`, { cause: err }))
    })
    server.listen(options.port, options.host ?? DEFAULT_HOST, () => { server.removeAllListeners('error'); resolve() })
  })
  server.on('error', ignoreReportedElsewhere)
  const bound = server.address() as AddressInfo
  return {
    address: () => ({ host: bound.address, port: bound.port, secure }),
    stopAccepting: () => {
      closing.abort()
      server.close()
    },
    close: async () => {
      closing.abort()
      for (const socket of sockets) socket.terminate()
      await new Promise<void>((resolve) => { wss.close(() => { resolve() }) })
      if (server.listening) await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

function ignoreReportedElsewhere (): void {}
