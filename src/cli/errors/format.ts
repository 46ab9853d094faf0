/**
 * Turns any failure into what the user sees: one line on stderr that names the likely cause and
 * the next step, and the documented exit code. Never a stack trace: those help us, not them.
 * The library's messages name its API options (`networkKey`); here they name the flags.
 */
import { CommanderError } from 'commander'
import { ShsError } from '../../index.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { MAX_PENDING_HANDSHAKES } from '../secure-net.ts'
import { CliError } from './cli-error.ts'

export interface Failure {
  exitCode: ExitCode
  message: string
}

export interface FailureContext {
  /** Our own id, so "not allowed" can say which id to send the server's operator. */
  ourId?: string
}

export function describeFailure (err: unknown, context: FailureContext = {}): Failure {
  if (err instanceof CliError) return { exitCode: err.exitCode, message: err.message }
  if (err instanceof CommanderError) return { exitCode: EXIT.USAGE, message: err.message }
  if (err instanceof ShsError) return describeShsError(err, context)
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (typeof code === 'string' && NETWORK_ERRNO.has(code)) {
    return { exitCode: EXIT.NETWORK, message: `the connection failed (${code}): the peer went away or the network dropped; try again` }
  }
  const text = err instanceof Error ? err.message : String(err)
  return { exitCode: EXIT.INTERNAL, message: `unexpected error: ${text} (this is a bug in shs; please report it with the command you ran)` }
}

const NETWORK_ERRNO = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN'])

function describeShsError (err: ShsError, context: FailureContext): Failure {
  switch (err.code) {
    case 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO':
      return refused('the server hung up after our first message: wrong --network-key, or not an SHS server at ' +
        'that address (check the port)')
    case 'ERR_SHS_INVALID_HELLO':
      return refused('the peer\'s hello does not match our --network-key: it uses another network key, ' +
        'or it does not speak SHS (check the port)')
    case 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH':
      return refused('the server hung up after our authentication: the server key in ADDRESS is not this ' +
        'server\'s, or the server does not allow our id' +
        (context.ourId === undefined ? '' : ` (ask its operator to add ${context.ourId} to their --allow file)`))
    case 'ERR_SHS_INVALID_SERVER_ACCEPT':
      return refused('the server could not prove it holds the key in ADDRESS: wrong server key, ' +
        'or something between us is tampering with the connection')
    case 'ERR_SHS_INVALID_CLIENT_AUTH':
    case 'ERR_SHS_CLIENT_HUNG_UP':
    case 'ERR_SHS_UNAUTHORIZED':
    case 'ERR_SHS_AUTHORIZE_FAILED':
      return refused(err.message)
    case 'ERR_SHS_BUSY':
      return refused(`dropped: ${MAX_PENDING_HANDSHAKES} handshakes are already in progress ` +
        '(a flood of slow clients; a lower --timeout drops them sooner)')
    case 'ERR_SHS_HANDSHAKE_TIMEOUT':
      return {
        exitCode: EXIT.TIMEOUT,
        message: `${firstClause(err.message)}: the peer is slow, stalled or not an SHS peer, or packets are ` +
          'being dropped; check the address, or raise --timeout if it needs longer'
      }
    case 'ERR_SHS_CONNECTION':
      return { exitCode: EXIT.NETWORK, message: err.message }
    case 'ERR_BOX_STREAM_TRUNCATED':
      return {
        exitCode: EXIT.STREAM,
        message: 'the connection ended without the peer\'s goodbye, so what arrived may be incomplete: ' +
          'the peer crashed, was killed, or the network cut the connection'
      }
    case 'ERR_BOX_STREAM_BAD_HEADER':
    case 'ERR_BOX_STREAM_BAD_BODY':
    case 'ERR_BOX_STREAM_BAD_LENGTH':
    case 'ERR_BOX_STREAM_AFTER_GOODBYE':
    case 'ERR_BOX_STREAM_CLOSED':
      return { exitCode: EXIT.STREAM, message: `the secure stream broke: ${err.message}` }
    case 'ERR_SHS_INVALID_OPTION':
      return { exitCode: EXIT.USAGE, message: err.message }
    case 'ERR_SHS_INVALID_KEY':
    case 'ERR_SHS_WEAK_KEY':
      return { exitCode: EXIT.KEYS, message: err.message }
    case 'ERR_SHS_ABORTED':
    case 'ERR_SHS_INVALID_STATE':
    case 'ERR_SHS_CALLBACK_FAILED':
      return { exitCode: EXIT.INTERNAL, message: `unexpected error: ${err.message} (this is a bug in shs; please report it)` }
  }
}

function refused (message: string): Failure {
  return { exitCode: EXIT.HANDSHAKE_REFUSED, message }
}

/** The library's messages are "what happened: why and what to do"; we keep the what and add our own advice. */
function firstClause (message: string): string {
  const colon = message.indexOf(': ')
  return colon === -1 ? message : message.slice(0, colon)
}
