/**
 * Puts the box-stream core on an it-pipe duplex. The raw sink is fed by one pull-based
 * generator for the connection's whole life (handshake messages first, then sealed packets), so
 * the transport's backpressure reaches the application's source unchanged.
 */
import { pushable, type Pushable } from 'it-pushable'
import { BoxStreamDecoder } from '../boxstream/decoder.ts'
import { BoxStreamEncoder } from '../boxstream/encoder.ts'
import { ConnectionError, ShsError } from '../errors.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { wipeSession } from '../handshake/session.ts'
import { type ByteReader, toBytes } from './reader.ts'
import type { ByteDuplex, SecureStream } from './types.ts'

type PlainSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>

/** The outbound half of a connection: handshake messages, then (once `sink` is called) box-stream packets. */
export class Outbound {
  readonly handshakeMessages: Pushable<Uint8Array> = pushable()
  readonly #plaintext: Promise<PlainSource | undefined>
  #providePlaintext: (source: PlainSource | undefined) => void = () => {}
  #encoder: BoxStreamEncoder | undefined
  readonly done: Promise<void>

  constructor (raw: ByteDuplex) {
    this.#plaintext = new Promise((resolve) => { this.#providePlaintext = resolve })
    this.done = Promise.resolve().then(async () => { await raw.sink(this.#generate()) })
    // Failures surface through `sink()`; until somebody asks, they must not be unhandled.
    this.done.catch(() => {})
  }

  /** Handshake over: from now on `source` feeds the encoder. */
  start (encoder: BoxStreamEncoder): void {
    this.#encoder = encoder
    this.handshakeMessages.end()
  }

  setPlaintext (source: PlainSource): void {
    this.#providePlaintext(source)
  }

  /** The handshake failed or the stream was aborted: write nothing more. */
  stop (): void {
    this.#encoder?.destroy()
    this.handshakeMessages.end()
    this.#providePlaintext(undefined)
  }

  async * #generate (): AsyncGenerator<Uint8Array, void, undefined> {
    yield * this.handshakeMessages
    const source = await this.#plaintext
    const encoder = this.#encoder
    if (source === undefined || encoder === undefined || encoder.ended) return
    try {
      for await (const chunk of source) {
        const sealed = encoder.encode(toBytes(chunk))
        if (sealed.byteLength > 0) yield sealed
      }
      // shs1.md, "Box-stream": goodbye marks a clean end (a half-close: we may still read).
      if (!encoder.ended) yield encoder.goodbye()
    } finally {
      encoder.destroy()
    }
  }
}

export function createSecureStream (raw: ByteDuplex, reader: ByteReader, outbound: Outbound, session: SessionKeys): SecureStream {
  const encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce)
  const decoder = new BoxStreamDecoder(session.decryptKey, session.decryptNonce)
  wipeSession(session)
  outbound.start(encoder)
  let sinkCalled = false

  const abort = (reason?: Error): void => {
    decoder.destroy()
    outbound.stop()
    reader.close()
    raw.abort?.(reason ?? new ShsError('ERR_BOX_STREAM_CLOSED', 'the secure stream was aborted'))
  }

  async function * decrypt (): AsyncGenerator<Uint8Array, void, undefined> {
    let clean = false
    try {
      // One chunk in, at most one plaintext out: no per-packet awaits on the hot path.
      for (let chunk = await readTransport(reader); chunk !== undefined; chunk = await readTransport(reader)) {
        for (const plaintext of decoder.push(chunk)) yield plaintext
        if (decoder.error !== undefined) throw decoder.error
        if (decoder.ended) break
      }
      decoder.finish()
      clean = true
    } finally {
      // Tampering or truncation: nothing more may be delivered, and the connection is useless.
      if (!clean) abort(decoder.error)
      else reader.close()
      decoder.destroy()
    }
  }

  return {
    remotePublicKey: session.remotePublicKey,
    source: decrypt(),
    async sink (source: PlainSource): Promise<void> {
      if (sinkCalled) throw new ShsError('ERR_SHS_INVALID_STATE', 'sink() was already called on this secure stream: pipe one source into it')
      sinkCalled = true
      outbound.setPlaintext(source)
      await outbound.done
    },
    abort
  }
}

/** The transport's next chunk, with transport failures turned into a typed `ConnectionError`. */
async function readTransport (reader: ByteReader): Promise<Uint8Array | undefined> {
  try {
    return await reader.readChunk()
  } catch (err) {
    if (err instanceof ShsError) throw err
    throw new ConnectionError(`the connection failed while reading: ${(err as Error).message ?? String(err)}`, { cause: err })
  }
}
