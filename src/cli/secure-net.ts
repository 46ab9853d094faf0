/**
 * What the commands add to the library's connect() and listen(): a name for each connection in
 * log lines (`#N` and the peer's address), the --verbose stage lines with their timing, and the
 * CLI's wording where the library's would name API options instead of flags.
 */
import {
  HandshakeError, HandshakeTimeoutError, type HandshakeProgress, type KeyPair, type MessageName, type RemoteAddress as Peer,
  type SecureStream, type ShsError, connect, listen, listenWebSocket
} from '../index.ts'
import { type DialTarget, type HostPort, formatHostPort } from './address.ts'
import { formatId } from './identity.ts'
import type { Log, StageTimer } from './log.ts'
import { CliError } from './errors/cli-error.ts'
import { serverErrorLogger } from './server-errors.ts'
import { EXIT } from './exit-codes.ts'
import { type RekeyPlan, describeSessionKeys, lacksRequiredRekey, rekeyOption } from './rekey.ts'

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
  /** Milliseconds the established stream may go without a byte either way; undefined for no limit. */
  idleTimeout?: number | undefined
  /** PEM certificate authorities to trust for wss: addresses (besides the system's). */
  ca?: string | undefined
  /** --rekey and its settings. */
  rekey: RekeyPlan
}

export async function dial (target: DialTarget, options: DialOptions): Promise<SecureStream> {
  const where = target.address
  const timer = options.log.timer(options.label)
  timer.stage(`connecting to ${where}`)
  let transportConnected = false
  let stream: SecureStream
  try {
    stream = await connect({
      address: target.address,
      keys: options.keys,
      networkKey: options.networkKey,
      timeout: options.timeout,
      ...(options.idleTimeout === undefined ? {} : { idleTimeout: options.idleTimeout }),
      ca: options.ca,
      rekey: rekeyOption(options.rekey),
      onHandshakeProgress: (progress) => {
        // The client writes its hello the moment the connection opens, so the first event marks both.
        if (!transportConnected) timer.stage(connectedText(target))
        transportConnected = true
        timer.stage(stageText(progress))
      }
    })
  } catch (err) {
    // The library words a stalled connect as a stalled handshake; no SHS peer was even reached.
    if (err instanceof HandshakeTimeoutError && !transportConnected) {
      throw new CliError(EXIT.TIMEOUT, `could not connect to ${where} within ${options.timeout} ms: ` +
        'the host may be down or a firewall drops packets; check the address or raise --timeout', { cause: err })
    }
    throw err
  }
  timer.stage(`handshake complete: the server proved it is ${formatId(stream.remotePublicKey)}`)
  if (lacksRequiredRekey(stream, options.rekey)) {
    stream.abort()
    throw new CliError(EXIT.HANDSHAKE_REFUSED, `${where} came up as plain SHS1 although --rekey require insists on the ` +
      'rekey extension: the transport did not enforce it (a bug of shs); use --rekey prefer to accept plain SHS1')
  }
  timer.stage(describeSessionKeys(stream, options.rekey, 'client'))
  return stream
}

/** The hostile-load limits of `shs listen` (docs/HOSTILE-LOAD.md). */
export interface ServeLimits {
  /** --max-pending: handshakes in progress at once; random drops start at three quarters of it. */
  maxPending: number
  /** --max-per-source: handshakes in progress at once from one address (IPv6: one /64). */
  maxPerSource: number
  /** --max-clients: established connections at once. */
  maxClients: number
  /** --idle-timeout: milliseconds without a byte either way; undefined for no limit. */
  idleTimeout: number | undefined
}

function connectedText (target: DialTarget): string {
  const [only, ...others] = target.endpoints
  if (only === undefined || others.length > 0) return 'connected'
  return only.transport === 'net' ? 'tcp connected' : 'websocket open'
}

export interface ServeOptions extends Identity {
  address: HostPort
  /** Accept WebSocket clients instead of TCP ones; with `cert` and `key` (PEM) over TLS (wss:). */
  webSocket?: { cert?: string, key?: string } | undefined
  timeout: number
  limits: ServeLimits
  /** --rekey and its settings. */
  rekey: RekeyPlan
  /** Decides on each client after it proved its key (docs/PROTOCOL.md: before message 4 is sent). */
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
  address: HostPort & { secure?: boolean }
  /** Stops accepting and aborts handshakes in progress; streams already handed out live on. */
  stopAccepting (): void
  /** Also destroys every connection this server accepted; resolves once all are closed. */
  close (): Promise<void>
}

export async function serve (options: ServeOptions): Promise<SecureServer> {
  const connections = new Connections(options.log)
  const listenOptions = {
    host: options.address.host,
    port: options.address.port,
    keys: options.keys,
    networkKey: options.networkKey,
    timeout: options.timeout,
    rekey: rekeyOption(options.rekey),
    maxPendingHandshakes: options.limits.maxPending,
    maxPendingPerSource: Math.min(options.limits.maxPerSource, options.limits.maxPending),
    maxConnections: options.limits.maxClients,
    ...(options.limits.idleTimeout === undefined ? {} : { idleTimeout: options.limits.idleTimeout }),
    onConnection: (peer: Peer) => { connections.accepted(peer) },
    authorize: async (publicKey: Uint8Array, peer: Peer) => await options.authorize(publicKey, connections.get(peer).info),
    onHandshakeProgress: (progress: HandshakeProgress, peer: Peer) => { connections.get(peer).timer.stage(stageText(progress)) },
    onHandshakeError: (err: ShsError, peer: Peer) => { options.onHandshakeError(err, connections.done(peer).info) },
    onError: serverErrorLogger(options.log)
  }
  const onStream = (stream: SecureStream, peer: Peer): void => {
    const { info, timer } = connections.done(peer)
    timer.stage(`handshake complete: client is ${formatId(stream.remotePublicKey)}`)
    if (lacksRequiredRekey(stream, options.rekey)) {
      const refused = new HandshakeError('ERR_SHS_REKEY_REQUIRED', 'a client without the rekey extension came through a ' +
        'transport that does not enforce rekey: \'require\'')
      stream.abort(refused)
      options.onHandshakeError(refused, info)
      return
    }
    timer.stage(describeSessionKeys(stream, options.rekey, 'server'))
    options.onStream(stream, info)
  }
  const listener = options.webSocket === undefined
    ? await listen(listenOptions, onStream)
    : await listenWebSocket({ ...listenOptions, ...options.webSocket }, onStream)
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
