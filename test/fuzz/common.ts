/**
 * What the fuzz targets share: running a property, reproducible filler bytes, mutations of a
 * byte string and cuts into pieces.
 */
import fc from 'fast-check'
import { concatBytes } from '../../src/crypto/primitives.ts'

/** A secretbox key, and the network key of a transcript. */
export const KEY_BYTES = 32

export interface FuzzOutcome {
  /** Cases run (up to and including the first failure). */
  numRuns: number
  failed: boolean
  /** fast-check's report: seed, path and the shrunk counterexample. */
  report: string
}

export interface FuzzTarget {
  readonly name: string
  run (numRuns: number, seed?: number): FuzzOutcome
}

export function runProperty<Ts> (property: fc.IProperty<Ts>, numRuns: number, seed: number | undefined): FuzzOutcome {
  const details = fc.check(property, { numRuns, ...(seed === undefined ? {} : { seed }) })
  return { numRuns: details.numRuns, failed: details.failed, report: fc.defaultReportMessage(details) ?? '' }
}

/**
 * Reproducible filler bytes from a seed (xorshift32). Generating thousands of bytes one
 * arbitrary at a time would make fast-check, not the decoder, the bottleneck.
 */
export function fillerBytes (length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length)
  let state = (seed | 0) === 0 ? 0x9e3779b9 : seed | 0
  for (let i = 0; i < length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    bytes[i] = state & 0xff
  }
  return bytes
}

export const filler = (maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.record({ length: fc.nat({ max: maxLength }), seed: fc.integer() }).map(({ length, seed }) => fillerBytes(length, seed))

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i])
}

export type Mutation =
  | { readonly op: 'flip', readonly at: number, readonly bit: number }
  | { readonly op: 'set', readonly at: number, readonly value: number }
  | { readonly op: 'delete', readonly at: number, readonly count: number }
  | { readonly op: 'insert', readonly at: number, readonly bytes: Uint8Array }
  | { readonly op: 'duplicate', readonly from: number, readonly count: number, readonly to: number }
  | { readonly op: 'swap', readonly a: number, readonly b: number, readonly count: number }
  | { readonly op: 'truncate', readonly at: number }

/** Positions are drawn unbounded and taken modulo the length at the time they apply. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.nat({ max: 255 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 200 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('duplicate' as const), from: fc.nat(), count: fc.integer({ min: 1, max: 5000 }), to: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat(), count: fc.integer({ min: 1, max: 5000 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }), weight: 1 }
)
export const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 })

export function mutate (original: Uint8Array, list: readonly Mutation[]): Uint8Array {
  let bytes: Uint8Array = original.slice()
  for (const m of list) {
    const length = bytes.byteLength
    switch (m.op) {
      case 'flip':
        if (length > 0) bytes[m.at % length] = (bytes[m.at % length] as number) ^ (1 << m.bit)
        break
      case 'set':
        if (length > 0) bytes[m.at % length] = m.value
        break
      case 'delete': {
        const at = m.at % (length + 1)
        bytes = concatBytes(bytes.subarray(0, at), bytes.subarray(at + m.count))
        break
      }
      case 'insert': {
        const at = m.at % (length + 1)
        bytes = concatBytes(bytes.subarray(0, at), m.bytes, bytes.subarray(at))
        break
      }
      case 'duplicate': {
        const from = m.from % (length + 1)
        const to = m.to % (length + 1)
        bytes = concatBytes(bytes.subarray(0, to), bytes.slice(from, from + m.count), bytes.subarray(to))
        break
      }
      case 'swap': {
        // Two non-overlapping ranges trade places: reordering at arbitrary, not only packet, boundaries.
        const [first, second] = [m.a % (length + 1), m.b % (length + 1)].sort((x, y) => x - y) as [number, number]
        const count = Math.min(m.count, second - first)
        if (count === 0) break
        bytes = concatBytes(...[
          bytes.subarray(0, first), bytes.subarray(second, second + count), bytes.subarray(first + count, second),
          bytes.subarray(first, first + count), bytes.subarray(second + count)
        ])
        break
      }
      case 'truncate':
        bytes = bytes.slice(0, m.at % (length + 1))
        break
    }
  }
  return bytes
}

/** Cut points, taken modulo the length: empty pieces and single bytes included. */
export const cuts = fc.array(fc.nat(), { maxLength: 24 })

export function fragment (bytes: Uint8Array, cutPoints: readonly number[]): Uint8Array[] {
  const points = cutPoints.map((p) => p % (bytes.byteLength + 1)).sort((a, b) => a - b)
  const pieces: Uint8Array[] = []
  let previous = 0
  for (const point of [...points, bytes.byteLength]) {
    pieces.push(bytes.subarray(previous, point))
    previous = point
  }
  return pieces
}
