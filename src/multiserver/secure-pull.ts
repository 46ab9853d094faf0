/**
 * A secure stream as a pull-stream duplex: what muxrpc, secret-stack and multiserver speak. The
 * multiserver and secret-stack plugins hand these to their apps, and `shs-transport/pull` hands
 * them to code that dials with `connect()`, in Node or in a page.
 */
import type { SecureStream } from '../driver/types.ts'
import { type RekeyView, withRekeyView } from '../driver/rekey-view.ts'
import { inScuttlebuttWords } from './network-errors.ts'
import { type PullDuplex, type PullEnd, type PullSource, fromPullSource } from './pull.ts'

/** The part of Node's Buffer (or of a page's polyfill of it) that wraps bytes without copying them. */
interface BufferClass {
  isBuffer (value: unknown): boolean
  from (buffer: ArrayBufferLike, byteOffset: number, length: number): Uint8Array
}

/**
 * The stream's plaintext as a pull source, and a pull sink into the stream. Chunks come out as
 * Buffers where a global `Buffer` exists (Node, or a page that provides one, as muxrpc needs there:
 * pull-stream code calls Buffer methods on what it reads), else as plain Uint8Arrays. When the
 * peer went away, the source ends with a PeerGoneError, in the words ssb-network-errors knows.
 * `rekeying`, `rekeys` and `rekey()` are the stream's (docs/REKEY.md).
 */
export function toPullDuplex (stream: SecureStream): SecurePullDuplex {
  const buffer = (globalThis as { Buffer?: BufferClass }).Buffer
  const duplex = buffer === undefined
    ? pullDuplexOf(stream, (chunk) => chunk)
    : pullDuplexOf(stream, (chunk) => buffer.isBuffer(chunk) ? chunk : buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
  return withRekeyView(duplex, stream)
}

/** A pull-stream duplex of a secure stream, with the connection's rekey state (docs/REKEY.md) passed through. */
export type SecurePullDuplex = PullDuplex<Uint8Array> & RekeyView

/** The same, each chunk made what the pull-stream side expects by `toChunk` (the multiserver plugin: a Buffer). */
export function pullDuplexOf<T extends Uint8Array> (stream: SecureStream, toChunk: (chunk: Uint8Array) => T): PullDuplex<T> {
  return {
    source: plaintextSource(stream, toChunk),
    sink: (read) => {
      // A failed connection aborts the app's source with its error, as a pull-stream sink that
      // fails does; a clean end needs nothing (the source ended the writing itself).
      stream.sink(fromPullSource(read, false)).catch((err: unknown) => {
        read(err instanceof Error ? err : new Error(String(err)), ignore)
      })
    }
  }
}

/**
 * Read straight from the stream's iterator (no generator in between, which could not be stopped
 * while it waits). Aborting it with `true` stops reading; with an error, tears the connection
 * down with that error.
 */
function plaintextSource<T> (secure: SecureStream, toChunk: (chunk: Uint8Array) => T): PullSource<T> {
  const iterator = secure.source[Symbol.asyncIterator]()
  let finished: PullEnd = null
  return (abort, cb) => {
    if (finished !== null) { cb(finished); return }
    if (abort !== null && abort !== undefined && abort !== false) {
      finished = abort
      if (abort === true) iterator.return?.().catch(ignore)
      else secure.abort(abort)
      cb(abort)
      return
    }
    iterator.next().then((result) => {
      if (finished !== null) { cb(finished); return }
      if (result.done === true) { finished = true; cb(true); return }
      cb(null, toChunk(result.value))
    }, (err: unknown) => {
      const error = inScuttlebuttWords(err)
      finished = error instanceof Error ? error : new Error(String(error))
      cb(finished)
    })
  }
}

function ignore (): void {}
