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
