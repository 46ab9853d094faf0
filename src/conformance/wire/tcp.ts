/** RawConnection over TCP: one we dial (the server role), or one our listener accepted (the client role). */
import net from 'node:net'
import { formatHostPort } from '../../net/address.ts'
import { PeerConnectError } from '../errors.ts'
import { RawConnection, type Transport, type TransportEvents } from './connection.ts'

export interface HostPort {
  readonly host: string
  readonly port: number
}

function overSocket (socket: net.Socket): RawConnection {
  return new RawConnection((events: TransportEvents): Transport => {
    socket.on('data', events.data)
    // FIN, reset or any error: for a probe, all of them mean "the peer hung up".
    socket.on('end', events.hangUp)
    socket.on('close', events.hangUp)
    socket.on('error', events.hangUp)
    return {
      write: (bytes) => { if (!socket.destroyed && socket.writable) socket.write(bytes) },
      end: () => { if (!socket.destroyed) socket.end() },
      destroy: () => { socket.destroy() },
      pause: () => { socket.pause() },
      resume: () => { socket.resume() }
    }
  })
}

export async function openTcp (target: HostPort, timeout: number): Promise<RawConnection> {
  const where = formatHostPort(target)
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const attempt = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true })
    const timer = setTimeout(() => {
      attempt.destroy()
      reject(new PeerConnectError(`could not connect to ${where} within ${timeout} ms`))
    }, timeout)
    attempt.once('connect', () => {
      clearTimeout(timer)
      attempt.removeAllListeners('error')
      resolve(attempt)
    })
    attempt.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(new PeerConnectError(`could not connect to ${where} (${err.code ?? err.message})`, { cause: err }))
    })
  })
  return overSocket(socket)
}

/** A socket our own listener accepted (the client role, where we play the server). */
export function acceptTcp (socket: net.Socket): RawConnection {
  socket.setNoDelay(true)
  return overSocket(socket)
}
