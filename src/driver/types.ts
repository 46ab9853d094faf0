/** The shapes the adapters speak: it-pipe style duplexes and the secure stream they yield. */
import type { KeyPair } from '../crypto/keys.ts'
import type { MessageName } from '../handshake/explain.ts'

/** Any it-pipe compatible duplex of bytes: a TCP socket wrapper, a libp2p stream, an in-memory pair. */
export interface ByteDuplex {
  source: AsyncIterable<Uint8Array | { subarray(): Uint8Array }> | Iterable<Uint8Array>
  sink (source: AsyncIterable<Uint8Array>): Promise<unknown> | unknown
  /** Optional hard stop (destroy the socket, reset the stream); used when a handshake fails or is aborted. */
  abort? (reason: Error): void
}

export interface SecureStream {
  /** The peer's long-term Ed25519 public key, proven by the handshake. */
  readonly remotePublicKey: Uint8Array
  /** Authenticated plaintext from the peer; ends at the peer's goodbye and throws if the stream was cut or tampered with. */
  readonly source: AsyncIterable<Uint8Array>
  /** Encrypts everything `source` yields; sends goodbye (a half-close) when it ends. Resolves once all is written. */
  sink (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void>
  /** Tears the connection down at once, without goodbye: the peer sees a truncated stream. */
  abort (reason?: Error): void
}

export type Authorize = (remotePublicKey: Uint8Array) => boolean | Promise<boolean>

/** A handshake message that has just been sent or received and verified, for progress logs. */
export interface HandshakeProgress {
  readonly event: 'sent' | 'received'
  readonly message: MessageName
}

interface CommonHandshakeOptions {
  /** This peer's long-term Ed25519 key pair (see `generateKeyPair`). */
  keys: KeyPair
  /** The 32-byte network key; both sides must use the same one. `SSB_NETWORK_KEY` for Scuttlebutt's main network. */
  networkKey: Uint8Array
  /** Milliseconds the whole handshake may take (default 10 000). */
  timeout?: number
  /** Cancels the handshake; the promise rejects with an `AbortError`. */
  signal?: AbortSignal
  /** Told as each handshake message is sent, or received and verified (for verbose logs and timing). */
  onHandshakeProgress?: (progress: HandshakeProgress) => void
}

export interface ClientHandshakeOptions extends CommonHandshakeOptions {
  /** The server's long-term public key: SHS only answers callers who know it. */
  remotePublicKey: Uint8Array
  /**
   * Bytes to send right behind message 3, as the first data of the stream, half a round trip
   * before the handshake completes (docs/PROTOCOL.md, "Early data"). Only the holder of the
   * server's secret key can read them; a server that refuses us discards them. The call still
   * resolves once the server proved its key (message 4).
   */
  earlyData?: Uint8Array | readonly Uint8Array[]
}

export interface ServerHandshakeOptions extends CommonHandshakeOptions {
  /** Decides on each client after it proved its key; default: accept every client that knows our key. */
  authorize?: Authorize
}
