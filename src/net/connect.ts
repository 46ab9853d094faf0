/** TCP client: open a socket, run the client handshake, hand back the secure stream. */
import net from 'node:net'
import { ConnectionError } from '../errors.ts'
import { SecretHandshake } from '../handshake/machine.ts'
import type { Deadline } from '../stream/deadline.ts'
import { acceptEveryone, runHandshake, withDeadline } from '../stream/handshake.ts'
import type { ClientHandshakeOptions, SecureStream } from '../stream/types.ts'
import { formatHostPort } from './address.ts'
import { checkIdleTimeout, watchIdle } from './idle.ts'
import { SocketHandshakeTransport } from './socket-handshake.ts'
import { createSocketSecureStream } from './socket-stream.ts'

export interface ConnectOptions extends ClientHandshakeOptions {
  host: string
  port: number
  /** Milliseconds the established connection may go without a byte either way before it ends with ERR_SHS_IDLE_TIMEOUT (default: no limit). */
  idleTimeout?: number
}

/** Connects to an SHS server. The timeout covers the TCP connection and the handshake together. */
export async function connect (options: ConnectOptions): Promise<SecureStream> {
  const { keys, networkKey, remotePublicKey, host, port } = options
  // Check every key before touching the network, so misuse fails fast and locally.
  const machine = SecretHandshake.client({ keys, networkKey, remotePublicKey })
  const idleTimeout = checkIdleTimeout(options.idleTimeout)
  return await withDeadline(options, async (deadline) => {
    const socket = await openSocket(host, port, deadline)
    const session = await runHandshake(new SocketHandshakeTransport(socket), machine, deadline, acceptEveryone, options.onHandshakeProgress)
    const stream = createSocketSecureStream(socket, session)
    watchIdle(socket, stream, idleTimeout)
    return stream
  })
}

async function openSocket (host: string, port: number, deadline: Deadline): Promise<net.Socket> {
  const socket = net.connect({ host, port, allowHalfOpen: true, noDelay: true })
  // Failures reach the caller through the handshake and the stream; an 'error' event with no
  // listener would instead crash the process.
  socket.on('error', ignoreReportedElsewhere)
  const connected = new Promise<net.Socket>((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      reject(new ConnectionError(`could not connect to ${formatHostPort({ host, port })} (${err.code ?? err.message}): ` +
        explainConnectError(err.code), { cause: err }))
    })
  })
  try {
    return await deadline.race(connected, () => `connecting to ${formatHostPort({ host, port })}`)
  } catch (err) {
    socket.destroy()
    throw err
  }
}

function ignoreReportedElsewhere (): void {}

function explainConnectError (code: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED': return 'nothing is listening there; check the port and that the server runs'
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'the host name does not resolve; check the spelling'
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'the host cannot be reached from this network'
    default: return 'check the address and the network'
  }
}
