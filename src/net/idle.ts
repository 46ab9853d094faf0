/**
 * The idle timeout of an established TCP connection: no byte moved either way for `idleTimeout`
 * ms ends it with ERR_SHS_IDLE_TIMEOUT. A peer that stalls inside a packet (a header without its
 * body) moves no bytes, so it is idle too. Both directions count, so a one-way transfer keeps
 * its connection alive from either end.
 */
import type { Socket } from 'node:net'
import { idleTimeoutError } from '../errors.ts'
import type { SecureStream } from '../driver/types.ts'
import { optionalDuration } from '../options.ts'

export function checkIdleTimeout (idleTimeout: unknown): number | undefined {
  return optionalDuration(idleTimeout, 'idleTimeout')
}

/** Ends `stream` with a typed error once `socket` has been idle for `idleTimeout` ms; nothing if undefined. */
export function watchIdle (socket: Socket, stream: SecureStream, idleTimeout: number | undefined): void {
  if (idleTimeout === undefined) return
  socket.setTimeout(idleTimeout)
  socket.once('timeout', () => {
    stream.abort(idleTimeoutError(idleTimeout))
  })
}
