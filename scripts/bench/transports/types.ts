/**
 * One interface over what the bench compares on loopback TCP: this library, the npm reference
 * (secret-handshake + pull-box-stream) and plain TCP (no handshake, no encryption). The same
 * code drives all three, in one process or with the server in a child process.
 */

/** `rekey`: ours with the rekey extension (transports/ours.ts, BENCH_REKEY). */
export type ImplName = 'ours' | 'rekey' | 'reference' | 'tcp'

/**
 * What a server does with each connection: `sink` counts what arrives and answers one byte once
 * `bytes` have (the sender's stop watch); `echo` sends back what arrives and closes when the
 * client does; `idle` reads (so a close is noticed) and never writes.
 */
export type ServerMode = { readonly kind: 'sink', readonly bytes: number } | { readonly kind: 'echo' } | { readonly kind: 'idle' }

export interface Target {
  readonly port: number
  /** The server's long-term public key (empty for plain TCP). */
  readonly publicKey: Uint8Array
}

export interface BenchServer {
  readonly target: Target
  /** Connections whose handshake completed (accepted sockets for plain TCP). */
  accepted (): number
  close (): Promise<void>
}

export interface Transport {
  /** Listens on `host` (default 127.0.0.1; the network lab passes an address of its namespaces). */
  serve (mode: ServerMode, host?: string): Promise<BenchServer>
  /** Connects (not timed), sends `bytes` in writes of `writeBytes` to a sink; ms from the first write to its answer. */
  transfer (target: Target, bytes: number, writeBytes: number): Promise<number>
  /** Connect, handshake and a clean close of both directions, against an echo server. */
  connectAndClose (target: Target): Promise<void>
  /** Connect and handshake; returns what closes the connection. */
  hold (target: Target): Promise<() => void>
  /** Mean ms of `count` 1-byte writes, each waiting for its echo (an interactive session). */
  roundTrip? (target: Target, count: number): Promise<number>
}

/** The sink's answer, and the byte of the interactive round trip. */
export const ONE_BYTE = Uint8Array.of(1)

const chunks = new Map<number, Buffer>()

/** `bytes` as writes of `writeBytes` (one shared buffer per size; the last write shortened). */
export function * writes (bytes: number, writeBytes: number): Generator<Buffer, void, undefined> {
  let chunk = chunks.get(writeBytes)
  if (chunk === undefined) {
    chunk = Buffer.alloc(writeBytes, 0x5a)
    chunks.set(writeBytes, chunk)
  }
  for (let sent = 0; sent < bytes; sent += writeBytes) yield bytes - sent >= writeBytes ? chunk : chunk.subarray(0, bytes - sent)
}

export function ignore (): void {}

/** A promise with its resolver, for "the answer arrived" signals. */
export function signal (): { promise: Promise<void>, resolve: () => void } {
  let resolve: () => void = ignore
  const promise = new Promise<void>((done) => { resolve = done })
  return { promise, resolve }
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
export const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'))
