/**
 * The buffers the decoder hands out: each plaintext owns exactly its bytes, or (for consumers
 * that slice anyway) is a view at the start of a buffer of its own whose rest is zeroed.
 */
import { viewOf } from '#crypto-backend'

/**
 * From this size on, plaintext opened into a buffer that owns its whole ArrayBuffer (our own
 * scratch buffer, or a socket's chunk given up with reuseInput) keeps that memory, trimmed to the
 * plaintext by `ArrayBuffer.prototype.transfer`, instead of being copied: for 64 KiB that is
 * several times cheaper than a copy. Smaller plaintext is copied into a buffer of its own size.
 */
const TRANSFER_MIN_BYTES = 16 * 1024

/** The first `length` bytes of `output` as a buffer of their own (see TRANSFER_MIN_BYTES). */
export function ownedPlaintext (output: Uint8Array, length: number): Uint8Array {
  const buffer = output.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer }
  if (length >= TRANSFER_MIN_BYTES && output.byteOffset === 0 &&
      buffer instanceof ArrayBuffer && buffer.byteLength === output.byteLength && buffer.transfer !== undefined) {
    return viewOf(buffer.transfer(length))
  }
  return Uint8Array.prototype.slice.call(output, 0, length)
}

/**
 * The first `length` bytes of `output` as a view at the start of its buffer, the rest of which is
 * zeroed (it held ciphertext, and perhaps part of a packet not yet authenticated). For consumers
 * that slice what they read anyway (see `PushOptions.exact`); without a buffer of its own to
 * zero, the plaintext is trimmed as usual.
 */
export function zeroedTailView (output: Uint8Array, length: number): Uint8Array {
  if (output.byteOffset !== 0 || output.buffer.byteLength !== output.byteLength) return ownedPlaintext(output, length)
  output.fill(0, length)
  return output.subarray(0, length)
}

export interface PushOptions {
  /**
   * The caller gives `bytes` up (a socket's freshly read chunk, say): the plaintext is opened
   * over the ciphertext it came from, which saves an allocation per chunk.
   */
  readonly reuseInput?: boolean
  /**
   * True (the default): each plaintext owns exactly its buffer. False: a plaintext may instead be
   * a view at the start of a larger buffer of its own whose rest is zeroed, which saves the copy
   * that trims it, for consumers that hand on views of what they read anyway (libp2p's muxers).
   */
  readonly exact?: boolean
}
