/** The one place a TCP connection is opened: the client, the CLI's --forward relay. */
import net from 'node:net'
import { ConnectionError } from '../errors.ts'
import { formatHostPort } from './address.ts'

export interface TcpTarget {
  host: string
  port: number
}

/**
 * Opens a TCP connection (half-open allowed, Nagle off: the box stream batches its own writes).
 * Rejects with a `ConnectionError` whose `cause` is the errno error. A late 'error' after the
 * promise settled is left to whoever owns the socket by then; one is always listened for, so it
 * can never crash the process.
 */
export function openTcpSocket (target: TcpTarget): { socket: net.Socket, connected: Promise<net.Socket> } {
  const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true })
  socket.on('error', reportedElsewhere)
  const connected = new Promise<net.Socket>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new ConnectionError(`could not connect to ${formatHostPort(target)} (${err.code ?? err.message}): ` +
        explainConnectError(err.code), { cause: err }))
    }
    socket.once('connect', () => {
      socket.off('error', onError)
      resolve(socket)
    })
    socket.once('error', onError)
  })
  return { socket, connected }
}

/**
 * Errors reach the owner through the stream or the handshake that uses the socket. Until then
 * this keeps them off the process; the secure stream replaces it with its own listener.
 */
export function reportedElsewhere (): void {}

function explainConnectError (code: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED': return 'nothing is listening there; check the port and that the server runs'
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'the host name does not resolve; check the spelling'
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'the host cannot be reached from this network'
    // Our own shortage, not the server's answer: nothing was sent.
    case 'EMFILE': case 'ENFILE': return 'this process (EMFILE) or the system (ENFILE) has no file descriptor left; close connections or raise the limit (ulimit -n)'
    default: return 'check the address and the network'
  }
}
