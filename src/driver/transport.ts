/** What a byte transport does for the SecureStream driver, and the words for its failures. */
import { ConnectionError, ShsError } from '../errors.ts'
import type { OutboxTransport } from './outbox.ts'

/** What a transport does for the stream; everything else is decided by the machine and here. */
export interface StreamTransport extends OutboxTransport {
  /** Writes the last bytes (goodbye) and resolves once the transport took them. */
  writeLast (sealed: Uint8Array): Promise<void>
  /**
   * Both directions ended cleanly: close once what was written is out (TCP: FIN), and for good
   * within a bounded time even if the peer never closes its side.
   */
  close (): void
  /** Teardown: close at once. */
  destroy (error: Error): void
  /** The read queue is full / has room again (a transport that cannot pause bounds its own intake). */
  pause (): void
  resume (): void
}

export type Chunk = Uint8Array | { subarray(): Uint8Array }
export type PlainSource = AsyncIterable<Chunk> | Iterable<Chunk>

export function toBytes (chunk: Chunk): Uint8Array {
  return chunk instanceof Uint8Array ? chunk : chunk.subarray()
}

/** A transport failure in the words the library uses for one. */
export function connectionBroke (err: unknown): ShsError {
  if (err instanceof ShsError) return err
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const message = (err as Error | undefined)?.message
  // An error with no message (Node's WebSocket makes them) is named by its class, never as "()".
  const reason = code ?? (message === '' ? `${(err as Error).name} without a message` : message ?? String(err))
  return new ConnectionError(`the connection broke (${reason}): the peer crashed or the network failed`, { cause: err })
}
