/**
 * TCP server: every accepted socket runs the server handshake; only authorized clients reach
 * `onStream`. Refused or failed connections are closed without a word to the peer.
 *
 * The application's callbacks are contained: whatever one throws or rejects closes that one
 * connection, is reported as a `CallbackError` naming the callback (its `cause` is what was
 * thrown), and the server keeps serving. A connection's life here is three steps, each its own
 * function: `admit` (at accept), `handshake`, `deliver` (the stream to `onStream`). What guards a
 * server under hostile load (admission per source and overall, the hello deadline, connection
 * caps, the idle timeout) is `ListenGuard`'s, asked once at `admit` and settled once.
 */
import { setMaxListeners } from 'node:events'
import net from 'node:net'
import { LocalIdentity, asNetworkKey } from '../crypto/keys.ts'
import { ConnectionError, ShsError } from '../errors.ts'
import { SecretHandshake } from '../handshake/machine.ts'
import { checkRekeyOption } from '../handshake/rekey-options.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { checkHost, checkOptions, checkPort, checkTimeout } from '../options.ts'
import { runHandshake, withDeadline } from '../driver/handshake.ts'
import type { Authorize, HandshakeProgress } from '../driver/types.ts'
import { formatHostPort } from './address.ts'
import { type GuardedHandshake, ListenGuard } from './listen-guard.ts'
import { ContainedCallbacks, type OnStream, type RemoteAddress, type ServerOptions } from './server-callbacks.ts'
import { SocketHandshakeTransport } from './socket-handshake.ts'
import { createSocketSecureStream } from './socket-stream.ts'
import { reportedElsewhere } from './tcp.ts'
import { AcceptErrors } from './accept-errors.ts'

export type { RemoteAddress }

/** `listen()`'s options: those of every server here (see ServerOptions); the port is a TCP port. */
export type ListenOptions = ServerOptions

/** What a listener has seen so far. */
export interface ListenerStats {
  /** Handshakes in progress now (admitted, not yet settled). */
  pendingHandshakes: number
  /** Times the server could not accept (out of file descriptors or memory): each went to `onError` as an `AcceptError`. */
  acceptErrors: number
}

/** The "remote" of an accept error: no connection reached us, so there is no peer to name. */
export const NO_REMOTE: Readonly<RemoteAddress> = Object.freeze({ host: '', port: 0 })

export interface Listener {
  address (): { host: string, port: number }
  stats (): ListenerStats
  /** Stops accepting and aborts handshakes in progress; streams already handed out live on. */
  stopAccepting (): void
  /** Stops accepting, aborts handshakes in progress and closes every connection it accepted. */
  close (): Promise<void>
}

/** Servers bind to loopback unless told otherwise: nothing is exposed by accident. */
export const DEFAULT_HOST = '127.0.0.1'

/** Binds `server`; a failure (the port is taken, the address is not ours) is a `ConnectionError` that says what to check. */
export async function listening (server: net.Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new ConnectionError(`could not listen on ${formatHostPort({ host, port })} (${err.code ?? err.message}): ` +
        (err.code === 'EADDRINUSE' ? 'the port is taken; pick another or pass port 0' : 'check the host and port'), { cause: err }))
    })
    server.listen(port, host, () => {
      server.removeAllListeners('error')
      resolve()
    })
  })
}

export async function listen (options: ListenOptions, onStream: OnStream<RemoteAddress>): Promise<Listener> {
  // Every option is checked here, once: a bad one fails this call, not each connection later.
  checkOptions(options)
  const port = checkPort(options.port, 'port', true)
  const host = checkHost(options.host, 'host', DEFAULT_HOST)
  asNetworkKey(options.networkKey)
  const timeout = checkTimeout(options.timeout)
  const rekey = checkRekeyOption(options.rekey)
  const callbacks = new ContainedCallbacks(options, onStream)
  const sockets = new Set<net.Socket>()
  const closing = new AbortController()
  // Every handshake in progress listens on this one signal; hundreds at once is normal here.
  setMaxListeners(Infinity, closing.signal)
  const guard = new ListenGuard(options, closing.signal)
  const acceptErrors = new AcceptErrors((error) => { callbacks.error(error, NO_REMOTE) })
  // The identity (checked keys, Curve25519 secret) serves every handshake; close() wipes it,
  // and so does a failure to listen: it is made last, once nothing else can refuse the call.
  const identity = new LocalIdentity(options.keys)

  // One listener for every socket ('close' comes once): a per-connection closure here would
  // also keep the connection's handshake state reachable for as long as the socket lives.
  const untrack = function (this: net.Socket): void { sockets.delete(this) }

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    const remote: RemoteAddress = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }
    // Failures surface through the handshake and the stream; this keeps them off the process.
    socket.on('error', reportedElsewhere)
    const admitted = admit(remote)
    if (admitted instanceof ShsError) {
      socket.destroy()
      callbacks.handshakeError(admitted, remote)
      return
    }
    sockets.add(socket)
    socket.on('close', untrack)
    handshake(socket, remote, admitted).then((session) => {
      deliver(socket, session, remote, admitted)
    }, (err: ShsError) => {
      socket.destroy()
      callbacks.handshakeError(admitted.failed(err), remote)
    })
  })

  /** At accept: tell the application, and refuse what we cannot take on (the guard's admission). */
  function admit (remote: RemoteAddress): GuardedHandshake | ShsError {
    return callbacks.connection(remote) ?? guard.admit(remote.host, timeout)
  }

  // A function of its own so that the closures that outlive the handshake (the socket's
  // listeners above) do not keep the handshake machine and its buffers reachable.
  async function handshake (socket: net.Socket, remote: RemoteAddress, guarded: GuardedHandshake): Promise<SessionKeys> {
    const machine = SecretHandshake.server({ keys: identity, networkKey: options.networkKey, rekey })
    // The guard checks the connection caps first; then the application decides.
    const authorize: Authorize = (key) => guarded.authorize(key, () =>
      callbacks.authorize === undefined ? true : callbacks.authorize(key, remote))
    const progress = (step: HandshakeProgress): void => {
      guarded.progress(step)
      callbacks.onHandshakeProgress?.(step, remote)
    }
    // The guard stops the handshake (listener closing, hello late) through its deadline.
    return await withDeadline({ timeout }, async (deadline) => {
      guarded.onAbort(() => { deadline.abort() })
      return await runHandshake(new SocketHandshakeTransport(socket), machine, deadline, authorize, progress)
    })
  }

  /** After the handshake: the stream, watched by the guard, goes to `onStream`. */
  function deliver (socket: net.Socket, session: SessionKeys, remote: RemoteAddress, guarded: GuardedHandshake): void {
    callbacks.deliver(guarded.established(socket, createSocketSecureStream(socket, session)), remote)
  }

  try {
    await listening(server, port, host)
  } catch (err) {
    identity.wipe()
    throw err
  }
  server.on('error', acceptErrors.serverError)
  acceptErrors.start()

  // The server's 'close' comes once it stopped listening and every connection it accepted ended.
  const serverClosed = new Promise<void>((resolve) => server.once('close', resolve))
  const stopAccepting = (): void => {
    closing.abort()
    acceptErrors.stop()
    if (server.listening) server.close()
  }

  return {
    address () {
      const address = server.address() as net.AddressInfo
      return { host: address.address, port: address.port }
    },
    stats: () => ({ pendingHandshakes: guard.pending, acceptErrors: acceptErrors.count }),
    stopAccepting,
    async close () {
      stopAccepting()
      for (const socket of sockets) socket.destroy()
      await serverClosed
      // Every handshake has ended with its socket by now: none can still need the key.
      identity.wipe()
    }
  }
}
