/**
 * What `shs listen` does with a server's errors that are not about one handshake: an accept
 * failure (out of file descriptors or memory) comes every second while it lasts, so it is logged
 * at most once per `ACCEPT_LOG_INTERVAL_MS`, with a count of those left unsaid; a callback that
 * threw is a bug worth a process warning; a stream's own teardown (the peer left) is routine.
 */
import { performance } from 'node:perf_hooks'
import { CallbackError, type ShsError } from '../index.ts'
import type { Log } from './log.ts'

export const ACCEPT_LOG_INTERVAL_MS = 1_000

export function serverErrorLogger (log: Log, now: () => number = () => performance.now()): (error: ShsError) => void {
  let last = Number.NEGATIVE_INFINITY
  let unsaid = 0
  return (error) => {
    if (error.code === 'ERR_SHS_ACCEPT_FAILED') {
      const at = now()
      if (at - last < ACCEPT_LOG_INTERVAL_MS) {
        unsaid++
        return
      }
      last = at
      log.warn(unsaid === 0 ? error.message : `${error.message} (and ${unsaid} more since the last such line)`)
      unsaid = 0
      return
    }
    // As without an onError: a failed callback warns; a stream's teardown was the peer leaving.
    if (error instanceof CallbackError) process.emitWarning(error)
  }
}
