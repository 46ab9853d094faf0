/**
 * The peer on the far side of every way in: SHS1 and the box stream played by hand over a raw
 * end, with the library's sans-IO core (proven byte-exact by the recorded vectors), so it can
 * send what no honest peer would: bytes after goodbye, a truncated stream, nothing at all.
 */
import {
  BoxStreamDecoder, BoxStreamEncoder, SecretHandshake, type SessionKeys
} from '../../src/index.ts'
import type { Identities, RawEnd, Role } from './ways/types.ts'

/** What the peer read of the app's stream. */
export interface PeerReading {
  readonly data: Uint8Array
  /** The app sent its goodbye (a clean end), as opposed to the transport just ending. */
  readonly goodbye: boolean
}

export class ScriptedPeer {
  readonly raw: RawEnd
  readonly #encoder: BoxStreamEncoder
  readonly #decoder: BoxStreamDecoder
  /** Bytes read past the last handshake message: the start of the app's box stream. */
  #leftover: Uint8Array[]

  private constructor (raw: RawEnd, session: SessionKeys, leftover: Uint8Array[]) {
    this.raw = raw
    this.#encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce)
    this.#decoder = new BoxStreamDecoder(session.decryptKey, session.decryptNonce)
    this.#leftover = leftover
  }

  /** Plays `role` of the handshake on `raw` against the app, whose key pair is `identities.ours`. */
  static async handshake (raw: RawEnd, role: Role, identities: Identities): Promise<ScriptedPeer> {
    const machine = role === 'client'
      ? SecretHandshake.client({ keys: identities.theirs, networkKey: identities.networkKey, remotePublicKey: identities.ours.publicKey })
      : SecretHandshake.server({ keys: identities.theirs, networkKey: identities.networkKey })
    const reader = new ExactReader(raw.incoming)
    for (;;) {
      const action = machine.next()
      switch (action.type) {
        case 'write':
          await raw.write(action.bytes)
          break
        case 'read': {
          const message = await reader.read(action.length)
          if (message === undefined) throw new Error(`the way in hung up before ${action.message}`)
          machine.receive(message)
          break
        }
        case 'authorize':
          machine.authorize(true)
          break
        case 'complete':
          return new ScriptedPeer(raw, action.session, reader.rest())
      }
    }
  }

  async send (plaintext: Uint8Array): Promise<void> {
    await this.raw.write(this.#encoder.encode(plaintext))
  }

  /** Sends goodbye; with `after`, those bytes follow it in the same write (what no honest peer does). */
  async goodbye (after?: Uint8Array): Promise<void> {
    const goodbye = this.#encoder.goodbye()
    await this.raw.write(after === undefined ? goodbye : Buffer.concat([goodbye, after]))
  }

  /** Sends any bytes at all: a forged packet, garbage after goodbye. */
  async sendRaw (bytes: Uint8Array): Promise<void> {
    await this.raw.write(bytes)
  }

  /**
   * Opens what the app sends until its goodbye or the end of the transport; a bad packet throws.
   * With `pause`, waits that long between reads (a slow reader, so the app's writes stay in flight).
   */
  async readAll (pause?: () => Promise<void>): Promise<PeerReading> {
    const plaintext: Uint8Array[] = []
    const take = (bytes: Uint8Array): void => { for (const chunk of this.#decoder.push(bytes)) plaintext.push(chunk) }
    for (const bytes of this.#leftover.splice(0)) take(bytes)
    while (!this.#decoder.ended) {
      const result = await this.raw.incoming.next()
      if (result.done === true) break
      take(result.value)
      if (this.#decoder.error !== undefined) throw this.#decoder.error
      await pause?.()
    }
    return { data: Buffer.concat(plaintext), goodbye: this.#decoder.ended }
  }
}

/** Exact-length reads from a raw end's incoming chunks, for the handshake's fixed-size messages. */
class ExactReader {
  readonly #incoming: AsyncIterator<Uint8Array>
  #buffered = Buffer.alloc(0)

  constructor (incoming: AsyncIterator<Uint8Array>) {
    this.#incoming = incoming
  }

  async read (length: number): Promise<Uint8Array | undefined> {
    while (this.#buffered.byteLength < length) {
      const result = await this.#incoming.next()
      if (result.done === true) return undefined
      this.#buffered = Buffer.concat([this.#buffered, result.value])
    }
    const message = this.#buffered.subarray(0, length)
    this.#buffered = this.#buffered.subarray(length)
    return new Uint8Array(message)
  }

  rest (): Uint8Array[] {
    return this.#buffered.byteLength === 0 ? [] : [new Uint8Array(this.#buffered)]
  }
}
