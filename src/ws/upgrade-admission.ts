/**
 * listenWebSocket's admission from the first byte: the guard of `listen()` (admission per source
 * and overall, the hello deadline) decides on each TCP connection as it is accepted, before its
 * HTTP upgrade request is read. A client that sends its upgrade slowly, or never, holds one of
 * its source's handshake slots until the hello deadline, and nothing more (docs/HOSTILE-LOAD.md,
 * "WebSocket servers").
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { AbortError, HandshakeError, ShsError } from '../errors.ts'
import type { GuardedHandshake, ListenGuard } from '../net/listen-guard.ts'
import type { ContainedCallbacks, RemoteAddress } from '../net/server-callbacks.ts'

/** A connection admitted at accept whose WebSocket handshake may now start. */
export interface AdmittedUpgrade {
  readonly remote: RemoteAddress
  readonly guarded: GuardedHandshake
  /** The handshake's stopper (listener closing, hello late): pass it to the handshake. */
  readonly signal: AbortSignal
}

interface Waiting extends AdmittedUpgrade {
  readonly socket: Socket
  readonly stop: () => void
  /** The handshake took the connection over: its outcome reports it, not the socket's close. */
  handedOver: boolean
}

export class UpgradeAdmission {
  readonly #guard: ListenGuard
  readonly #callbacks: ContainedCallbacks<RemoteAddress>
  /**
   * Admitted connections by remote address and port (unique among the live TCP connections of
   * one listening socket): under TLS the upgrade request comes on a TLS socket wrapped around the
   * accepted one, and the address is what both share.
   */
  readonly #waiting = new Map<string, Waiting>()

  constructor (guard: ListenGuard, callbacks: ContainedCallbacks<RemoteAddress>) {
    this.#guard = guard
    this.#callbacks = callbacks
  }

  /** At TCP accept: admit the connection, or close it unread and report the refusal. */
  connection (socket: Socket): void {
    socket.on('error', ignoreReportedElsewhere)
    const remote: RemoteAddress = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }
    // No handshake timeout covers the HTTP stage, so the hello deadline always runs from here.
    const guarded = this.#callbacks.connection(remote) ?? this.#guard.admit(remote.host, undefined)
    if (guarded instanceof ShsError) {
      socket.destroy()
      this.#callbacks.handshakeError(guarded, remote)
      return
    }
    const key = addressKey(socket)
    const signal = guarded.abortSignal()
    const stop = (): void => { socket.destroy() }
    const waiting: Waiting = { socket, remote, guarded, signal, stop, handedOver: false }
    signal.addEventListener('abort', stop, { once: true })
    this.#waiting.set(key, waiting)
    socket.once('close', () => {
      if (this.#waiting.get(key) === waiting) this.#waiting.delete(key)
      if (waiting.handedOver) return
      signal.removeEventListener('abort', stop)
      const error = signal.aborted ? new AbortError('the server stopped accepting before the WebSocket upgrade completed') : closedBeforeUpgrade(remote)
      this.#callbacks.handshakeError(guarded.failed(error), remote)
    })
  }

  /** The upgrade request of an admitted connection (undefined if it was not, or was stopped: close it). */
  upgrading (request: IncomingMessage): AdmittedUpgrade | undefined {
    const waiting = this.#waiting.get(addressKey(request.socket))
    if (waiting === undefined || waiting.signal.aborted) return undefined
    return waiting
  }

  /** The WebSocket is open and its handshake starts: from now on the handshake's outcome is reported. */
  handOver (admitted: AdmittedUpgrade): void {
    const waiting = admitted as Waiting
    waiting.handedOver = true
    waiting.signal.removeEventListener('abort', waiting.stop)
    this.#waiting.delete(addressKey(waiting.socket))
  }
}

function addressKey (socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`
}

function closedBeforeUpgrade (remote: RemoteAddress): HandshakeError {
  return new HandshakeError('ERR_SHS_CLIENT_HUNG_UP', `the connection from ${remote.host} closed before its WebSocket upgrade completed: ` +
    'the client hung up, or sent no valid upgrade request (not a WebSocket client)')
}

function ignoreReportedElsewhere (): void {}
