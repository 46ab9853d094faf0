/**
 * Scuttlebutt apps tell a peer that simply went away from a real failure by the error's message
 * alone: ssb-ebt logs every error whose message `ssb-network-errors` does not list, and that list
 * holds the exact words of Node's sockets (`read ECONNRESET`, `write EPIPE`, …) and of the
 * reference box stream (`unexpected hangup`). The streams our plugins hand to secret-stack and
 * multiserver fail with those words when the peer went away, and keep our explanation as `cause`.
 */
import { ShsError } from '../errors.ts'

/** pull-box-stream's words for a stream that ended without the goodbye. */
const HANGUP = 'unexpected hangup'

/**
 * The peer went away (it crashed, closed without goodbye, or the network dropped it), told in
 * the words the Scuttlebutt stack recognises. `cause` is the error that says what happened, and
 * `code` is its code.
 */
export class PeerGoneError extends ShsError {
  declare readonly cause: ShsError

  constructor (message: string, cause: ShsError) {
    super(cause.code, message, { cause })
    this.name = 'PeerGoneError'
  }
}

/**
 * A dropped peer as a `PeerGoneError`; any other error as it is. A failure of the socket keeps
 * Node's own message (`read ECONNRESET`), as the stock plugin passes it on; a transport that
 * ended or failed without one before the peer's goodbye is a hang-up.
 */
export function inScuttlebuttWords (error: unknown): unknown {
  if (!(error instanceof ShsError) || error instanceof PeerGoneError) return error
  const system = systemErrorOf(error)
  if (system !== undefined) return new PeerGoneError(system.message, error)
  if (error.code === 'ERR_BOX_STREAM_TRUNCATED' || error.code === 'ERR_SHS_CONNECTION') return new PeerGoneError(HANGUP, error)
  return error
}

/** The socket's own error (`read ECONNRESET`, with `syscall` and `code`) somewhere in the causes. */
function systemErrorOf (error: Error): NodeJS.ErrnoException | undefined {
  for (let cause: unknown = error.cause; cause instanceof Error; cause = cause.cause) {
    const { syscall, code } = cause as NodeJS.ErrnoException
    if (typeof syscall === 'string' && typeof code === 'string' && cause.message === `${syscall} ${code}`) return cause
  }
  return undefined
}
