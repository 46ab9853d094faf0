/**
 * Where the libp2p connection seals what it sends. A libp2p `MessageStream` never says when its
 * transport is done with a buffer it was given, so by default every send is sealed into a fresh
 * buffer. Fresh memory is costly at this rate: each 64 KiB send is an external allocation that
 * brings V8's next full collection nearer, and memory that is not in the cache.
 *
 * One case can be proven instead of assumed: a raw connection on a `node:net` socket
 * (@libp2p/tcp keeps it as `socket`). When, right after `send()` returns, the raw connection's
 * write queue is empty (it passed every byte to the socket) and so is the socket's
 * (`writableLength` 0: Node's write completed at once, so the kernel has copied the bytes and
 * no write request or stream buffer refers to them), nothing holds the buffer any more and the
 * next send may seal into it. Anything else (another transport, a write that had to wait) leaves
 * the buffer to its holders, and the next send gets a fresh one.
 */
import type { MessageStream } from '@libp2p/interface'
import { BoxStream } from '../connection/box-stream.ts'
import { MAX_ENCODE_BATCH_BYTES } from './constants.ts'

/**
 * Below this a send is sealed into a buffer of its own size, as over plain TCP: a small send
 * must not take the spare a large one could use, only to leave it with a socket that is busy.
 */
const MIN_REUSED_BYTES = 16 * 1024
/** The largest sealed batch a send can produce; a spare never needs to be larger. */
const MAX_REUSED_BYTES = BoxStream.sealedLength(MAX_ENCODE_BATCH_BYTES)

/** What the proof reads of a socket: the bytes it still holds. */
export interface SocketWriteQueue {
  readonly writableLength: number
}

/**
 * Node's own socket class, looked up at run time rather than imported: this module is also
 * bundled for browsers, where there is no such class and no buffer is ever reused. Only under
 * Node itself: other runtimes' sockets may keep a written buffer without counting it.
 */
const NodeSocket: (abstract new (...args: never[]) => SocketWriteQueue) | undefined =
  typeof process === 'object' && process.release?.name === 'node' && process.versions.bun === undefined &&
  process.versions.deno === undefined
    ? process.getBuiltinModule?.('net')?.Socket
    : undefined

/** The raw connection's `node:net` socket, if it has one we can read the proof from. */
export function kernelSocketOf (raw: MessageStream): SocketWriteQueue | undefined {
  const socket = (raw as { socket?: unknown }).socket
  return NodeSocket !== undefined && socket instanceof NodeSocket ? socket : undefined
}

/**
 * One spare buffer, shared by every connection of one encrypter (one libp2p node): a connection
 * keeps none while idle. Sharing is safe because a buffer is only ever taken, sealed into, sent
 * and given back within one synchronous send; a send nested in it finds no spare and allocates
 * its own.
 */
export class SpareOutput {
  #spare: Uint8Array | undefined

  /** A buffer to seal `sealedLength` bytes into, or undefined for a fresh allocation. */
  take (sealedLength: number): Uint8Array | undefined {
    const spare = this.#spare
    if (spare === undefined || sealedLength < MIN_REUSED_BYTES || spare.byteLength < sealedLength) return undefined
    this.#spare = undefined
    return spare
  }

  /**
   * `buffer` (one that owns its whole memory) was sent and provably let go: keep it for the next
   * send, unless a larger spare is kept already.
   */
  giveBack (buffer: Uint8Array): void {
    if (buffer.byteLength < MIN_REUSED_BYTES || buffer.byteLength > MAX_REUSED_BYTES) return
    if (buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) return
    if (this.#spare === undefined || this.#spare.byteLength < buffer.byteLength) this.#spare = buffer
  }
}
