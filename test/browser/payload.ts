/**
 * The payload the browser echo tests send: deterministic, so the page checks every byte that
 * comes back without holding a copy of what it sent.
 */

/** Byte i of the payload: a pattern that no shift or repeat of a chunk reproduces. */
export function payloadByte (i: number): number {
  return (i * 31 + (i >>> 13)) & 0xff
}

/** The payload's bytes from `offset`, `length` of them. */
export function payloadChunk (offset: number, length: number): Uint8Array {
  const chunk = new Uint8Array(length)
  for (let i = 0; i < length; i++) chunk[i] = payloadByte(offset + i)
  return chunk
}

/** Index (in the whole payload) of the first byte of `chunk`, read at `offset`, that differs, or -1. */
export function firstMismatch (chunk: Uint8Array, offset: number): number {
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] !== payloadByte(offset + i)) return offset + i
  }
  return -1
}
