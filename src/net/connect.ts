/** TCP client: open a socket, run the client handshake, hand back the secure stream. */
import type net from 'node:net'
import { SecretHandshake } from '../handshake/machine.ts'
import { checkRekeyOption } from '../handshake/rekey-options.ts'
import { withRekeyFallback } from '../driver/rekey-fallback.ts'
import { checkCallback, checkHost, checkOptions, checkPort, checkSignal, checkTimeout } from '../options.ts'
import type { Deadline } from '../driver/deadline.ts'
import { acceptEveryone, runHandshake, withDeadline, wipingOnFailure } from '../driver/handshake.ts'
import type { ClientHandshakeOptions, SecureStream } from '../driver/types.ts'
import { formatHostPort } from './address.ts'
import { checkIdleTimeout, watchIdle } from './idle.ts'
import { SocketHandshakeTransport } from './socket-handshake.ts'
import { createSocketSecureStream } from './socket-stream.ts'
import { openTcpSocket } from './tcp.ts'

export interface ConnectOptions extends ClientHandshakeOptions {
  host: string
  port: number
  /** Milliseconds the established connection may go without a byte either way before it ends with ERR_SHS_IDLE_TIMEOUT (default: no limit). */
  idleTimeout?: number
}

/** Connects to an SHS server. The timeout covers the TCP connection and the handshake together. */
export async function connect (options: ConnectOptions): Promise<SecureStream> {
  // Check every key and option before touching the network, so misuse fails fast and locally.
  const { keys, networkKey, remotePublicKey } = checkOptions(options)
  const host = checkHost(options.host, 'host')
  const port = checkPort(options.port, 'port', false)
  const timeout = checkTimeout(options.timeout)
  const signal = checkSignal(options.signal)
  const onProgress = checkCallback(options.onHandshakeProgress, 'onHandshakeProgress')
  const idleTimeout = checkIdleTimeout(options.idleTimeout)
  const init = { keys, networkKey, remotePublicKey, earlyData: options.earlyData }
  const rekey = checkRekeyOption(options.rekey)
  const first = SecretHandshake.client({ ...init, rekey })
  return await withDeadline({ timeout, signal }, async (deadline) => await withRekeyFallback(rekey, timeout, first, () => SecretHandshake.client(init),
    async (machine, helloWait) => await wipingOnFailure(machine, (async () => {
      const socket = await openSocket(host, port, deadline)
      const session = await runHandshake(new SocketHandshakeTransport(socket), machine, deadline, acceptEveryone, onProgress, helloWait)
      const stream = createSocketSecureStream(socket, session)
      watchIdle(socket, stream, idleTimeout)
      return stream
    })())))
}

async function openSocket (host: string, port: number, deadline: Deadline): Promise<net.Socket> {
  // A signal that fired already: fail without opening a socket at all.
  if (deadline.fired) throw deadline.error(`connecting to ${formatHostPort({ host, port })}`)
  const { socket, connected } = openTcpSocket({ host, port })
  try {
    return await deadline.race(connected, () => `connecting to ${formatHostPort({ host, port })}`)
  } catch (err) {
    socket.destroy()
    throw err
  }
}
