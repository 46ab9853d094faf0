/**
 * Turns any failure into what the user sees: one line on stderr that names the likely cause and
 * the next step, and the documented exit code. Never a stack trace: those help us, not them.
 * The library's messages name its API options (`networkKey`); here they name the flags.
 */
import { CommanderError } from 'commander'
import { type AllAddressesFailedError, ShsError } from '../../index.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { packageInfo } from '../package-info.ts'
import type { RekeyChoice } from '../rekey.ts'
import { CliError } from './cli-error.ts'

export interface Failure {
  exitCode: ExitCode
  message: string
}

export interface FailureContext {
  /** Our own id, so "not allowed" can say which id to send the server's operator. */
  ourId?: string
  /** Our end and its --rekey: what a refused hello means depends on both. */
  rekey?: { readonly role: 'client' | 'server', readonly mode: RekeyChoice }
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
  return { exitCode: EXIT.INTERNAL, message: `unexpected error: ${text} (this is a bug in shs; please report it, with the command you ran, at ${packageInfo().bugsUrl})` }
}

const NETWORK_ERRNO = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN'])

function describeShsError (err: ShsError, context: FailureContext): Failure {
  switch (err.code) {
    case 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO':
      return refused('the server hung up after our first message: wrong --network-key, not an SHS server at ' +
        'that address (check the port), ' +
        (context.rekey?.mode === 'off' ? 'the server requires the rekey extension (try --rekey), ' : '') +
        'or the server is busy (try again)')
    case 'ERR_SHS_INVALID_HELLO':
      return refused('the peer\'s hello does not match our --network-key: it uses another network key, ' +
        'or it does not speak SHS (check the port)' +
        (context.rekey?.role === 'server' && context.rekey.mode === 'off'
          ? ', or it asked for the rekey extension, which --rekey off turns away (a client with --rekey prefer tries again without it)'
          : ''))
    case 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH':
      return refused('the server hung up after our authentication: the server key in ADDRESS is not this ' +
        'server\'s, or the server does not allow our id' +
        (context.ourId === undefined ? '' : ` (ask its operator to add ${context.ourId} to their --allow file)`) +
        ', or it has too many clients (try again later)')
    case 'ERR_SHS_INVALID_SERVER_ACCEPT':
      return refused('the server could not prove it holds the key in ADDRESS: wrong server key, ' +
        'or something between us is tampering with the connection')
    case 'ERR_SHS_REKEY_REQUIRED':
      // Both ends report this code: the client whose --rekey require met a plain server, and a
      // server with --rekey require that met a plain client.
      return refused(context.rekey?.role === 'client'
        ? 'the server does not offer the rekey extension, which --rekey require insists on: it is a plain SHS1 ' +
          'server (or shs listen --rekey off), or it uses another --network-key; --rekey prefer would fall back to plain SHS1'
        : 'the client speaks plain SHS1, and this server requires the rekey extension (--rekey require): the client ' +
          'must ask for it (shs connect --rekey), or serve both kinds with --rekey prefer')
    case 'ERR_SHS_INVALID_CLIENT_AUTH':
    case 'ERR_SHS_BAD_MUXER_MESSAGE':
    case 'ERR_SHS_CLIENT_HUNG_UP':
    case 'ERR_SHS_UNAUTHORIZED':
    case 'ERR_SHS_AUTHORIZE_FAILED':
      return refused(err.message)
    case 'ERR_SHS_BUSY':
    case 'ERR_SHS_SOURCE_BUSY':
    case 'ERR_SHS_PENALIZED':
    case 'ERR_SHS_TOO_MANY_CONNECTIONS':
      // Server side: why a connection was turned away (see --max-pending, --max-per-source, --max-clients).
      return refused(`dropped: ${err.message}`)
    case 'ERR_SHS_IDLE_TIMEOUT':
      return {
        exitCode: EXIT.TIMEOUT,
        message: 'the connection was closed after no byte moved either way for --idle-timeout: the peer stalled or ' +
          'vanished; raise --idle-timeout (or 0 for none) for long quiet sessions'
      }
    case 'ERR_SHS_INVALID_OPTION':
      return { exitCode: EXIT.USAGE, message: err.message }
    case 'ERR_SHS_HANDSHAKE_TIMEOUT':
      return {
        exitCode: EXIT.TIMEOUT,
        message: `${firstClause(err.message)}: the peer is slow, stalled or not an SHS peer, or packets are ` +
          'being dropped; check the address, or raise --timeout if it needs longer'
      }
    case 'ERR_SHS_CONNECTION':
    case 'ERR_SHS_ACCEPT_FAILED':
      return { exitCode: EXIT.NETWORK, message: err.message }
    case 'ERR_SHS_INVALID_ADDRESS':
      return { exitCode: EXIT.USAGE, message: err.message }
    case 'ERR_SHS_ALL_ADDRESSES_FAILED':
      return describeAttempts(err as AllAddressesFailedError, context)
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
    case 'ERR_BOX_STREAM_BAD_CONTROL':
    case 'ERR_BOX_STREAM_REKEY_FLOOD':
      return { exitCode: EXIT.STREAM, message: `the secure stream broke: ${err.message}` }
    case 'ERR_BOX_STREAM_REKEY_TIMEOUT':
      return {
        exitCode: EXIT.STREAM,
        message: 'the secure stream broke: the peer did not complete a rekey within --rekey-timeout: it stopped ' +
          'reading (whatever takes its output stalled), its link is congested, or it is broken; raise --rekey-timeout ' +
          'if its reader may pause that long'
      }
    case 'ERR_SHS_INVALID_KEY':
    case 'ERR_SHS_WEAK_KEY':
      return { exitCode: EXIT.KEYS, message: err.message }
    // shs never asks for a rekey on demand, so ERR_SHS_REKEY_NOT_NEGOTIATED would be a bug of ours.
    case 'ERR_SHS_REKEY_NOT_NEGOTIATED':
    case 'ERR_SHS_ABORTED':
    case 'ERR_SHS_INVALID_STATE':
    case 'ERR_SHS_CALLBACK_FAILED':
      return { exitCode: EXIT.INTERNAL, message: `unexpected error: ${err.message} (this is a bug in shs; please report it, with the command you ran, at ${packageInfo().bugsUrl})` }
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

/** Each address with our own wording of its failure; the exit code is that of the last one tried. */
function describeAttempts (err: AllAddressesFailedError, context: FailureContext): Failure {
  const failures = err.attempts.map((attempt) => ({ address: attempt.address, ...describeFailure(attempt.error, context) }))
  return {
    exitCode: failures.at(-1)?.exitCode ?? EXIT.NETWORK,
    message: `none of the ${failures.length} addresses worked:\n` +
      failures.map((failure, i) => `  ${i + 1}. ${failure.address}: ${failure.message}`).join('\n')
  }
}
