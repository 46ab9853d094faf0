/**
 * Comparison candidate (npm run bench:backends -- --candidates): sodium-javascript, the pure
 * JavaScript port that sodium-universal picks in browsers. Its API is sodium-native's, so the
 * module is a backend as it is. Not a dependency: `npm install --no-save sodium-javascript`.
 */
import native from 'sodium-javascript'
import type { CryptoBackend } from '../../../src/crypto/backend.ts'

export const sodium: CryptoBackend = native
export const backendName = 'sodium-javascript'
export function allocUnsafe (length: number): Uint8Array {
  return new Uint8Array(length)
}
