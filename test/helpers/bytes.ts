/** Small byte helpers shared by the tests. */
import { randomBytes } from 'node:crypto'

export function randomPayload (length: number): Uint8Array {
  return new Uint8Array(randomBytes(length))
}

export function concat (chunks: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks))
}

export async function collect (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of source) chunks.push(chunk)
  return concat(chunks)
}

/** Splits `payload` into pieces whose sizes cycle through `sizes` (irregular on purpose). */
export function splitIrregular (payload: Uint8Array, sizes: readonly number[] = [1, 4095, 4096, 4097, 7, 65536, 33]): Uint8Array[] {
  const pieces: Uint8Array[] = []
  let offset = 0
  for (let i = 0; offset < payload.byteLength; i++) {
    const size = sizes[i % sizes.length] as number
    pieces.push(payload.subarray(offset, offset + size))
    offset += size
  }
  return pieces
}

export function fromHex (hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

export function toHex (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b))
}
