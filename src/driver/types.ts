/** The shapes the adapters speak: it-pipe style duplexes and the secure stream they yield. */
import type { KeyPair } from '../crypto/keys.ts'
import type { MessageName } from '../handshake/explain.ts'
import type { RekeyOption } from '../handshake/rekey-options.ts'

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
  /** Whether the handshake agreed on the rekey extension (docs/REKEY.md); false: plain SHS1. */
  readonly rekeying: boolean
  /** Rekeys completed so far. */
  readonly rekeys: number
  /**
   * Takes fresh keys now, with a fresh Diffie-Hellman: resolves once a rekey completed after the
   * call. Rejects with `ERR_SHS_REKEY_NOT_NEGOTIATED` on a plain SHS1 connection.
   */
  rekey (): Promise<void>
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
  /**
   * The rekey extension (docs/REKEY.md): `'prefer'` asks for it and connects with plain SHS1 to a
   * server without it, `'require'` fails with `ERR_SHS_REKEY_REQUIRED` there; an object sets the
   * mode and when to rekey. Default: plain SHS1. `clientHandshake()` takes only `'require'`: it
   * cannot connect again on the duplex it was given.
   */
  rekey?: RekeyOption
}

export interface ServerHandshakeOptions extends CommonHandshakeOptions {
  /** Decides on each client after it proved its key; default: accept every client that knows our key. */
  authorize?: Authorize
  /**
   * The rekey extension (docs/REKEY.md): `'prefer'` serves clients that ask for it and plain
   * SHS1 clients on the same port, `'require'` only the former. Default: plain SHS1 only.
   */
  rekey?: RekeyOption
}
