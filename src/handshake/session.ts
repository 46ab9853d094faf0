/**
 * What a completed handshake hands to the box stream (docs/PROTOCOL.md, "Session keys").
 */
import { concatBytes, wipe } from '../crypto/primitives.ts'
import type { RekeySettings } from './rekey-options.ts'

/** The rekey extension, when the handshake agreed on it: its settings, and which side we were. */
export interface SessionRekey extends RekeySettings {
  /** Our role in the handshake: it settles two rekeys started at once (docs/REKEY.md). */
  readonly role: 'client' | 'server'
}

export interface SessionKeys {
  /** The peer's long-term Ed25519 public key, proven by the handshake. */
  readonly remotePublicKey: Uint8Array
  /** Seals what we send. */
  readonly encryptKey: Uint8Array
  /** The first nonce of what we send: the first 24 bytes of the peer's hello MAC. */
  readonly encryptNonce: Uint8Array
  /** Opens what we receive. */
  readonly decryptKey: Uint8Array
  /** The first nonce of what we receive: the first 24 bytes of our own hello MAC. */
  readonly decryptNonce: Uint8Array
  /** Present when the handshake agreed on the rekey extension (docs/REKEY.md); else plain SHS1. */
  readonly rekey?: SessionRekey
}

/** `encryptKey ‖ encryptNonce ‖ decryptKey ‖ decryptNonce`, the 112-byte outcome shs1-test compares. */
export function sessionOutcome (session: SessionKeys): Uint8Array {
  return concatBytes(session.encryptKey, session.encryptNonce, session.decryptKey, session.decryptNonce)
}

export function wipeSession (session: SessionKeys): void {
  wipe(session.encryptKey, session.decryptKey)
}
