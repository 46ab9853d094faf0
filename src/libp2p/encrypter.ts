/**
 * The libp2p `ConnectionEncrypter` for SHS1: the node's Ed25519 key is the long-term key, the
 * dialled peer id supplies the server key the client must know in advance, and the key the
 * handshake proves becomes the remote peer id.
 */
import {
  type ComponentLogger, type ConnectionEncrypter, type Logger, type MessageStream, type Metrics,
  type PeerId, type PrivateKey, type SecureConnectionOptions, type SecuredConnection,
  type Upgrader, UnexpectedPeerError, serviceCapabilities
} from '@libp2p/interface'
import { type KeyPair, asNetworkKey } from '../crypto/keys.ts'
import { copyBytes } from '../crypto/primitives.ts'
import { checkOptions, checkTimeout, describeValue } from '../options.ts'
import { SecretHandshake } from '../handshake/machine.ts'
import { type RekeyOption, type RekeySettings, checkRekeyOption } from '../handshake/rekey-options.ts'
import {
  DEFAULT_LIBP2P_NETWORK_KEY, SHS_MUXER_PROTOCOL, SHS_PROTOCOL, SHS_REKEY_MUXER_PROTOCOL, SHS_REKEY_PROTOCOL
} from './constants.ts'
import { encodeMuxers, readMuxers } from './muxer-negotiation.ts'
import { withDeadline } from '../driver/handshake.ts'
import { InvalidOptionError } from '../errors.ts'
import { DEFAULT_HELLO_TIMEOUT_MS } from '../net/listen-guard.ts'
import { RemotePeerRequiredError } from './errors.ts'
import { type HandshakeOutcome, runHandshake } from './handshake.ts'
import { peerIdFromShsKey, remoteShsKey, shsKeyPair } from './identity.ts'
import { ShsMessageStream } from './message-stream.ts'
import { type ShsMetrics, registerMetrics } from './metrics.ts'
import { SpareOutput } from './sealed-output.ts'

export interface ShsInit {
  /**
   * The 32-byte network key. Only nodes with the same key can connect; a handshake between
   * different keys fails at the first message. Default: `DEFAULT_LIBP2P_NETWORK_KEY`.
   */
  networkKey?: Uint8Array
  /** Milliseconds the handshake may take, on top of libp2p's own upgrade timeout. Default 10 000. */
  timeout?: number
  /**
   * Agree on the stream muxer inside the handshake (`/shs/1.1.0`, the default), saving the round
   * trip libp2p's own negotiation costs; false speaks plain `/shs/1.0.0`. Nodes of earlier
   * releases speak only `/shs/1.0.0`: list `shs({ muxerNegotiation: false })` after `shs()` to
   * accept them too (docs/LIBP2P.md).
   */
  muxerNegotiation?: boolean
  /**
   * Milliseconds an inbound client may take to send its whole hello (message 1) once it chose
   * this protocol (default 5 000, as listen(); none of its own when `timeout` is shorter).
   */
  helloTimeout?: number
  /**
   * The rekey extension (docs/REKEY.md, docs/LIBP2P.md): this encrypter then speaks
   * `/shs-rekey/1.1.0` (or `/shs-rekey/1.0.0` without muxer negotiation) and nothing else.
   * `shsEncrypters({ rekey: 'prefer' })` lists the plain id after it, for nodes without it.
   */
  rekey?: RekeyOption
  /**
   * Called with every connection this encrypter secured, before libp2p's upgrade goes on: the
   * way to its `rekeying`, `rekeys` and `rekey()`. An error it throws fails the upgrade.
   */
  onSecured?: (secured: ShsSecured) => void
}

/** What `onSecured` is told. */
export interface ShsSecured {
  readonly connection: ShsMessageStream
  readonly remotePeer: PeerId
  /** The protocol id multistream-select agreed on (this encrypter's). */
  readonly protocol: string
}

/** What shs() takes from libp2p's components (only the counters of `metrics` are used). */
export interface ShsComponents {
  privateKey: PrivateKey
  logger: ComponentLogger
  metrics?: Pick<Metrics, 'registerCounter'>
  /** The node's stream muxers, for `/shs/1.1.0` (a node built by libp2p always has it). */
  upgrader?: Pick<Upgrader, 'getStreamMuxers'>
}

interface CheckedInit {
  networkKey: Uint8Array
  timeout: number
  muxerNegotiation: boolean
  helloTimeout: number | undefined
  /** Both ends agreed on the extension's id: the handshake runs it, whatever the mode said. */
  rekey: RekeySettings | undefined
  onSecured: ((secured: ShsSecured) => void) | undefined
}

/** `shs()`'s options, checked when the factory is called and again when libp2p builds the encrypter. */
export function checkShsInit (init: ShsInit | undefined): CheckedInit {
  const given = checkOptions(init, 'init')
  if (given.muxerNegotiation !== undefined && typeof given.muxerNegotiation !== 'boolean') {
    throw new InvalidOptionError('muxerNegotiation', `muxerNegotiation must be true or false, got ${describeValue(given.muxerNegotiation)}`)
  }
  if (given.onSecured !== undefined && typeof given.onSecured !== 'function') {
    throw new InvalidOptionError('onSecured', `onSecured must be a function, got ${describeValue(given.onSecured)}`)
  }
  const timeout = checkTimeout(given.timeout)
  const helloTimeout = given.helloTimeout === undefined ? DEFAULT_HELLO_TIMEOUT_MS : checkTimeout(given.helloTimeout, 'helloTimeout')
  return {
    networkKey: copyBytes(asNetworkKey(given.networkKey === undefined ? DEFAULT_LIBP2P_NETWORK_KEY : given.networkKey)),
    timeout,
    muxerNegotiation: given.muxerNegotiation ?? true,
    // A hello deadline at or beyond the handshake's own adds nothing.
    helloTimeout: helloTimeout < timeout ? helloTimeout : undefined,
    rekey: checkRekeyOption(given.rekey),
    onSecured: given.onSecured
  }
}

/** The multistream-select id an encrypter of these options speaks. */
export function protocolOf (init: Pick<CheckedInit, 'muxerNegotiation' | 'rekey'>): string {
  if (init.rekey !== undefined) return init.muxerNegotiation ? SHS_REKEY_MUXER_PROTOCOL : SHS_REKEY_PROTOCOL
  return init.muxerNegotiation ? SHS_MUXER_PROTOCOL : SHS_PROTOCOL
}

export class ShsEncrypter implements ConnectionEncrypter {
  readonly protocol: string
  readonly [Symbol.toStringTag] = 'shs-transport/libp2p'
  readonly [serviceCapabilities]: string[] = ['@libp2p/connection-encryption', 'shs-transport/libp2p']

  readonly #keys: KeyPair
  readonly #networkKey: Uint8Array
  readonly #timeout: number
  readonly #helloTimeout: number | undefined
  readonly #log: Logger
  readonly #metrics: ShsMetrics | undefined
  /** One send buffer for all of this node's connections to reuse (see sealed-output.ts). */
  readonly #spareOutput = new SpareOutput()

  readonly #muxerNegotiation: boolean
  /** Under the extension's id both ends run it: a hello under the plain key is refused. */
  readonly #rekey: RekeySettings | undefined
  readonly #onSecured: ((secured: ShsSecured) => void) | undefined
  /** Read when a connection is secured, not at construction: libp2p sets the upgrader up after the encrypters. */
  readonly #components: ShsComponents

  /** Fails at node creation, not at the first dial, when the key or the options cannot work. */
  constructor (components: ShsComponents, init: ShsInit = {}) {
    const checked = checkShsInit(init)
    const { networkKey, timeout, muxerNegotiation, rekey } = checked
    this.#helloTimeout = checked.helloTimeout
    this.protocol = protocolOf(checked)
    this.#muxerNegotiation = muxerNegotiation
    this.#rekey = rekey === undefined ? undefined : { ...rekey, mode: 'require' }
    this.#onSecured = checked.onSecured
    this.#components = components
    this.#keys = shsKeyPair(components.privateKey)
    this.#networkKey = networkKey
    this.#timeout = timeout
    this.#log = components.logger.forComponent('libp2p:shs')
    this.#metrics = components.metrics === undefined ? undefined : registerMetrics(components.metrics)
  }

  /** Client side: we must already know whom we dial (the `/p2p/<peer id>` of the address). */
  async secureOutbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    const log = this.#connectionLog(connection)
    let machine: SecretHandshake
    try {
      const remotePeer = options?.remotePeer
      if (remotePeer === undefined) throw new RemotePeerRequiredError()
      machine = SecretHandshake.client({
        keys: this.#keys,
        networkKey: this.#networkKey,
        remotePublicKey: remoteShsKey(remotePeer),
        // Our muxers ride behind message 3 (./muxer-negotiation.ts).
        earlyData: this.#muxerNegotiation ? encodeMuxers(this.#muxers(options)) : undefined,
        rekey: this.#rekey
      })
    } catch (err) {
      this.#metrics?.handshakeErrors.increment()
      log.error('cannot start an outbound secret handshake - %e', err)
      // Nothing was sent, but the connection is useless now: release it at once.
      connection.abort(err as Error)
      throw err
    }
    const outcome = await this.#handshake(connection, machine, options, log)
    const secured = this.#secured(connection, outcome, log)
    if (!this.#muxerNegotiation) return secured
    const [chosen] = await this.#negotiated(secured, options, log)
    return { ...secured, streamMuxer: chosen === undefined ? undefined : this.#components.upgrader?.getStreamMuxers().get(chosen) }
  }

  /** Server side: the client proves its key in message 3; that key is the remote peer id. */
  async secureInbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    const log = this.#connectionLog(connection)
    const machine = SecretHandshake.server({ keys: this.#keys, networkKey: this.#networkKey, rekey: this.#rekey })
    const expected = options?.remotePeer
    const checkClient = expected === undefined
      ? undefined
      : (remotePublicKey: Uint8Array): Error | undefined => {
          const actual = peerIdFromShsKey(remotePublicKey)
          if (actual.equals(expected)) return undefined
          return new UnexpectedPeerError(`the secret handshake proved the client is ${actual.toString()}, ` +
            `but this connection was expected to come from ${expected.toString()}`)
        }
    const outcome = await this.#handshake(connection, machine, options, log, checkClient)
    const secured = this.#secured(connection, outcome, log)
    if (!this.#muxerNegotiation) return secured
    // The first of the dialer's muxers that we run too, as our first data behind message 4.
    const ours = this.#muxers(options)
    const chosen = (await this.#negotiated(secured, options, log)).find((protocol) => ours.includes(protocol))
    secured.connection.send(encodeMuxers(chosen === undefined ? [] : [chosen]))
    return { ...secured, streamMuxer: chosen === undefined ? undefined : this.#components.upgrader?.getStreamMuxers().get(chosen) }
  }

  /** Our muxers, in libp2p's order of preference; none when the upgrader is told to skip them. */
  #muxers (options: SecureConnectionOptions | undefined): string[] {
    if (options?.skipStreamMuxerNegotiation === true) return []
    return [...(this.#components.upgrader?.getStreamMuxers().keys() ?? [])]
  }

  /** The peer's muxer message, within the handshake's timeout; a peer that does not send one is hung up on. */
  async #negotiated (secured: SecuredConnection, options: SecureConnectionOptions | undefined, log: Logger): Promise<string[]> {
    try {
      return await withDeadline({ timeout: this.#timeout, signal: options?.signal }, async (deadline) => await readMuxers(secured.connection, deadline))
    } catch (err) {
      log.error('no stream muxers from the peer - %e', err)
      secured.connection.abort(err as Error)
      throw err
    }
  }

  async #handshake (
    connection: MessageStream, machine: SecretHandshake, options: SecureConnectionOptions | undefined,
    log: Logger, checkClient?: (remotePublicKey: Uint8Array) => Error | undefined
  ): Promise<HandshakeOutcome> {
    try {
      const outcome = await runHandshake(connection, machine, {
        signal: options?.signal, timeout: this.#timeout, log, checkClient,
        helloTimeout: machine.role === 'server' ? this.#helloTimeout : undefined
      })
      this.#metrics?.handshakeSuccesses.increment()
      return outcome
    } catch (err) {
      this.#metrics?.handshakeErrors.increment()
      throw err
    }
  }

  #secured (connection: MessageStream, outcome: HandshakeOutcome, log: Logger): SecuredConnection {
    const remotePeer: PeerId = peerIdFromShsKey(outcome.session.remotePublicKey)
    const secure = new ShsMessageStream({
      raw: connection,
      session: outcome.session,
      leftover: outcome.leftover,
      transportEnd: outcome.transportEnd,
      metrics: this.#metrics,
      spareOutput: this.#spareOutput,
      log
    })
    secure.log('secured %s connection with %p (%s)', connection.direction, remotePeer, this.protocol)
    try {
      this.#onSecured?.({ connection: secure, remotePeer, protocol: this.protocol })
    } catch (err) {
      secure.abort(err as Error)
      throw err
    }
    return { connection: secure, remotePeer }
  }

  #connectionLog (connection: MessageStream): Logger {
    // Test doubles and older transports may lack a logger; fall back to the component's.
    const log = connection.log as Logger | undefined
    return log?.newScope('shs') ?? this.#log
  }
}
