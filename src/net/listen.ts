/**
 * TCP server: every accepted socket runs the server handshake; only authorized clients reach
 * `onStream`. Refused or failed connections are closed without a word to the peer.
 */
import { setMaxListeners } from 'node:events'
import net from 'node:net'
import { asKeyPair, asNetworkKey } from '../crypto/keys.ts'
import { ConnectionError, HandshakeError, type ShsError } from '../errors.ts'
import { SecretHandshake } from '../handshake/machine.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { acceptEveryone, runHandshake, withDeadline } from '../stream/handshake.ts'
import type { Authorize, HandshakeProgress, SecureStream, ServerHandshakeOptions } from '../stream/types.ts'
import { formatHostPort } from './address.ts'
import { type GuardOptions, type GuardedHandshake, ListenGuard } from './listen-guard.ts'
import { SocketHandshakeTransport } from './socket-handshake.ts'
import { createSocketSecureStream } from './socket-stream.ts'

/** Where a connection comes from. Every callback about one connection gets the same object. */
export interface RemoteAddress {
  host: string
  port: number
}

/** The hostile-load options (admission, hello deadline, connection caps, idle timeout) are in GuardOptions; see docs/HOSTILE-LOAD.md. */
export interface ListenOptions extends Omit<ServerHandshakeOptions, 'signal' | 'authorize' | 'onHandshakeProgress'>, GuardOptions {
  /** Interface to bind; default `127.0.0.1`, so nothing is exposed unless asked for. */
  host?: string
  /** TCP port; 0 picks a free one (read it back with `address()`). */
  port: number
  /** Decides on each client after it proved its key; default: accept every client that knows our key. */
  authorize?: (remotePublicKey: Uint8Array, remote: RemoteAddress) => boolean | Promise<boolean>
  /** Told as each TCP connection is accepted, before its handshake starts. */
  onConnection?: (remote: RemoteAddress) => void
  /** Told about each connection that did not become a stream (refused, timed out, invalid). */
  onHandshakeError?: (error: ShsError, remote: RemoteAddress) => void
  /** Told as each connection's handshake messages are sent, or received and verified. */
  onHandshakeProgress?: (progress: HandshakeProgress, remote: RemoteAddress) => void
}

export interface Listener {
  address (): { host: string, port: number }
  /** Stops accepting and aborts handshakes in progress; streams already handed out live on. */
  stopAccepting (): void
  /** Stops accepting, aborts handshakes in progress and closes every connection it accepted. */
  close (): Promise<void>
}

const DEFAULT_HOST = '127.0.0.1'

function ignoreReportedElsewhere (): void {}

export async function listen (options: ListenOptions, onStream: (stream: SecureStream, remote: RemoteAddress) => void): Promise<Listener> {
  asKeyPair(options.keys)
  asNetworkKey(options.networkKey)
  const authorizeClient = options.authorize ?? acceptEveryone
  const onProgress = options.onHandshakeProgress
  const sockets = new Set<net.Socket>()
  const closing = new AbortController()
  // Every handshake in progress listens on this one signal; hundreds at once is normal here.
  setMaxListeners(Infinity, closing.signal)
  const guard = new ListenGuard(options, closing.signal)

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    const remote: RemoteAddress = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }
    options.onConnection?.(remote)
    const guarded = guard.admit(remote.host, options.timeout)
    if (guarded instanceof HandshakeError) {
      socket.on('error', ignoreReportedElsewhere)
      socket.destroy()
      options.onHandshakeError?.(guarded, remote)
      return
    }
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    // Failures surface through the handshake and the stream; this keeps them off the process.
    socket.on('error', ignoreReportedElsewhere)
    acceptHandshake(socket, remote, guarded).then((session) => {
      onStream(guarded.established(socket, createSocketSecureStream(socket, session)), remote)
    }, (err: ShsError) => {
      options.onHandshakeError?.(guarded.failed(err), remote)
    })
  })

  // A function of its own so that the closures that outlive the handshake (the socket's
  // listeners above) do not keep the handshake machine and its buffers reachable.
  async function acceptHandshake (socket: net.Socket, remote: RemoteAddress, guarded: GuardedHandshake): Promise<SessionKeys> {
    const machine = SecretHandshake.server({ keys: options.keys, networkKey: options.networkKey })
    const authorize: Authorize = async (key) => await guarded.authorize(key, async () => await authorizeClient(key, remote))
    const progress = (step: HandshakeProgress): void => { guarded.progress(step); onProgress?.(step, remote) }
    return await withDeadline({ timeout: options.timeout, signal: guarded.signal }, async (deadline) =>
      await runHandshake(new SocketHandshakeTransport(socket), machine, deadline, authorize, progress))
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new ConnectionError(`could not listen on ${formatHostPort({ host: options.host ?? DEFAULT_HOST, port: options.port })} (${err.code ?? err.message}): ` +
        (err.code === 'EADDRINUSE' ? 'the port is taken; pick another or pass port 0' : 'check the host and port'), { cause: err }))
    })
    server.listen(options.port, options.host ?? DEFAULT_HOST, () => {
      server.removeAllListeners('error')
      resolve()
    })
  })
  server.on('error', () => {})

  // The server's 'close' comes once it stopped listening and every connection it accepted ended.
  const serverClosed = new Promise<void>((resolve) => server.once('close', resolve))
  const stopAccepting = (): void => {
    closing.abort()
    if (server.listening) server.close()
  }

  return {
    address () {
      const address = server.address() as net.AddressInfo
      return { host: address.address, port: address.port }
    },
    stopAccepting,
    async close () {
      stopAccepting()
      for (const socket of sockets) socket.destroy()
      await serverClosed
    }
  }
}
