/**
 * One interface over the three transports the bench compares: this library, the npm reference
 * (secret-handshake + pull-box-stream) and plain TCP (no handshake, no encryption: the floor of
 * what a connection costs). The same orchestration code drives all three, in one process or
 * split across a parent and a child process.
 */

export type ImplName = 'ours' | 'reference' | 'tcp'
export const IMPLS: readonly ImplName[] = ['ours', 'reference', 'tcp']

/**
 * What a server does with each accepted connection:
 * - `sink`: counts what arrives and, once `bytes` have, answers one byte (the sender's stop watch);
 * - `echo`: sends back what arrives and closes when the client does (connect + handshake + close);
 * - `idle`: reads (so a close is noticed) but never writes: an established, idle connection.
 */
export type ServerMode =
  | { readonly kind: 'sink', readonly bytes: number }
  | { readonly kind: 'echo' }
  | { readonly kind: 'idle' }

export interface Target {
  readonly port: number
  /** The server's long-term public key (empty for plain TCP). */
  readonly publicKey: Uint8Array
}

export interface BenchServer {
  readonly target: Target
  /** Connections that completed the handshake (accepted sockets for plain TCP). */
  accepted (): number
  close (): Promise<void>
}

/** An established connection kept open. */
export interface Held {
  close (): void
}

export interface Transport {
  readonly name: ImplName
  serve (mode: ServerMode): Promise<BenchServer>
  /**
   * Connects (not timed), then sends `bytes` as repeated `chunk`s to a `sink` server and returns
   * the milliseconds from the first write to the server's answer, i.e. until every byte arrived.
   */
  transfer (target: Target, bytes: number, chunk: Uint8Array): Promise<number>
  /** TCP connect, handshake, and a clean close of both directions against an `echo` server. */
  connectAndClose (target: Target): Promise<void>
  /** TCP connect and handshake; the connection stays open until `close()`. */
  hold (target: Target): Promise<Held>
}

export const HOST = '127.0.0.1'
/** The sink's one-byte answer. */
export const ACK = Uint8Array.of(1)
/** Bytes per application write: a typical write size, not tied to the box stream's 4 KiB packets. */
export const WRITE_CHUNK_BYTES = 64 * 1024

export function makeChunk (): Buffer {
  // A fixed pattern: the content does not change the cost of sealing it.
  const chunk = Buffer.alloc(WRITE_CHUNK_BYTES)
  for (let index = 0; index < chunk.byteLength; index++) chunk[index] = index & 0xff
  return chunk
}

/** `bytes` as slices of `chunk`: the last one shortened so exactly `bytes` are sent. */
export function * pieces (bytes: number, chunk: Uint8Array): Generator<Uint8Array, void, undefined> {
  for (let sent = 0; sent < bytes; sent += chunk.byteLength) {
    yield bytes - sent >= chunk.byteLength ? chunk : chunk.subarray(0, bytes - sent)
  }
}

export function ignore (): void {}

/** A promise with its resolver, for "the answer arrived" signals. */
export function signal (): { promise: Promise<void>, resolve: () => void } {
  let resolve: () => void = ignore
  const promise = new Promise<void>((done) => { resolve = done })
  return { promise, resolve }
}

export async function loadTransport (name: ImplName): Promise<Transport> {
  switch (name) {
    case 'ours': return (await import('./ours.ts')).ours
    case 'reference': return (await import('./reference.ts')).reference
    case 'tcp': return (await import('./tcp.ts')).tcp
  }
}
