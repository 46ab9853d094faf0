/**
 * What a way in must provide to run the transport contract: a connection made the way an
 * application makes it (the app end, spoken through that way's own API), whose other end is a
 * raw transport the test drives byte by byte (the raw end), so the peer can do what no honest
 * peer would.
 */
import type { KeyPair } from '../../../src/index.ts'

/** The far end of the transport, under the test's hand. */
export interface RawEnd {
  /** What the way in sent, pulled: a slow reader here is backpressure there (where the transport has any). */
  readonly incoming: AsyncIterator<Uint8Array>
  /** Sends bytes; resolves once the transport took them (its backpressure). */
  write (bytes: Uint8Array): Promise<void>
  /** The clean end of the transport (TCP FIN, a WebSocket close, the end of a duplex or pull-stream). */
  end (): void
  /** The hard stop (a reset, an abort). */
  destroy (): void
  /** Resolves once the way in closed the transport (its end, a close, a reset). */
  readonly closed: Promise<void>
  isClosed (): boolean
}

/** The application's side of the connection, through the way in's own API. */
export interface AppEnd {
  readonly remotePublicKey: Uint8Array
  /** Plaintext from the peer; ends at its goodbye, throws the connection's error. */
  read (): AsyncIterable<Uint8Array>
  /**
   * Writes `count` chunks of `size` bytes from one buffer, refilled (see fixture.ts `fillChunk`)
   * as early as the way in's write API allows (when the next chunk is asked for, or a callback
   * says so), then goodbye; settles as that API settles (a rejection is the connection's error).
   */
  writeReusing (size: number, count: number): Promise<void>
  /** Writes until the connection fails; rejects with its error. */
  writeEndless (): Promise<void>
  /** The way's own echo, written as its docs show it, with the outcome ignored. */
  echoIgnoringOutcome (): void
  abort (): void
  /** Failures the app's runtime saw on its own (a page's unhandled rejections), if it is not this process. */
  failures? (): Promise<string[]>
}

export interface Identities {
  readonly ours: KeyPair
  readonly theirs: KeyPair
  readonly networkKey: Uint8Array
}

export type Role = 'client' | 'server'

export interface OpenOptions {
  /** Where the way in takes one: end the connection after this long without a byte. */
  idleTimeout?: number
}

/** A connection made through the way in, `role` being the app's side, and its raw far end. */
export interface Opened {
  readonly app: AppEnd
  readonly raw: RawEnd
  /** Releases whatever the way in made for this connection (a listener, a node). */
  close (): Promise<void>
}

export interface WayIn {
  readonly name: string
  /** Prepares what all of the way's connections share (a browser), and lets it go. */
  readonly before?: () => Promise<void>
  readonly after?: () => Promise<void>
  readonly roles: readonly Role[]
  /** Whether the way in has an idle timeout of its own. */
  readonly idleTimeout: boolean
  /**
   * The typed errors of the framework the way plugs into, which its users meet instead of ours
   * where that framework decides (libp2p reports a reset of the connection as its StreamResetError).
   */
  readonly frameworkErrors?: readonly string[]
  /**
   * The transport ending between two packets without goodbye is a clean end (libp2p: the muxer's
   * own frames tell whether its streams ended, as with noise and TLS); inside a packet it is a
   * truncation on every way in.
   */
  readonly cleanEndBetweenPackets?: boolean
  /** The app runs in another process (a browser page): this process's memory says nothing about what it holds. */
  readonly appElsewhere?: boolean
  /**
   * Makes a connection with the app in `role`. `handshake` plays the other role on the raw end
   * (by hand, with the sans-IO core) and must be called once the raw end exists.
   */
  open (role: Role, identities: Identities, handshake: (raw: RawEnd) => Promise<void>, options?: OpenOptions): Promise<Opened>
}
