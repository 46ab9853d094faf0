/**
 * One connection's rekeys, as a sans-IO state machine inside the box stream (docs/REKEY.md,
 * "One rekey"): the initiator sends REQUEST with a fresh public key; the responder answers with
 * RESPONSE and its own, and every packet it sends after RESPONSE is under its new key; the
 * initiator then switches its receiving key, sends SWITCH, and every packet after SWITCH is
 * under its new key; the responder switches its receiving key at SWITCH. So each direction
 * changes key at a marked packet, and no byte is ever ambiguous.
 *
 *   idle ──start()──▶ requested ──RESPONSE──▶ idle          (initiator)
 *   idle ──REQUEST──▶ responded ──SWITCH────▶ idle          (responder)
 *
 * Two REQUESTs that cross: the handshake's client wins; the server drops its own and responds.
 */
import { type CurveKeyPair, diffieHellman, generateCurveKeyPair, wipe } from '../crypto/primitives.ts'
import { BoxStreamError, ShsError } from '../errors.ts'
import type { SessionRekey } from '../handshake/session.ts'
import {
  type Direction, type NextKeys, REQUEST, RESPONSE, SWITCH, controlBody, nextKeys, parseControl
} from './rekey-schedule.ts'
import { TokenBucket } from './token-bucket.ts'

/**
 * Rekeys the peer may start: 32 at once, then one per 10 ms (100 a second). One costs us a key
 * pair, two X25519s and four hashes (about 0.15 ms: docs/PERFORMANCE.md), so a peer at the cap
 * costs at most about 1.5 % of a core; beyond it the connection ends with
 * ERR_BOX_STREAM_REKEY_FLOOD.
 */
export const PEER_REKEY_BURST = 32
export const PEER_REKEY_INTERVAL_MS = 10
/**
 * Rekeys we start: 16 at once, then one per 20 ms (50 a second), half the peer's cap, so our
 * requests stay inside it even when they arrive bunched. `afterBytes` below what that rate
 * allows at a link's speed is served at this rate.
 */
export const LOCAL_REKEY_BURST = 16
export const LOCAL_REKEY_INTERVAL_MS = 20

/** What the rekey machine asks of the box stream around it. */
export interface RekeyHost {
  /** Whether our side may still send (it has not said goodbye). */
  canWrite (): boolean
  /** Seals a control packet under the current sending key, after everything sealed before it. */
  sealControl (body: Uint8Array): void
  /** Moves a direction to its next key, hashed from its current one. */
  updateEncoder (derive: (key: Uint8Array) => NextKeys): void
  updateDecoder (derive: (key: Uint8Array) => NextKeys): void
  /** A rekey completed, as far as this side is concerned. */
  rekeyed (): void
}

type State =
  | { readonly name: 'idle' }
  | { readonly name: 'requested', readonly ephemeral: CurveKeyPair }
  | { readonly name: 'responded', readonly step: RekeyStep }

/** What both directions' next keys are hashed from; wiped once the second direction switched. */
interface RekeyStep {
  readonly shared: Uint8Array
  readonly initiatorKey: Uint8Array
  readonly responderKey: Uint8Array
}

const IDLE: State = { name: 'idle' }

export interface RekeyMachineOptions {
  /** Milliseconds from any fixed origin, for the rate caps (default `performance.now`). */
  readonly now?: () => number
  /** Test-only (recorded vectors, through src/connection/testing.ts): where each rekey's key pair comes from. */
  readonly ephemerals?: () => CurveKeyPair
}

export class RekeyMachine {
  readonly settings: SessionRekey
  readonly #host: RekeyHost
  readonly #sending: Direction
  readonly #receiving: Direction
  #ephemerals: () => CurveKeyPair = generateCurveKeyPair
  readonly #peerBudget: TokenBucket
  readonly #ownBudget: TokenBucket
  #state: State = IDLE
  #sentSinceSwitch = 0
  #completed = 0

  constructor (settings: SessionRekey, host: RekeyHost, options?: RekeyMachineOptions) {
    this.settings = settings
    this.#host = host
    this.#sending = settings.role === 'client' ? 'client-to-server' : 'server-to-client'
    this.#receiving = settings.role === 'client' ? 'server-to-client' : 'client-to-server'
    const now = options?.now ?? (() => performance.now())
    this.#peerBudget = new TokenBucket(PEER_REKEY_BURST, PEER_REKEY_INTERVAL_MS, now)
    this.#ownBudget = new TokenBucket(LOCAL_REKEY_BURST, LOCAL_REKEY_INTERVAL_MS, now)
  }

  /** Test-only (recorded vectors): fixed key pairs destroy what rekeying is for. */
  useEphemerals (ephemerals: () => CurveKeyPair): void {
    this.#ephemerals = ephemerals
  }

  /** A rekey is under way (started by either side), so the connection waits for the peer's part of it. */
  get inFlight (): boolean { return this.#state.name !== 'idle' }

  /** Rekeys completed so far. */
  get completed (): number { return this.#completed }

  /** We have sent `afterBytes` under the current key: time to start one, if the budget allows. */
  get due (): boolean {
    return this.#sentSinceSwitch >= this.settings.afterBytes && this.#state.name === 'idle' && this.#ownBudget.available()
  }

  /** Milliseconds until `start()` may run again under our own rate cap (0: now). */
  get allowedIn (): number { return this.#ownBudget.waitTime() }

  /** Counts plaintext sealed under the current sending key, for `afterBytes`. */
  sent (bytes: number): void { this.#sentSinceSwitch += bytes }

  /**
   * Starts a rekey: seals REQUEST. False when one is under way already, or our rate cap says
   * wait (`allowedIn`); the caller checks that both directions are open.
   */
  start (): boolean {
    if (this.#state.name !== 'idle' || !this.#ownBudget.take()) return false
    const ephemeral = this.#ephemerals()
    this.#host.sealControl(controlBody(REQUEST, ephemeral.publicKey))
    this.#state = { name: 'requested', ephemeral }
    return true
  }

  /** A control packet's body from the decoder, in the order of the stream. Throws `BoxStreamError` on a violation. */
  onControl (body: Uint8Array): void {
    const message = parseControl(body)
    switch (message.type) {
      case REQUEST: this.#onRequest(message.publicKey); break
      case RESPONSE: this.#onResponse(message.publicKey); break
      case SWITCH: this.#onSwitch(); break
    }
  }

  /** The peer said goodbye: it will answer nothing more, so a rekey under way is dropped. */
  peerEnded (): void { this.destroy() }

  /** Wipes every secret of a rekey under way. */
  destroy (): void {
    const state = this.#state
    if (state.name === 'requested') wipe(state.ephemeral.secretKey)
    if (state.name === 'responded') wipe(state.step.shared)
    this.#state = IDLE
  }

  #onRequest (initiatorKey: Uint8Array): void {
    if (!this.#peerBudget.take()) {
      throw new BoxStreamError('ERR_BOX_STREAM_REKEY_FLOOD',
        `the peer started rekeys faster than ${PEER_REKEY_BURST} at once and one per ${PEER_REKEY_INTERVAL_MS} ms: ` +
        `a hostile or broken peer (an honest one starts at most one per ${LOCAL_REKEY_INTERVAL_MS} ms)`)
    }
    const state = this.#state
    if (state.name === 'responded') throw violation('a second rekey request before the first one\'s switch')
    if (state.name === 'requested') {
      // Crossing requests: the client's wins, and the server answers it instead of its own.
      if (this.settings.role === 'client') return
      wipe(state.ephemeral.secretKey)
      this.#state = IDLE
    }
    // After our goodbye we answer nothing; the peer drops its request when it reads our goodbye.
    if (!this.#host.canWrite()) return
    const ephemeral = this.#ephemerals()
    const shared = agree(ephemeral.secretKey, initiatorKey)
    const step: RekeyStep = { shared, initiatorKey, responderKey: ephemeral.publicKey }
    this.#host.sealControl(controlBody(RESPONSE, ephemeral.publicKey))
    this.#host.updateEncoder((key) => nextKeys(this.#sending, key, shared, initiatorKey, ephemeral.publicKey))
    this.#sentSinceSwitch = 0
    this.#state = { name: 'responded', step }
  }

  #onResponse (responderKey: Uint8Array): void {
    const state = this.#state
    if (state.name !== 'requested') throw violation('a rekey response to no request of ours')
    const initiatorKey = state.ephemeral.publicKey
    const shared = agree(state.ephemeral.secretKey, responderKey)
    this.#state = IDLE
    try {
      // Everything the peer sent after RESPONSE is under its new key.
      this.#host.updateDecoder((key) => nextKeys(this.#receiving, key, shared, initiatorKey, responderKey))
      if (this.#host.canWrite()) {
        this.#host.sealControl(controlBody(SWITCH))
        this.#host.updateEncoder((key) => nextKeys(this.#sending, key, shared, initiatorKey, responderKey))
        this.#sentSinceSwitch = 0
      }
    } finally {
      wipe(shared)
    }
    this.#finished()
  }

  #onSwitch (): void {
    const state = this.#state
    if (state.name !== 'responded') throw violation('a rekey switch with no rekey under way')
    const { shared, initiatorKey, responderKey } = state.step
    this.#state = IDLE
    try {
      this.#host.updateDecoder((key) => nextKeys(this.#receiving, key, shared, initiatorKey, responderKey))
    } finally {
      wipe(shared)
    }
    this.#finished()
  }

  #finished (): void {
    this.#completed++
    this.#host.rekeyed()
  }
}

/** X25519 with the peer's fresh key; our secret is wiped either way. A low-order key is a violation. */
function agree (secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  try {
    return diffieHellman(secretKey, publicKey)
  } catch (err) {
    if (!(err instanceof ShsError)) throw err
    throw new BoxStreamError('ERR_BOX_STREAM_BAD_CONTROL',
      'the peer\'s rekey key gives an all-zero Diffie-Hellman result (a low-order point): a broken or hostile peer')
  } finally {
    wipe(secretKey)
  }
}

function violation (what: string): BoxStreamError {
  return new BoxStreamError('ERR_BOX_STREAM_BAD_CONTROL',
    `the peer sent ${what}, which the rekey extension does not allow: the peer is broken, or speaks another version of it`)
}
