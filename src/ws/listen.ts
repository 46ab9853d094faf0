/**
 * WebSocket server: every WebSocket client runs the server handshake over binary messages, as
 * multiserver's ws plugin serves SHS; `wss:` when given a certificate and key.
 */
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { asKeyPair, asNetworkKey } from '../crypto/keys.ts'
import { ConnectionError, HandshakeError, ShsError } from '../errors.ts'
import { serverHandshake } from '../stream/handshake.ts'
import type { HandshakeProgress, SecureStream, ServerHandshakeOptions } from '../stream/types.ts'
import { MAX_MESSAGE_BYTES, type WebSocketDuplexOptions, webSocketDuplex } from './duplex.ts'

export interface WebSocketRemote {
  host: string
  port: number
}

export interface WebSocketListenOptions extends Omit<ServerHandshakeOptions, 'signal' | 'authorize' | 'onHandshakeProgress'>, WebSocketDuplexOptions {
  /** Interface to bind; default `127.0.0.1`, so nothing is exposed unless asked for. */
  host?: string
  /** Port; 0 picks a free one (read it back with `address()`). */
  port: number
  /** Handshakes allowed in progress at once (default 256); WebSockets beyond it are closed at once, reported as `ERR_SHS_BUSY`. */
  maxPendingHandshakes?: number
  /** PEM certificate and key: serve `wss:` instead of `ws:`. */
  cert?: string | Uint8Array
  key?: string | Uint8Array
  /** Decides on each client after it proved its key; default: accept every client that knows our key. */
  authorize?: (remotePublicKey: Uint8Array, remote: WebSocketRemote) => boolean | Promise<boolean>
  /** Told as each WebSocket is accepted, before its handshake starts. Every callback about one connection gets the same `remote`. */
  onConnection?: (remote: WebSocketRemote) => void
  /** Told about each connection that did not become a stream (refused, timed out, invalid). */
  onHandshakeError?: (error: ShsError, remote: WebSocketRemote) => void
  /** Told as each connection's handshake messages are sent, or received and verified. */
  onHandshakeProgress?: (progress: HandshakeProgress, remote: WebSocketRemote) => void
}

export interface WebSocketListener {
  address (): { host: string, port: number, secure: boolean }
  /** Stops accepting; connections already accepted live on. */
  stopAccepting (): void
  /** Stops accepting and closes every connection, handshaking or not. */
  close (): Promise<void>
}

const DEFAULT_HOST = '127.0.0.1'
const DEFAULT_MAX_PENDING_HANDSHAKES = 256

export async function listenWebSocket (options: WebSocketListenOptions, onStream: (stream: SecureStream, remote: WebSocketRemote) => void): Promise<WebSocketListener> {
  asKeyPair(options.keys)
  asNetworkKey(options.networkKey)
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TypeError('wss needs both cert and key (PEM); pass neither for plain ws')
  }
  const secure = options.cert !== undefined
  const server = secure
    ? https.createServer({ cert: options.cert as string, key: options.key as string })
    : http.createServer()
  const sockets = new Set<WebSocket>()
  const maxPending = options.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES
  let pending = 0
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES })
  wss.on('connection', (socket, request) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', ignoreReportedElsewhere)
    const remote = { host: request.socket.remoteAddress ?? '?', port: request.socket.remotePort ?? 0 }
    options.onConnection?.(remote)
    if (pending >= maxPending) {
      socket.terminate()
      options.onHandshakeError?.(new HandshakeError('ERR_SHS_BUSY', `dropped: ${maxPending} handshakes are already in progress`), remote)
      return
    }
    pending++
    const { authorize, onHandshakeProgress } = options
    serverHandshake(webSocketDuplex(socket, { pingInterval: options.pingInterval }), {
      keys: options.keys,
      networkKey: options.networkKey,
      timeout: options.timeout,
      authorize: authorize === undefined ? undefined : async (publicKey) => await authorize(publicKey, remote),
      onHandshakeProgress: onHandshakeProgress === undefined ? undefined : (progress) => { onHandshakeProgress(progress, remote) }
    }).then(
      (stream) => { pending--; onStream(stream, remote) },
      (err: unknown) => {
        pending--
        const error = err instanceof ShsError ? err : new ConnectionError(String(err), { cause: err })
        options.onHandshakeError?.(error, remote)
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
    stopAccepting: () => { server.close() },
    close: async () => {
      for (const socket of sockets) socket.terminate()
      await new Promise<void>((resolve) => { wss.close(() => { resolve() }) })
      if (server.listening) await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

function ignoreReportedElsewhere (): void {}
