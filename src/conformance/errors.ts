/**
 * Why a conformance run could not go on: the target cannot be reached or started, or a check
 * named in `only`/`skip` does not exist (an option of the wrong type or range throws the
 * library's InvalidOptionError). A check that fails is not an error: it is a result. `code` is
 * stable for programs.
 */

export type ConformanceErrorCode =
  /** The server under test could not be reached at all (nothing listens, or the address is wrong). */
  | 'ERR_CONFORMANCE_UNREACHABLE'
  /** A `command` could not be started, or did not accept connections in time. */
  | 'ERR_CONFORMANCE_START'
  /** `only` or `skip` names no check. */
  | 'ERR_CONFORMANCE_UNKNOWN_CHECK'

export class ConformanceError extends Error {
  readonly code: ConformanceErrorCode

  constructor (code: ConformanceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ConformanceError'
    this.code = code
  }
}

/** A connection to the peer could not be opened (the reachability probe, or during a check). */
export class PeerConnectError extends ConformanceError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_CONFORMANCE_UNREACHABLE', message, options)
    this.name = 'PeerConnectError'
  }
}

/** Inside a check: it cannot go on, and the message is its verdict (a failure). */
export class CheckFailure extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'CheckFailure'
  }
}
