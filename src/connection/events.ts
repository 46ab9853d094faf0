/** What the box-stream machine tells its adapter, and the shapes of its answers (box-stream.ts). */

/** What a call to the machine made happen, for the adapter to act on, in order. */
export type BoxStreamEvent =
  /** Authenticated plaintext, owning exactly its bytes (see `PushOptions.exact`). */
  | { readonly type: 'data', readonly plaintext: Uint8Array }
  /** The peer said goodbye: nothing more will come from it (the read side ended cleanly). */
  | { readonly type: 'goodbye' }
  /** Both goodbyes are exchanged: close the transport gracefully once what was written is out. */
  | { readonly type: 'finished' }
  /** The connection was torn down (tampering, truncation, bytes after goodbye): close the transport at once. */
  | { readonly type: 'failed', readonly error: Error }
  /** Rekey extension: control packets to write now, after what was sealed before this call. */
  | { readonly type: 'write', readonly bytes: Uint8Array }
  /** Rekey extension: a rekey completed (both directions are on new keys, or ours ended). */
  | { readonly type: 'rekeyed' }

/** What `goodbye()` gives: the bytes to write last, and whether the peer had said goodbye already. */
export interface Goodbye {
  readonly bytes: Uint8Array
  /** Both goodbyes are exchanged once these bytes are out: close the transport after them. */
  readonly finished: boolean
}

/** Where one direction is: open, ended cleanly by goodbye, or ended by the teardown. */
export type DirectionState = 'open' | 'ended' | 'torn-down'

export const NOTHING: readonly BoxStreamEvent[] = Object.freeze([])
export const GOODBYE: BoxStreamEvent = Object.freeze({ type: 'goodbye' })
export const FINISHED: BoxStreamEvent = Object.freeze({ type: 'finished' })
export const REKEYED: BoxStreamEvent = Object.freeze({ type: 'rekeyed' })

/** What a box stream may be given besides its session. */
export interface BoxStreamOptions {
  /** Milliseconds from any fixed origin, for the rekey extension's rate caps (default `performance.now`). */
  readonly now?: () => number
}

/** A live connection's keys and next nonces, both ways (test-only, see src/connection/testing.ts). */
export interface LiveKeys {
  readonly encrypt: { readonly key: Uint8Array, readonly nonce: Uint8Array }
  readonly decrypt: { readonly key: Uint8Array, readonly nonce: Uint8Array }
}
