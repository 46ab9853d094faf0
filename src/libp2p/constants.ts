/** Names and defaults of the libp2p connection encrypter. */
import { fromString } from 'uint8arrays/from-string'

/** The multistream-select protocol id of plain SHS1 in libp2p (the muxer negotiated after it). */
export const SHS_PROTOCOL = '/shs/1.0.0'
/** SHS1 with the stream muxer agreed inside the handshake (./muxer-negotiation.ts): `shs()`'s default. */
export const SHS_MUXER_PROTOCOL = '/shs/1.1.0'
/**
 * The rekey extension (docs/REKEY.md) on top of each: the version says what it says for `/shs`,
 * so `/shs-rekey/1.1.0` is `/shs/1.1.0` with the handshake under the extension's network key.
 */
export const SHS_REKEY_PROTOCOL = '/shs-rekey/1.0.0'
export const SHS_REKEY_MUXER_PROTOCOL = '/shs-rekey/1.1.0'

/**
 * The network key `shs()` uses when none is given: sha256 of the UTF-8 text
 * `shs-transport: default network key for libp2p /shs/1.0.0`.
 *
 * Deliberately not Secure Scuttlebutt's main network key, so that a libp2p node never completes a
 * handshake with an SSB peer (or the reverse) by accident. Nodes that should form a private network
 * pass their own 32-byte key; nodes with different keys never connect.
 */
export const DEFAULT_LIBP2P_NETWORK_KEY: Uint8Array =
  fromString('b6adb928c2b52393dbbc305ecae7920d77605c1926c07ef22f2125ba173a53ec', 'base16')

/**
 * The most plaintext sealed in one pass when the write queue is long. Bounded so a single huge
 * `send()` cannot allocate its whole ciphertext at once or hold the event loop for long; large
 * enough (64 box-stream packets) that per-pass overhead is negligible.
 */
export const MAX_ENCODE_BATCH_BYTES = 256 * 1024

/**
 * How long hanging up on a peer that failed the handshake may wait for the transport to take our
 * last bytes (at most one handshake message) before the connection is aborted instead.
 */
export const HANG_UP_TIMEOUT_MS = 1000
