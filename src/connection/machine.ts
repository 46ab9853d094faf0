/**
 * One box-stream connection as a sans-IO state machine, in the shape of h11's `Connection`: it
 * owns both directions and every rule about their ends, and never touches a socket, a timer or
 * a promise. Adapters feed it the transport's bytes and ends, and send what it seals.
 *
 *   inbound:  receive(bytes) → authenticated plaintext; the peer's goodbye ends the read side
 *   outbound: send(plaintext) → sealed bytes; goodbye() ends the write side (a half-close)
 *   abort(error) or any violation → torn down: both keys wiped, nothing more in or out
 *
 * The rules every adapter shares:
 * - Bytes after the peer's goodbye are a protocol violation (`ERR_BOX_STREAM_AFTER_GOODBYE`),
 *   whether they share a segment with the goodbye or arrive later, and tear the connection down.
 * - The transport ending before the peer's goodbye is a truncation (`ERR_BOX_STREAM_TRUNCATED`).
 * - Writing after goodbye or teardown, a second reader or a second writer: typed errors.
 * - Each direction's key is wiped the moment that direction ends.
 */
import { BoxStreamDecoder, type PushOptions } from '../boxstream/decoder.ts'
import { BoxStreamEncoder } from '../boxstream/encoder.ts'
import { BoxStreamError, ShsError } from '../errors.ts'
import { type SessionKeys, wipeSession } from '../handshake/session.ts'

/** Where one direction is: open, ended cleanly by goodbye, or ended by the teardown. */
export type DirectionState = 'open' | 'ended' | 'torn-down'

export class BoxConnection {
  /** The peer's long-term Ed25519 public key, proven by the handshake. */
  readonly remotePublicKey: Uint8Array
  readonly #encoder: BoxStreamEncoder
  readonly #decoder: BoxStreamDecoder
  #reading: DirectionState = 'open'
  #writing: DirectionState = 'open'
  #failure: Error | undefined
  #readerClaimed = false
  #writerClaimed = false

  /** Takes the session over: the codecs copy the keys and the session's own copies are wiped. */
  constructor (session: SessionKeys) {
    this.remotePublicKey = session.remotePublicKey
    try {
      const encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce)
      try {
        this.#decoder = new BoxStreamDecoder(session.decryptKey, session.decryptNonce)
      } catch (err) {
        encoder.destroy()
        throw err
      }
      this.#encoder = encoder
    } finally {
      wipeSession(session)
    }
  }

  /** How many bytes `send` produces for `plaintextBytes` of input. */
  static sealedLength (plaintextBytes: number): number {
    return BoxStreamEncoder.sealedLength(plaintextBytes)
  }

  get reading (): DirectionState { return this.#reading }
  get writing (): DirectionState { return this.#writing }

  /** The peer's goodbye was opened: a clean end of what it sends. */
  receivedGoodbye (): boolean {
    return this.#reading === 'ended'
  }

  /** Why the connection was torn down, if it was. */
  get failure (): Error | undefined { return this.#failure }

  /** Both directions ended cleanly: the transport may be closed gracefully (TCP FIN). */
  get finished (): boolean {
    return this.#reading === 'ended' && this.#writing === 'ended'
  }

  /** Data packets received and authenticated so far (goodbye not counted). */
  get packetsReceived (): number {
    return this.#decoder.packetsOpened
  }

  /** The plaintext has one reader: a second one is a mistake (it would get every other chunk). */
  claimReader (): void {
    if (this.#readerClaimed) {
      throw new ShsError('ERR_SHS_INVALID_STATE', 'the secure stream\'s source is already being read: read it from one place')
    }
    this.#readerClaimed = true
  }

  /** The plaintext going out comes from one source: `sink()` may be called once. */
  claimWriter (): void {
    if (this.#writerClaimed) {
      throw new ShsError('ERR_SHS_INVALID_STATE', 'sink() was already called on this secure stream: pipe one source into it')
    }
    this.#writerClaimed = true
  }

  /**
   * Bytes from the transport, in any fragmentation. Returns the authenticated plaintext they
   * completed, each chunk owning exactly its bytes. A violation tears the connection down
   * (see `failure`); plaintext authenticated before it is still returned.
   * With `reuseInput` the caller gives `bytes` up (a freshly read socket chunk), saving a copy;
   * with `exact: false` a chunk may be a view into a larger, zero-padded buffer of its own (see
   * `PushOptions`).
   */
  receive (bytes: Uint8Array, options?: PushOptions): Uint8Array[] {
    if (this.#reading === 'torn-down' || bytes.byteLength === 0) return []
    if (this.#reading === 'ended') {
      // The same failure as when the bytes share the goodbye's segment: a reader that has not
      // reached the end yet gets the error, not a clean end.
      this.#reading = 'torn-down'
      this.abort(afterGoodbye())
      return []
    }
    let plaintexts: Uint8Array[]
    try {
      plaintexts = this.#decoder.push(bytes, options)
    } catch (err) {
      this.abort(err as Error)
      return []
    }
    const error = this.#decoder.error
    if (error !== undefined) this.abort(error)
    else if (this.#decoder.ended) this.#reading = 'ended'
    return plaintexts
  }

  /** The transport will deliver nothing more. Before the peer's goodbye that is a truncation. */
  receiveEnd (): void {
    if (this.#reading !== 'open') return
    try {
      this.#decoder.finish()
    } catch (err) {
      this.abort(err as Error)
    }
  }

  /** Seals plaintext (see `BoxStreamEncoder.encode`, including its reusable `output`). */
  send (chunks: Uint8Array | readonly Uint8Array[], output?: Uint8Array): Uint8Array {
    this.#checkWritable()
    return this.#encoder.encode(chunks, output)
  }

  /** The half-close: the goodbye packet to send last. Wipes the encrypt key. */
  goodbye (): Uint8Array {
    this.#checkWritable()
    this.#writing = 'ended'
    return this.#encoder.goodbye()
  }

  /** Tears the connection down (first error wins) and wipes both keys. */
  abort (error: Error): void {
    this.#failure ??= error
    if (this.#reading !== 'ended') this.#reading = 'torn-down'
    if (this.#writing !== 'ended') this.#writing = 'torn-down'
    this.#encoder.destroy()
    this.#decoder.destroy()
  }

  /** Both goodbyes were exchanged and the transport closed: wipes both keys, nothing failed. */
  close (): void {
    this.#encoder.destroy()
    this.#decoder.destroy()
  }

  #checkWritable (): void {
    if (this.#failure !== undefined) throw this.#failure
    if (this.#writing !== 'open') {
      throw new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'cannot write to a secure stream after it sent goodbye')
    }
  }
}

function afterGoodbye (): BoxStreamError {
  return new BoxStreamError('ERR_BOX_STREAM_AFTER_GOODBYE',
    'bytes arrived after the peer\'s box-stream goodbye: the peer is broken, or someone is injecting data')
}
