/** The bytes the buffer-reuse cases write: a pattern that differs from chunk to chunk and within one, so a stale or shifted byte shows. */
export function fillChunk (chunk: Uint8Array, index: number): void {
  for (let j = 0; j < chunk.byteLength; j++) chunk[j] = (index * 7 + j) & 0xff
}

/** What `count` chunks of `size` bytes, filled in turn, add up to. */
export function expectedChunks (size: number, count: number): Uint8Array {
  const expected = new Uint8Array(size * count)
  for (let i = 0; i < count; i++) fillChunk(expected.subarray(i * size, (i + 1) * size), i)
  return expected
}
