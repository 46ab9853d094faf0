/**
 * A Node `stream.Duplex` view of a secure stream, for code built on `pipe()` and stream events.
 * Ending the writable side sends goodbye; the readable side ends at the peer's goodbye.
 */
import { Duplex, PassThrough, Readable } from 'node:stream'
import type { SecureStream } from './types.ts'

export function toNodeDuplex (secure: SecureStream): Duplex {
  const readable = Readable.from(secure.source, { objectMode: false })
  const writable = new PassThrough()
  const duplex = Duplex.from({ readable, writable })
  secure.sink(writable).catch((err: unknown) => {
    duplex.destroy(err instanceof Error ? err : new Error(String(err)))
  })
  duplex.once('close', () => {
    // Destroyed before both sides ended cleanly: tear the connection down too.
    if (!readable.readableEnded || !writable.writableFinished) secure.abort()
  })
  return duplex
}
