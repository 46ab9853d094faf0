/**
 * WebSocket server: every WebSocket client runs the server handshake over binary messages, as
 * multiserver's ws plugin serves SHS; `wss:` when given a certificate and key. The application's
 * callbacks are contained and the hostile-load guard (admission, hello deadline, connection caps,
 * idle timeout) applies as in `listen()`, from the TCP accept on: the HTTP upgrade request is
 * part of what the hello deadline bounds (upgrade-admission.ts).
 */
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { createSecureContext } from 'node:tls'
import { WebSocketServer, type WebSocket } from 'ws'
import { setMaxListeners } from 'node:events'
import { asKeyPair, asNetworkKey } from '../crypto/keys.ts'
import { ConnectionError, InvalidOptionError, ShsError } from '../errors.ts'
import { AcceptErrors } from '../net/accept-errors.ts'
import { DEFAULT_HOST, type ListenerStats, NO_REMOTE, listening } from '../net/listen.ts'
import { ListenGuard } from '../net/listen-guard.ts'
import { ContainedCallbacks, type OnStream, type RemoteAddress, type ServerOptions } from '../net/server-callbacks.ts'
import { checkHost, checkOptions, checkPort, checkTimeout, describeValue } from '../options.ts'
import { checkRekeyOption } from '../handshake/rekey-options.ts'
import { acceptWebSocket } from './accept.ts'
import { type AdmittedUpgrade, UpgradeAdmission } from './upgrade-admission.ts'
import { MAX_MESSAGE_BYTES, type WebSocketOptions, checkWebSocketOptions } from './node-socket.ts'

/** Where a WebSocket client comes from: the address of its TCP connection. */
export type WebSocketRemote = RemoteAddress

/** `listen()`'s options (see ServerOptions), plus the certificate for `wss:` and the WebSocket's own. */
export interface WebSocketListenOptions extends ServerOptions, Pick<WebSocketOptions, 'pingInterval'> {
  /** PEM certificate and key: serve `wss:` instead of `ws:`. */
  cert?: string | Uint8Array
  key?: string | Uint8Array
}

export interface WebSocketListener {
  address (): { host: string, port: number, secure: boolean }
  /** As `listen()`'s: handshakes pending (from the TCP accept on) and accept errors. */
  stats (): ListenerStats
  /** Stops accepting and aborts handshakes in progress; streams already handed out live on. */
  stopAccepting (): void
  /** Stops accepting and closes every connection, handshaking or not. */
  close (): Promise<void>
}

export async function listenWebSocket (options: WebSocketListenOptions, onStream: OnStream<WebSocketRemote>): Promise<WebSocketListener> {
  // Every option is checked here, once: a bad one fails this call, not each connection later.
  checkOptions(options)
  const port = checkPort(options.port, 'port', true)
  const host = checkHost(options.host, 'host', DEFAULT_HOST)
  asKeyPair(options.keys)
  asNetworkKey(options.networkKey)
  const tls = checkCertificate(options)
  const { pingInterval } = checkWebSocketOptions({ pingInterval: options.pingInterval })
  const timeout = checkTimeout(options.timeout)
  const rekey = checkRekeyOption(options.rekey)
  const callbacks = new ContainedCallbacks(options, onStream)
  const closing = new AbortController()
  // Every handshake in progress listens on this one signal; hundreds at once is normal here.
  setMaxListeners(Infinity, closing.signal)
  const guard = new ListenGuard(options, closing.signal)
  const server = tls === undefined ? http.createServer() : https.createServer(tls)
  const sockets = new Set<WebSocket>()
  // noServer: the upgrade is ours to hand over, and a server error is ours to report (given the
  // server, ws re-emits its errors on an emitter nobody listens to, which ends the process).
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES })
  // Admission at TCP accept, before a byte of HTTP is read (for wss: before the TLS handshake).
  const admission = new UpgradeAdmission(guard, callbacks)
  server.on('connection', (raw: Socket) => { admission.connection(raw) })
  server.on('request', refuseHttpRequest)
  server.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const admitted = admission.upgrading(request)
    if (admitted === undefined) {
      socket.destroy()
      return
    }
    wss.handleUpgrade(request, socket, head, (websocket) => {
      admission.handOver(admitted)
      accept(websocket, request.socket, admitted)
    })
  })

  function accept (socket: WebSocket, raw: Socket, { remote, guarded, signal }: AdmittedUpgrade): void {
    socket.on('error', ignoreReportedElsewhere)
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    const { authorize, onHandshakeProgress } = callbacks
    acceptWebSocket(socket, {
      pingInterval,
      keys: options.keys,
      networkKey: options.networkKey,
      timeout,
      rekey,
      signal,
      // The guard checks the connection caps first; then the application decides.
      authorize: async (publicKey) => await guarded.authorize(publicKey, async () =>
        authorize === undefined ? true : await authorize(publicKey, remote)),
      onHandshakeProgress: (progress) => {
        guarded.progress(progress)
        onHandshakeProgress?.(progress, remote)
      }
    }).then(
      (stream) => { callbacks.deliver(guarded.established(raw, stream), remote) },
      (err: unknown) => {
        socket.terminate()
        const error = err instanceof ShsError ? err : new ConnectionError(String(err), { cause: err })
        callbacks.handshakeError(guarded.failed(error), remote)
      })
  }

  try {
    await listening(server, port, host)
  } catch (err) {
    wss.close()
    throw err
  }
  // Once listening, every server error is a failure to accept: onError hears of it, as for listen().
  const acceptErrors = new AcceptErrors((error) => { callbacks.error(error, NO_REMOTE) })
  server.on('error', acceptErrors.serverError)
  acceptErrors.start()
  const bound = server.address() as AddressInfo
  const stopAccepting = (): void => {
    closing.abort()
    acceptErrors.stop()
    if (server.listening) server.close()
  }
  const serverClosed = new Promise<void>((resolve) => { server.once('close', resolve) })
  return {
    address: () => ({ host: bound.address, port: bound.port, secure: tls !== undefined }),
    stats: () => ({ pendingHandshakes: guard.pending, acceptErrors: acceptErrors.count }),
    stopAccepting,
    close: async () => {
      stopAccepting()
      for (const socket of sockets) socket.terminate()
      // Connections still in their HTTP stage (no upgrade yet) close with the server.
      server.closeAllConnections()
      await new Promise<void>((resolve) => { wss.close(() => { resolve() }) })
      await serverClosed
    }
  }
}

/** `cert` and `key` for wss, both or neither, each a PEM that TLS accepts together with the other. */
function checkCertificate (options: WebSocketListenOptions): { cert: string | Buffer, key: string | Buffer } | undefined {
  const { cert, key } = options
  if (cert === undefined && key === undefined) return undefined
  for (const [name, value, other] of [['cert', cert, 'key'], ['key', key, 'cert']] as const) {
    if (value === undefined) {
      throw new InvalidOptionError(other, `wss needs both cert and key (PEM); ${other} was given without ${name} (pass neither for plain ws)`)
    }
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
      throw new InvalidOptionError(name, `${name} must be PEM text or bytes, got ${describeValue(value)}`)
    }
  }
  // Node's TLS types say Buffer; any Uint8Array works the same.
  const tls = { cert: cert as string | Buffer, key: key as string | Buffer }
  try {
    createSecureContext(tls)
  } catch (err) {
    throw new InvalidOptionError('cert', `cert and key are not a PEM certificate and its private key (${(err as Error).message}): ` +
      'check that both files are PEM and belong together')
  }
  return tls
}

/**
 * A plain HTTP request (not an upgrade) gets 426 and the connection closes: it holds no slot
 * beyond its answer.
 */
function refuseHttpRequest (_request: http.IncomingMessage, response: http.ServerResponse): void {
  response.writeHead(HTTP_UPGRADE_REQUIRED, { connection: 'close', upgrade: 'websocket' })
  response.end()
}

/** RFC 9110, 15.5.22: the server refuses the request in the current protocol. */
const HTTP_UPGRADE_REQUIRED = 426

function ignoreReportedElsewhere (): void {}
