/**
 * TCP with the secret handshake on top, as the commands need it: the library's handshake over
 * our own sockets, so --verbose can time each stage and listeners can stop accepting after the
 * first stream (the `nc -l` mode).
 */
import net from 'node:net'
import {
  ConnectionError, HandshakeError, type KeyPair, type SecureStream, type ShsError,
  clientHandshake, serverHandshake
} from '../index.ts'
import { socketDuplex } from '../net/socket-duplex.ts'
import { type HostPort, type RemoteAddress, formatHostPort } from './address.ts'
import { formatId } from './identity.ts'
import type { Log, StageTimer } from './log.ts'
import { tapHandshakeStages } from './stage-tap.ts'
import { CliError } from './errors/cli-error.ts'
import { EXIT } from './exit-codes.ts'

export interface Identity {
  keys: KeyPair
  networkKey: Uint8Array
}

export interface DialOptions extends Identity {
  /** Milliseconds for the TCP connection, and again for the handshake. */
  timeout: number
  log: Log
  /** Names the connection in verbose lines (several run at once with --local). */
  label: string
}

export async function dial (address: RemoteAddress, options: DialOptions): Promise<SecureStream> {
  const timer = options.log.timer(options.label)
  timer.stage(`connecting to ${formatHostPort(address)}`)
  const socket = await openSocket(address, options.timeout)
  timer.stage('tcp connected')
  const duplex = options.log.isVerbose ? tapHandshakeStages(socketDuplex(socket), 'client', timer) : socketDuplex(socket)
  const stream = await clientHandshake(duplex, {
    keys: options.keys,
    networkKey: options.networkKey,
    remotePublicKey: address.remotePublicKey,
    timeout: options.timeout
  })
  timer.stage(`handshake complete: the server proved it is ${formatId(stream.remotePublicKey)}`)
  return stream
}

function openSocket (address: HostPort, timeout: number): Promise<net.Socket> {
  const where = formatHostPort(address)
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address.host, port: address.port, allowHalfOpen: true, noDelay: true })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new CliError(EXIT.TIMEOUT, `could not connect to ${where} within ${timeout} ms: ` +
        'the host may be down or a firewall drops packets; check the address or raise --timeout'))
    }, timeout)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.removeAllListeners('error')
      // Later failures reach us through the secure stream; without a listener they would crash the process.
      socket.on('error', noteSocketError)
      resolve(socket)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(new ConnectionError(`could not connect to ${where} (${err.code ?? err.message}): ${explainConnectError(err.code)}`, { cause: err }))
    })
  })
}

/** Socket errors are reported where they surface (the stream or the handshake); nothing more to do here. */
function noteSocketError (): void {}

function explainConnectError (code: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED': return 'nothing is listening there; check the port and that the server runs'
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'the host name does not resolve; check its spelling'
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'the host cannot be reached from this network'
    case 'ETIMEDOUT': return 'the host did not answer; it may be down or behind a firewall'
    default: return 'check the address and the network'
  }
}

export interface ServeOptions extends Identity {
  address: HostPort
  timeout: number
  /** Decides on each client after it proved its key (shs1.md: before message 4 is sent). */
  authorize: (publicKey: Uint8Array, connection: ConnectionInfo) => boolean | Promise<boolean>
  log: Log
  /** A client completed the handshake and was authorized. */
  onStream: (stream: SecureStream, connection: ConnectionInfo) => void
  /** A connection that did not become a stream: refused, invalid, timed out, or hung up. */
  onHandshakeError: (error: ShsError, connection: ConnectionInfo) => void
}

export interface ConnectionInfo {
  /** `HOST:PORT` of the peer, for log lines. */
  peer: string
  /** `#N`, numbering connections in the order they arrived. */
  label: string
}

export interface SecureServer {
  address: HostPort
  /** Stops accepting and drops connections still in their handshake; streams already handed out live on. */
  stopAccepting (): void
  /** Also destroys every connection this server accepted. */
  close (): void
}

/**
 * Handshakes in progress at once (as in the library's listen()): beyond it, connections are
 * closed unread, so a flood of silent clients costs bounded memory until --timeout drops them.
 */
const MAX_PENDING_HANDSHAKES = 256

export async function serve (options: ServeOptions): Promise<SecureServer> {
  const pending = new Set<net.Socket>()
  const accepted = new Set<net.Socket>()
  let count = 0
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    count++
    const connection: ConnectionInfo = {
      peer: formatHostPort({ host: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 }),
      label: `#${count}`
    }
    if (pending.size >= MAX_PENDING_HANDSHAKES) {
      socket.on('error', noteSocketError)
      socket.destroy()
      options.onHandshakeError(new HandshakeError('ERR_SHS_BUSY', `dropped: ${MAX_PENDING_HANDSHAKES} handshakes ` +
        'are already in progress (a flood of slow clients; a lower --timeout drops them sooner)'), connection)
      return
    }
    pending.add(socket)
    // Failures reach us through the handshake or the secure stream; without a listener they would crash the process.
    socket.on('error', noteSocketError)
    socket.once('close', () => { pending.delete(socket); accepted.delete(socket) })
    const timer = options.log.timer(connection.label)
    timer.stage(`connection from ${connection.peer}`)
    handshake(socket, connection, options, timer).then((stream) => {
      pending.delete(socket)
      accepted.add(socket)
      timer.stage(`handshake complete: client is ${formatId(stream.remotePublicKey)}`)
      options.onStream(stream, connection)
    }, (err: ShsError) => {
      pending.delete(socket)
      options.onHandshakeError(err, connection)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = formatHostPort(options.address)
      reject(new ConnectionError(`could not listen on ${where} (${err.code ?? err.message}): ` +
        (err.code === 'EADDRINUSE' ? 'the port is taken; pick another, or port 0 for any free one' : 'check the host and port'), { cause: err }))
    })
    server.listen(options.address.port, options.address.host, () => {
      server.removeAllListeners('error')
      resolve()
    })
  })
  server.on('error', (err: Error) => { options.log.warn(`the listening socket failed: ${err.message}`) })
  const bound = server.address() as net.AddressInfo
  const stopAccepting = (): void => {
    server.close()
    for (const socket of pending) socket.destroy()
  }
  return {
    address: { host: bound.address, port: bound.port },
    stopAccepting,
    close () {
      stopAccepting()
      for (const socket of accepted) socket.destroy()
    }
  }
}

async function handshake (socket: net.Socket, connection: ConnectionInfo, options: ServeOptions, timer: StageTimer): Promise<SecureStream> {
  const duplex = options.log.isVerbose ? tapHandshakeStages(socketDuplex(socket), 'server', timer) : socketDuplex(socket)
  return await serverHandshake(duplex, {
    keys: options.keys,
    networkKey: options.networkKey,
    timeout: options.timeout,
    authorize: async (publicKey) => await options.authorize(publicKey, connection)
  })
}
