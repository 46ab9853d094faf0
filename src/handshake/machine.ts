/**
 * The SHS1 handshake as a sans-IO state machine. It never touches a socket, a timer or a
 * promise: an adapter asks `next()` what to do, writes or reads exactly the bytes it is told,
 * and feeds them back. Client and server share every step; only the order of the script and
 * the explanations of failures differ.
 *
 *   client: write hello → read hello → write clientAuth → read serverAccept → complete
 *   server: read hello → write hello → read clientAuth → authorize → write serverAccept → complete
 */
import {
  type Ed25519PublicKey, LocalIdentity, asKeyPair, asNetworkKey, checkPublicKey
} from '../crypto/keys.ts'
import { type CurveKeyPair, concatBytes, copyBytes } from '../crypto/primitives.ts'
import { ShsError } from '../errors.ts'
import { describeFailure, describeHangUp, describeRefusal, type MessageName, plainClientRefused } from './explain.ts'
import { afterEarly, checkEarlyData, sealEarly } from './early-data.ts'
import { type RekeySettings, checkRekeyOption } from './rekey-options.ts'
import type { SessionKeys } from './session.ts'
import {
  CLIENT_AUTH_BYTES, HELLO_BYTES, type HandshakeState, SERVER_ACCEPT_BYTES,
  acceptClientAuth, acceptHello, acceptServerAccept, createClientAuth, createHandshakeState,
  createHello, createServerAccept, deriveSession, earlySession, wipeHandshakeState
} from './steps.ts'

export type HandshakeRole = 'client' | 'server'

/** What the adapter must do next. */
export type HandshakeAction =
  | { readonly type: 'write', readonly message: MessageName, readonly bytes: Uint8Array }
  | { readonly type: 'read', readonly message: MessageName, readonly length: number }
  | { readonly type: 'authorize', readonly remotePublicKey: Uint8Array }
  | { readonly type: 'complete', readonly session: SessionKeys }

interface MessageSpec {
  readonly length: number
  readonly create: (state: HandshakeState) => Uint8Array
  readonly accept: (state: HandshakeState, message: Uint8Array) => boolean
}

const MESSAGES: Readonly<Record<MessageName, MessageSpec>> = {
  clientHello: { length: HELLO_BYTES, create: createHello, accept: acceptHello },
  serverHello: { length: HELLO_BYTES, create: createHello, accept: acceptHello },
  clientAuth: { length: CLIENT_AUTH_BYTES, create: createClientAuth, accept: acceptClientAuth },
  serverAccept: { length: SERVER_ACCEPT_BYTES, create: createServerAccept, accept: acceptServerAccept }
}

type ScriptStep =
  | { readonly kind: 'write', readonly message: MessageName }
  | { readonly kind: 'read', readonly message: MessageName }
  | { readonly kind: 'authorize' }

const SCRIPTS: Readonly<Record<HandshakeRole, readonly ScriptStep[]>> = {
  client: [
    { kind: 'write', message: 'clientHello' },
    { kind: 'read', message: 'serverHello' },
    { kind: 'write', message: 'clientAuth' },
    { kind: 'read', message: 'serverAccept' }
  ],
  server: [
    { kind: 'read', message: 'clientHello' },
    { kind: 'write', message: 'serverHello' },
    { kind: 'read', message: 'clientAuth' },
    { kind: 'authorize' },
    { kind: 'write', message: 'serverAccept' }
  ]
}

type Phase =
  | { readonly name: 'running', readonly step: number }
  | { readonly name: 'complete', readonly session: SessionKeys }
  /** The session was handed over: the machine holds no key any more and has nothing left to do. */
  | { readonly name: 'handed-over' }
  | { readonly name: 'failed', readonly error: ShsError }

export interface ClientHandshakeInit {
  keys: unknown
  networkKey: unknown
  remotePublicKey: unknown
  /**
   * Bytes to send right behind message 3, as the first box-stream packets, without waiting for
   * message 4 (docs/PROTOCOL.md, "Early data"): the `clientAuth` write then carries them too.
   */
  earlyData?: unknown
  /**
   * Ask for the rekey extension (docs/REKEY.md): the handshake runs under the extension's network
   * key, which only a server offering it accepts. The mode is the caller's business: `prefer`
   * means connecting again without it when the server hangs up after message 1.
   */
  rekey?: unknown
}

export interface ServerHandshakeInit {
  /** A key pair, or (for a server running many handshakes) a `LocalIdentity` prepared once. */
  keys: unknown
  networkKey: unknown
  /** Accept clients that ask for the rekey extension too (`prefer`), or only them (`require`). */
  rekey?: unknown
}

/**
 * Builds a machine with a fixed ephemeral key pair. Only `deterministic.ts` (the test-only entry
 * point for recorded vectors) calls it; it is not re-exported by the package.
 * @internal stripped from the published declarations (tsconfig.build.json stripInternal)
 */
export let createWithEphemeral: (role: HandshakeRole, init: ClientHandshakeInit | ServerHandshakeInit, ephemeral: CurveKeyPair | undefined) => SecretHandshake

export class SecretHandshake {
  readonly role: HandshakeRole
  #state: HandshakeState
  #phase: Phase = { name: 'running', step: 0 }
  readonly #earlyData: readonly Uint8Array[] | undefined
  /** Packets of early data sealed behind message 3: the session goes on after them. */
  #earlyPackets = 0
  readonly #rekey: RekeySettings | undefined

  private constructor (role: HandshakeRole, state: HandshakeState, earlyData: readonly Uint8Array[] | undefined, rekey: RekeySettings | undefined) {
    this.role = role
    this.#state = state
    this.#earlyData = earlyData
    this.#rekey = rekey
  }

  static {
    createWithEphemeral = (role, init, ephemeral) => {
      const remote = role === 'client' ? checkPublicKey((init as ClientHandshakeInit).remotePublicKey, 'remotePublicKey') : undefined
      const earlyData = role === 'client' ? checkEarlyData((init as ClientHandshakeInit).earlyData) : undefined
      // A listener's identity was checked and converted once, when it started listening.
      const identity = init.keys instanceof LocalIdentity ? init.keys : undefined
      const rekey = checkRekeyOption(init.rekey)
      const state = createHandshakeState({
        local: identity?.keys ?? asKeyPair(init.keys),
        ...(identity === undefined ? {} : { localCurveSecretKey: identity.curveSecretKey }),
        networkKey: asNetworkKey(init.networkKey),
        ...(remote === undefined ? {} : { remotePublicKey: remote.publicKey, remoteCurveKey: remote.curveKey }),
        ...(ephemeral === undefined ? {} : { ephemeral }),
        ...(rekey === undefined ? {} : { rekey: role === 'client' ? { role } : { role, acceptPlain: rekey.mode === 'prefer' } })
      })
      return new SecretHandshake(role, state, earlyData, rekey)
    }
  }

  /** Validates the keys up front, so misuse fails before any byte is sent. */
  static client (init: ClientHandshakeInit): SecretHandshake {
    return createWithEphemeral('client', { keys: init.keys, networkKey: init.networkKey, remotePublicKey: init.remotePublicKey, earlyData: init.earlyData, rekey: init.rekey }, undefined)
  }

  static server (init: ServerHandshakeInit): SecretHandshake {
    return createWithEphemeral('server', { keys: init.keys, networkKey: init.networkKey, rekey: init.rekey }, undefined)
  }

  /** Whether this handshake runs the rekey extension: from the start for a client, from message 1 on for a server. */
  get rekeying (): boolean {
    return this.#state.rekey
  }

  /** A short human description of where the handshake is, for timeouts and verbose logs. */
  get stage (): string {
    const phase = this.#phase
    if (phase.name !== 'running') return phase.name
    const step = this.#currentStep(phase.step)
    if (step.kind === 'authorize') return 'deciding whether to authorize the client'
    return `${step.kind === 'write' ? 'sending' : 'waiting for'} ${step.message}`
  }

  get isComplete (): boolean {
    return this.#phase.name === 'complete' || this.#phase.name === 'handed-over'
  }

  /**
   * The next thing to do. A `write` action advances the machine (its bytes must be sent);
   * `read` and `authorize` wait for `receive()` and `authorize()`. The `complete` action hands
   * the session over, once (as snow's `into_transport_mode`): the machine keeps no reference to
   * its keys, and asking again is an `ERR_SHS_INVALID_STATE`, so two box streams can never be
   * made from one session (they would reuse key and nonce).
   */
  next (): HandshakeAction {
    const phase = this.#phase
    if (phase.name === 'complete') {
      this.#phase = { name: 'handed-over' }
      return { type: 'complete', session: phase.session }
    }
    if (phase.name === 'handed-over') {
      throw new ShsError('ERR_SHS_INVALID_STATE', 'the handshake already handed its session over: a session keys exactly one box stream')
    }
    if (phase.name === 'failed') throw phase.error
    const step = this.#currentStep(phase.step)
    switch (step.kind) {
      case 'write': {
        let bytes = MESSAGES[step.message].create(this.#state)
        const early = this.#earlyData
        if (step.message === 'clientAuth' && early !== undefined && early.some((chunk) => chunk.byteLength > 0)) {
          const { sealed, packets } = sealEarly(earlySession(this.#state), early)
          this.#earlyPackets = packets
          bytes = concatBytes(bytes, sealed)
        }
        this.#advance(phase.step)
        return { type: 'write', message: step.message, bytes }
      }
      case 'read':
        return { type: 'read', message: step.message, length: MESSAGES[step.message].length }
      case 'authorize':
        return { type: 'authorize', remotePublicKey: copyBytes(this.#state.remotePublicKey as Ed25519PublicKey) }
    }
  }

  /** Feeds the message the last `read` action asked for. Throws a `HandshakeError` if it is invalid. */
  receive (message: Uint8Array): void {
    const index = this.#expect('read')
    const step = this.#currentStep(index)
    if (step.kind !== 'read') throw this.#misuse('receive')
    const spec = MESSAGES[step.message]
    if (message.byteLength !== spec.length || !spec.accept(this.#state, message)) {
      throw this.#fail(this.#state.plainRefused === true ? plainClientRefused() : describeFailure(step.message))
    }
    this.#advance(index)
  }

  /** The server's decision on the client key from message 3 (docs/PROTOCOL.md: after verifying it, before message 4). */
  authorize (accepted: boolean, cause?: unknown): void {
    const index = this.#expect('authorize')
    if (!accepted) {
      throw this.#fail(describeRefusal(this.#state.remotePublicKey as Uint8Array, cause))
    }
    this.#advance(index)
  }

  /** The transport ended before the message we wait for: explain what that most likely means. */
  peerHungUp (cause?: unknown): ShsError {
    const phase = this.#phase
    if (phase.name === 'failed') return phase.error
    const step = phase.name === 'running' ? this.#currentStep(phase.step) : undefined
    const waitingFor = step?.kind === 'read' ? step.message : undefined
    return this.#fail(describeHangUp(this.role, waitingFor, cause))
  }

  /** Ends the handshake from outside (timeout, abort, transport error) and wipes its secrets. */
  abort (error: ShsError): void {
    if (this.#phase.name === 'running') this.#fail(error)
  }

  #currentStep (index: number): ScriptStep {
    return SCRIPTS[this.role][index] as ScriptStep
  }

  #expect (kind: ScriptStep['kind']): number {
    const phase = this.#phase
    if (phase.name === 'failed') throw phase.error
    if (phase.name !== 'running' || this.#currentStep(phase.step).kind !== kind) throw this.#misuse(kind)
    return phase.step
  }

  #advance (index: number): void {
    const next = index + 1
    if (next < SCRIPTS[this.role].length) {
      this.#phase = { name: 'running', step: next }
      return
    }
    let session = afterEarly(deriveSession(this.#state), this.#earlyPackets)
    if (this.#state.rekey) session = { ...session, rekey: { ...(this.#rekey as RekeySettings), role: this.role } }
    wipeHandshakeState(this.#state)
    this.#phase = { name: 'complete', session }
  }

  #fail (error: ShsError): ShsError {
    if (this.#phase.name === 'running') {
      wipeHandshakeState(this.#state)
      this.#phase = { name: 'failed', error }
    }
    return error
  }

  #misuse (call: string): ShsError {
    return new ShsError('ERR_SHS_INVALID_STATE',
      `${call}() is not valid while the handshake is ${this.stage}: follow the actions next() returns`)
  }
}
