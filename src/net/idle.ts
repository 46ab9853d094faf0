/**
 * The idle timeout of an established TCP connection: no byte moved either way for `idleTimeout`
 * ms ends it with ERR_SHS_IDLE_TIMEOUT. A peer that stalls inside a packet (a header without its
 * body) moves no bytes, so it is idle too. Both directions count, so a one-way transfer keeps
 * its connection alive from either end.
 */
import type { Socket } from 'node:net'
import { ShsError } from '../errors.ts'
import type { SecureStream } from '../stream/types.ts'
import { MAX_TIMEOUT_MS, integerOption } from '../options.ts'

/** An idle timeout longer than this is a mistake (setTimeout's own limit is ~24.8 days). */

export function checkIdleTimeout (idleTimeout: number | undefined): number | undefined {
  if (idleTimeout === undefined) return undefined
  return integerOption('idleTimeout', idleTimeout, 0, { min: 1, max: MAX_TIMEOUT_MS })
}

/** Ends `stream` with a typed error once `socket` has been idle for `idleTimeout` ms; nothing if undefined. */
export function watchIdle (socket: Socket, stream: SecureStream, idleTimeout: number | undefined): void {
  if (idleTimeout === undefined) return
  socket.setTimeout(idleTimeout)
  socket.once('timeout', () => {
    stream.abort(new ShsError('ERR_SHS_IDLE_TIMEOUT', `the connection was closed after no byte moved either way for ${idleTimeout} ms (idleTimeout): ` +
      'the peer stalled or went away without a word; for long quiet links, send something now and then or raise idleTimeout'))
  })
}
