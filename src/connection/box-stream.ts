/**
 * One box-stream connection as a sans-IO state machine, in the shape of h11's `Connection` and
 * snow's transport state: bytes in, events and bytes out, no socket, timer or promise. It owns
 * both directions and every rule about their ends, so an adapter only moves bytes and acts on
 * what it is told (docs/PROTOCOL.md has the protocol, docs/LIBRARY.md the adapter's loop).
 *
 *   receive(bytes)  → events: `data`, the peer's `goodbye`, `finished`, or `failed`
 *   receiveEnd()    → the transport ended: a truncation (`failed`) unless the peer said goodbye
 *   send(plaintext) → sealed bytes to write
 *   goodbye()       → the last bytes to write (a half-close), and whether that finished the connection
 *   abort(error)    → a local teardown: nothing more in or out, and no end reported as truncation
 *   rekey()         → (the rekey extension, docs/REKEY.md) the request to write, starting a rekey
 *
 * The rules:
 * - Bytes after the peer's goodbye are a violation (`ERR_BOX_STREAM_AFTER_GOODBYE`), whether they
 *   share a segment with the goodbye or come later, and tear the connection down.
 * - The transport ending before the peer's goodbye is a truncation (`ERR_BOX_STREAM_TRUNCATED`),
 *   unless the connection was torn down here first (a local close is no truncation).
 * - Both goodbyes exchanged: `finished`, the transport may be closed gracefully.
 * - Writing after goodbye or a teardown is `ERR_BOX_STREAM_CLOSED` (or the teardown's error).
 * - Each direction's key is wiped the moment that direction ends; a teardown wipes both.
 * - With the rekey extension, `receive` may also ask for control packets to be written (`write`:
 *   after everything sealed so far, before anything sealed later) and report a completed rekey.
 */
import { BoxStreamDecoder, type PushOptions, decoderKeys } from '../boxstream/decoder.ts'
import { BoxStreamEncoder, encoderKeys } from '../boxstream/encoder.ts'
import { carve, concatBytes } from '../crypto/primitives.ts'
import { BoxStreamError, ShsError } from '../errors.ts'
import { type SessionKeys, type SessionRekey, wipeSession } from '../handshake/session.ts'
import { RekeyMachine, type RekeyMachineOptions } from './rekey.ts'
import {
  type BoxStreamEvent, type BoxStreamOptions, type DirectionState, FINISHED, GOODBYE, type Goodbye, type LiveKeys, NOTHING, REKEYED
} from './events.ts'

export type { BoxStreamEvent, BoxStreamOptions, DirectionState, Goodbye, LiveKeys } from './events.ts'

/**
 * Test-only hooks (src/connection/testing.ts): a box stream whose rekeys use the given key pairs
 * (recorded vectors), and copies of a live one's keys (the rekey property test).
 * @internal stripped from the published declarations (tsconfig.build.json stripInternal)
 */
export let boxStreamWithEphemerals: (session: SessionKeys, options: RekeyMachineOptions) => BoxStream
/** @internal */
export let liveKeys: (box: BoxStream) => LiveKeys

export class BoxStream {
  /** The peer's long-term Ed25519 public key, proven by the handshake. */
  readonly remotePublicKey: Uint8Array
  readonly #encoder: BoxStreamEncoder
  readonly #decoder: BoxStreamDecoder
  #reading: DirectionState = 'open'
  #writing: DirectionState = 'open'
  #failure: Error | undefined
  readonly #rekey: RekeyMachine | undefined
  /** Control packets sealed during the current call, and rekeys it completed. */
  #controlOut: Uint8Array[] | undefined
  #rekeyed = 0

  /**
   * Takes the session over: the codecs copy the keys and the session's own copies are wiped. A
   * session with the rekey extension (`session.rekey`) gets its control packets.
   */
  constructor (session: SessionKeys, options?: BoxStreamOptions) {
    this.remotePublicKey = session.remotePublicKey
    const rekey = session.rekey
    try {
      // Both codecs' keys and nonces in one allocation: every held connection keeps them, and each
      // allocation of its own costs a buffer object and a malloc'd store (docs/PERFORMANCE.md, "Scale").
      const [encoderState, decoderState] = carve([BoxStreamEncoder.STATE_BYTES, BoxStreamDecoder.STATE_BYTES])
      const encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce, encoderState)
      try {
        this.#decoder = rekey === undefined
          ? new BoxStreamDecoder(session.decryptKey, session.decryptNonce, undefined, decoderState)
          : new BoxStreamDecoder(session.decryptKey, session.decryptNonce, (body) => { (this.#rekey as RekeyMachine).onControl(body) }, decoderState)
      } catch (err) {
        encoder.destroy()
        throw err
      }
      this.#encoder = encoder
    } finally {
      wipeSession(session)
    }
    if (rekey !== undefined) {
      this.#rekey = new RekeyMachine(rekey, {
        canWrite: () => this.#writing === 'open',
        sealControl: (body) => { (this.#controlOut ??= []).push(this.#encoder.sealControl(body)) },
        updateEncoder: (derive) => { this.#encoder.updateKey(derive) },
        updateDecoder: (derive) => { this.#decoder.updateKey(derive) },
        rekeyed: () => { this.#rekeyed++ }
      }, options)
    }
  }

  /** The rekey extension's settings and our role, when the handshake agreed on it; else undefined (plain SHS1). */
  get rekeySettings (): SessionRekey | undefined {
    return this.#rekey?.settings
  }

  /** The session runs the rekey extension. */
  get rekeying (): boolean {
    return this.#rekey !== undefined
  }

  /** A rekey is under way, waiting for the peer (an adapter bounds how long: `rekeySettings.timeout`). */
  get rekeyInFlight (): boolean {
    return this.#rekey?.inFlight === true
  }

  /** Rekeys completed so far. */
  get rekeys (): number {
    return this.#rekey?.completed ?? 0
  }

  /** `afterBytes` were sent under the current key and a rekey may start now: call `rekey()`. */
  get rekeyDue (): boolean {
    return this.#rekey?.due === true && this.#bothOpen()
  }

  /** Milliseconds until our own rate cap lets `rekey()` start one (0: now). */
  get rekeyAllowedIn (): number {
    return this.#rekey?.allowedIn ?? 0
  }

  /**
   * Starts a rekey: the REQUEST packet to write now, after everything sealed so far. Undefined
   * when none can start now: one is under way, a direction has ended, or our rate cap says wait
   * (`rekeyAllowedIn`). Throws `ERR_SHS_REKEY_NOT_NEGOTIATED` on a plain SHS1 session.
   */
  rekey (): Uint8Array | undefined {
    const machine = this.#rekey
    if (machine === undefined) {
      throw new ShsError('ERR_SHS_REKEY_NOT_NEGOTIATED',
        'this connection speaks plain SHS1, without the rekey extension: the peer does not offer it, or no side asked for it (the rekey option)')
    }
    if (this.#failure !== undefined || !this.#bothOpen() || !machine.start()) return undefined
    return this.#takeControl()
  }

  /** How many bytes `send` produces for `plaintextBytes` of input. */
  static sealedLength (plaintextBytes: number): number {
    return BoxStreamEncoder.sealedLength(plaintextBytes)
  }

  static {
    boxStreamWithEphemerals = (session, options) => {
      const box = new BoxStream(session, options)
      if (options.ephemerals !== undefined) box.#rekey?.useEphemerals(options.ephemerals)
      return box
    }
    liveKeys = (box) => ({ encrypt: encoderKeys(box.#encoder), decrypt: decoderKeys(box.#decoder) })
  }

  get reading (): DirectionState { return this.#reading }
  get writing (): DirectionState { return this.#writing }

  /** Why the connection was torn down, if it was. */
  get failure (): Error | undefined { return this.#failure }

  /** Both directions ended cleanly. */
  get finished (): boolean {
    return this.#reading === 'ended' && this.#writing === 'ended'
  }

  /** Data packets received and authenticated so far (goodbye not counted). */
  get packetsReceived (): number {
    return this.#decoder.packetsOpened
  }

  /**
   * Bytes from the transport, in any fragmentation. Plaintext authenticated before a violation
   * is still delivered, before the `failed` event. With `reuseInput` the caller gives `bytes` up
   * (a freshly read socket chunk), saving a copy; see `PushOptions`.
   */
  receive (bytes: Uint8Array, options?: PushOptions): readonly BoxStreamEvent[] {
    if (this.#reading === 'torn-down' || bytes.byteLength === 0) return NOTHING
    if (this.#reading === 'ended') {
      // As when the bytes share the goodbye's segment: a reader that has not reached the end
      // yet gets the error, not a clean end.
      this.#reading = 'torn-down'
      return [this.#tearDown(afterGoodbye())]
    }
    let plaintexts: Uint8Array[]
    try {
      plaintexts = this.#decoder.push(bytes, options)
    } catch (err) {
      return [this.#tearDown(err as Error)]
    }
    const events: BoxStreamEvent[] = []
    for (const plaintext of plaintexts) {
      if (plaintext.byteLength > 0) events.push({ type: 'data', plaintext })
    }
    const error = this.#decoder.error
    if (error !== undefined) {
      events.push(this.#tearDown(error))
      return events
    }
    if (this.#rekey !== undefined) this.#rekeyEvents(events)
    if (this.#decoder.ended) {
      this.#reading = 'ended'
      this.#rekey?.peerEnded()
      events.push(GOODBYE)
      if (this.#writing === 'ended') events.push(FINISHED)
    }
    return events
  }

  /**
   * The transport will deliver nothing more: a truncation unless the peer said goodbye (or we
   * tore down first). With `betweenPacketsIsClean`, for hosts whose framing above says itself
   * whether a stream ended (libp2p's muxers, as noise and TLS rely on there), an end between two
   * packets is a clean end of what the peer sends (`goodbye`); one inside a packet still fails.
   */
  receiveEnd (options?: { readonly betweenPacketsIsClean?: boolean }): readonly BoxStreamEvent[] {
    if (this.#reading !== 'open') return NOTHING
    if (options?.betweenPacketsIsClean === true && this.#decoder.betweenPackets) {
      this.#reading = 'ended'
      this.#decoder.destroy()
      return this.#writing === 'ended' ? [GOODBYE, FINISHED] : [GOODBYE]
    }
    try {
      this.#decoder.finish()
    } catch (err) {
      return [this.#tearDown(err as Error)]
    }
    return NOTHING
  }

  /** Seals plaintext (see `BoxStreamEncoder.encode`, including its reusable `output`). */
  send (chunks: Uint8Array | readonly Uint8Array[], output?: Uint8Array): Uint8Array {
    this.#checkWritable()
    const sealed = this.#encoder.encode(chunks, output)
    this.#rekey?.sent(chunks instanceof Uint8Array ? chunks.byteLength : chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0))
    return sealed
  }

  /** The half-close: the goodbye packet to send last. Wipes the encrypt key. */
  goodbye (): Goodbye {
    this.#checkWritable()
    this.#writing = 'ended'
    return { bytes: this.#encoder.goodbye(), finished: this.#reading === 'ended' }
  }

  /** Tears the connection down from this side (first error wins) and wipes both keys. */
  abort (error: Error): void {
    this.#tearDown(error)
  }

  #tearDown (error: Error): BoxStreamEvent {
    this.#failure ??= error
    if (this.#reading !== 'ended') this.#reading = 'torn-down'
    if (this.#writing !== 'ended') this.#writing = 'torn-down'
    this.#encoder.destroy()
    this.#decoder.destroy()
    this.#rekey?.destroy()
    this.#controlOut = undefined
    return { type: 'failed', error: this.#failure }
  }

  #bothOpen (): boolean {
    return this.#reading === 'open' && this.#writing === 'open'
  }

  /** What the control packets of this call ask the adapter to do, in order: write them, then report the rekeys they completed. */
  #rekeyEvents (events: BoxStreamEvent[]): void {
    const bytes = this.#takeControl()
    if (bytes !== undefined) events.push({ type: 'write', bytes })
    for (; this.#rekeyed > 0; this.#rekeyed--) events.push(REKEYED)
  }

  #takeControl (): Uint8Array | undefined {
    const out = this.#controlOut
    this.#controlOut = undefined
    if (out === undefined) return undefined
    return out.length === 1 ? out[0] : concatBytes(...out)
  }

  #checkWritable (): void {
    if (this.#failure !== undefined) throw this.#failure
    if (this.#writing !== 'open') {
      throw new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'cannot write to a box stream after it sent goodbye')
    }
  }
}

function afterGoodbye (): BoxStreamError {
  return new BoxStreamError('ERR_BOX_STREAM_AFTER_GOODBYE',
    'bytes arrived after the peer\'s box-stream goodbye: the peer is broken, or someone is injecting data')
}
