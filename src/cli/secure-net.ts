/**
 * What the commands add to the library's connect() and listen(): a name for each connection in
 * log lines (`#N` and the peer's address), the --verbose stage lines with their timing, and the
 * CLI's wording where the library's would name API options instead of flags.
 */
import {
  HandshakeTimeoutError, type HandshakeProgress, type KeyPair, type MessageName, type RemoteAddress as Peer,
  type SecureStream, type ShsError, DEFAULT_MAX_PENDING_HANDSHAKES, connect, listen
} from '../index.ts'
import { type HostPort, type RemoteAddress, formatHostPort } from './address.ts'
import { formatId } from './identity.ts'
import type { Log, StageTimer } from './log.ts'
import { CliError } from './errors/cli-error.ts'
import { EXIT } from './exit-codes.ts'

export interface Identity {
  keys: KeyPair
  networkKey: Uint8Array
}

/** What --verbose says as each message goes out or comes in verified; event and message also tell the side. */
const STAGE_TEXT: Readonly<Record<HandshakeProgress['event'], Readonly<Record<MessageName, string>>>> = {
  sent: {
    clientHello: 'sent hello (message 1)',
    serverHello: 'sent hello (message 2)',
    clientAuth: 'sent client authentication (message 3)',
    serverAccept: 'sent server accept (message 4)'
  },
  received: {
    clientHello: 'received client hello (message 1)',
    serverHello: 'received server hello (message 2)',
    clientAuth: 'received client authentication (message 3)',
    serverAccept: 'received server accept (message 4)'
  }
}

function stageText (progress: HandshakeProgress): string {
  return STAGE_TEXT[progress.event][progress.message]
}

export interface DialOptions extends Identity {
  /** Milliseconds for the TCP connection and the handshake together. */
  timeout: number
  log: Log
  /** Names the connection in verbose lines (several run at once with --local). */
  label: string
}

export async function dial (address: RemoteAddress, options: DialOptions): Promise<SecureStream> {
  const where = formatHostPort(address)
  const timer = options.log.timer(options.label)
  timer.stage(`connecting to ${where}`)
  let tcpConnected = false
  let stream: SecureStream
  try {
    stream = await connect({
      host: address.host,
      port: address.port,
      keys: options.keys,
      networkKey: options.networkKey,
      remotePublicKey: address.remotePublicKey,
      timeout: options.timeout,
      onHandshakeProgress: (progress) => {
        // The client writes its hello the moment TCP connects, so the first event marks both.
        if (!tcpConnected) timer.stage('tcp connected')
        tcpConnected = true
        timer.stage(stageText(progress))
      }
    })
  } catch (err) {
    // The library words a stalled TCP connect as a stalled handshake; no SHS peer was even reached.
    if (err instanceof HandshakeTimeoutError && !tcpConnected) {
      throw new CliError(EXIT.TIMEOUT, `could not connect to ${where} within ${options.timeout} ms: ` +
        'the host may be down or a firewall drops packets; check the address or raise --timeout', { cause: err })
    }
    throw err
  }
  timer.stage(`handshake complete: the server proved it is ${formatId(stream.remotePublicKey)}`)
  return stream
}

/**
 * Handshakes in progress at once (the library's default, named here so our message can quote
 * it): beyond it, connections are closed unread, so a flood of silent clients costs bounded
 * memory until --timeout drops them.
 */
export const MAX_PENDING_HANDSHAKES = DEFAULT_MAX_PENDING_HANDSHAKES

export interface ServeOptions extends Identity {
  address: HostPort
  timeout: number
  /** Decides on each client after it proved its key (shs1.md: before message 4 is sent). */
  authorize: (publicKey: Uint8Array, connection: ConnectionInfo) => boolean | Promise<boolean>
  log: Log
  /** A client completed the handshake and was authorized. */
  onStream: (stream: SecureStream, connection: ConnectionInfo) => void
  /** A connection that did not become a stream: refused, invalid, timed out, hung up, or aborted by us. */
  onHandshakeError: (error: ShsError, connection: ConnectionInfo) => void
}

export interface ConnectionInfo {
  /** `HOST:PORT` of the peer, for log lines. */
  peer: string
  /** `#N`, numbering connections in the order they were first heard from. */
  label: string
}

export interface SecureServer {
  address: HostPort
  /** Stops accepting and aborts handshakes in progress; streams already handed out live on. */
  stopAccepting (): void
  /** Also destroys every connection this server accepted; resolves once all are closed. */
  close (): Promise<void>
}

export async function serve (options: ServeOptions): Promise<SecureServer> {
  const connections = new Connections(options.log)
  const listener = await listen({
    host: options.address.host,
    port: options.address.port,
    keys: options.keys,
    networkKey: options.networkKey,
    timeout: options.timeout,
    maxPendingHandshakes: MAX_PENDING_HANDSHAKES,
    onConnection: (peer) => { connections.accepted(peer) },
    authorize: async (publicKey, peer) => await options.authorize(publicKey, connections.get(peer).info),
    onHandshakeProgress: (progress, peer) => { connections.get(peer).timer.stage(stageText(progress)) },
    onHandshakeError: (err, peer) => { options.onHandshakeError(err, connections.done(peer).info) }
  }, (stream, peer) => {
    const { info, timer } = connections.done(peer)
    timer.stage(`handshake complete: client is ${formatId(stream.remotePublicKey)}`)
    options.onStream(stream, info)
  })
  return {
    address: listener.address(),
    stopAccepting: () => { listener.stopAccepting() },
    close: async () => { await listener.close() }
  }
}

interface Tracked {
  readonly info: ConnectionInfo
  readonly timer: StageTimer
}

/**
 * Gives each connection a label and a stopwatch from the moment it is accepted. listen() passes
 * the same address object to every callback about one connection, so it identifies the
 * connection until its handshake ends either way.
 */
class Connections {
  readonly #log: Log
  readonly #inHandshake = new Map<Peer, Tracked>()
  #count = 0

  constructor (log: Log) {
    this.#log = log
  }

  accepted (peer: Peer): void {
    this.#count++
    const label = `#${this.#count}`
    const tracked: Tracked = { info: { peer: formatHostPort(peer), label }, timer: this.#log.timer(label) }
    this.#inHandshake.set(peer, tracked)
    tracked.timer.stage(`connection from ${tracked.info.peer}`)
  }

  get (peer: Peer): Tracked {
    const tracked = this.#inHandshake.get(peer)
    if (tracked === undefined) throw new Error(`shs internal error: no record of the connection from ${formatHostPort(peer)}`)
    return tracked
  }

  /** The handshake ended, as a stream or as a failure: forget the connection. */
  done (peer: Peer): Tracked {
    const tracked = this.get(peer)
    this.#inHandshake.delete(peer)
    return tracked
  }
}
