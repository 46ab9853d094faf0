/**
 * A server's accept failures, reported instead of lost. When a process runs out of file
 * descriptors, libuv (under Node's net) accepts and closes the waiting connections itself and
 * says nothing (its "EMFILE trick"); only if even that fails does the server emit an 'error'.
 * So, while listening, a probe opens and closes one descriptor every second: a probe that fails
 * for lack of descriptors or memory is reported like the 'error' event is. The counts are
 * `acceptErrors` in the listener's stats.
 */
import { closeSync, openSync } from 'node:fs'
import { devNull } from 'node:os'
import { AcceptError } from '../errors.ts'

/** How often the probe looks, and so the most often an ongoing shortage is reported. */
export const ACCEPT_PROBE_INTERVAL_MS = 1_000

/** System codes that mean "out of resources", not "this connection failed". */
const SHORTAGES = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'ENOBUFS'])

export class AcceptErrors {
  #count = 0
  readonly #report: (error: AcceptError) => void
  #probe: ReturnType<typeof setInterval> | undefined

  constructor (report: (error: AcceptError) => void) {
    this.#report = report
  }

  /** Accept failures seen so far: 'error' events, and probes that found no descriptor. */
  get count (): number {
    return this.#count
  }

  /** The server's 'error' event once it listens: every one is an accept failure. */
  readonly serverError = (err: NodeJS.ErrnoException): void => {
    this.#failed(new AcceptError(err.code ?? err.message, { cause: err }))
  }

  start (): void {
    this.#probe ??= setInterval(() => { this.#check() }, ACCEPT_PROBE_INTERVAL_MS)
    // The probe never keeps a process alive on its own.
    this.#probe.unref()
  }

  stop (): void {
    clearInterval(this.#probe)
    this.#probe = undefined
  }

  #check (): void {
    let fd: number
    try {
      fd = openSync(devNull, 'r')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      // Anything else (no /dev/null in a chroot) says nothing about accepting: the probe stops.
      if (code !== undefined && SHORTAGES.has(code)) this.#failed(new AcceptError(code, { cause: err }))
      else this.stop()
      return
    }
    closeSync(fd)
  }

  #failed (error: AcceptError): void {
    this.#count++
    this.#report(error)
  }
}
