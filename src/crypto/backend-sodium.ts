/**
 * The backend for Node, Deno and Bun: `sodium-native` itself. Its functions are handed out as
 * they are (no wrapper), so routing the calls through the backend costs nothing.
 */
import { Buffer } from 'node:buffer'
import native from 'sodium-native'
import type { CryptoBackend } from './backend.ts'

export const sodium: CryptoBackend = native
export const backendName = 'sodium-native'

/** Memory the codecs overwrite completely: from Node's Buffer pool, uninitialised, so no zeroing pass. */
export function allocUnsafe (length: number): Uint8Array {
  return Buffer.allocUnsafe(length)
}

/** Memory that owns its whole ArrayBuffer (not a slice of the pool), uninitialised. */
export function allocOwned (length: number): Uint8Array {
  return Buffer.allocUnsafeSlow(length)
}

/** A byte view over all of `buffer`, as the rest of the platform's code expects (a Buffer here). */
export function viewOf (buffer: ArrayBuffer): Uint8Array {
  return Buffer.from(buffer)
}
