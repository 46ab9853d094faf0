/**
 * Moves the checks share: a correct handshake from either side (with the raw messages kept, so a
 * check can bend or replay them), and the judgements of what the peer did after a bad message.
 */
import type { SessionKeys } from '../../index.ts'
import { formatMs } from '../log.ts'
import { waitUntil } from './changes.ts'
import { describeExit, isCrash } from './process.ts'
import type { RawConnection } from './raw-connection.ts'
import { CLIENT_AUTH_BYTES, HELLO_BYTES, HandshakeSeam, SERVER_ACCEPT_BYTES } from './seam.ts'
import {
  CheckFailure, type ClientRoleContext, type ClientRun, type ServerRoleContext, type Verdict, fail, pass
} from './types.ts'

/** Exactly `length` bytes from the peer, or a CheckFailure that says what was missing. */
export async function readExactly (connection: RawConnection, length: number, what: string, timeout: number): Promise<Uint8Array> {
  const outcome = await connection.read(length, timeout)
  if (outcome.kind === 'bytes') return outcome.bytes
  if (outcome.kind === 'hung-up') throw new CheckFailure(`the peer hung up instead of sending ${what} (${outcome.received} of ${length} bytes came)`)
  throw new CheckFailure(`no ${what} within ${timeout} ms (${outcome.received} of ${length} bytes came)`)
}

export interface ClientSide {
  readonly clientAuth: Uint8Array
  readonly session: SessionKeys
}

/** Server role: we are a correct client, all four messages. */
export async function handshakeAsClient (context: ServerRoleContext, connection: RawConnection): Promise<ClientSide> {
  const seam = HandshakeSeam.client(context.keys, context.networkKey, context.target.remotePublicKey)
  connection.write(seam.hello())
  const hello = await readExactly(connection, HELLO_BYTES, 'the server hello (message 2)', context.replyTimeout)
  if (!seam.acceptHello(hello)) throw new CheckFailure('the server hello (message 2) did not verify: another network key, or not SHS')
  const clientAuth = seam.clientAuth()
  connection.write(clientAuth)
  const accept = await readExactly(connection, SERVER_ACCEPT_BYTES, 'the server accept (message 4)', context.replyTimeout)
  if (!seam.acceptServerAccept(accept)) throw new CheckFailure('the server accept (message 4) did not verify: the server does not hold the key we expect')
  return { clientAuth, session: seam.session() }
}

export interface ServerSide {
  readonly serverAccept: Uint8Array
  readonly session: SessionKeys
}

/** Client role: we are a correct server, all four messages. */
export async function handshakeAsServer (context: ClientRoleContext, connection: RawConnection): Promise<ServerSide> {
  const seam = HandshakeSeam.server(context.keys, context.networkKey)
  const hello = await readExactly(connection, HELLO_BYTES, 'the client hello (message 1)', context.replyTimeout)
  if (!seam.acceptHello(hello)) throw new CheckFailure('the client hello (message 1) did not verify: another network key, or not SHS')
  connection.write(seam.hello())
  const auth = await readExactly(connection, CLIENT_AUTH_BYTES, 'the client authentication (message 3)', context.replyTimeout)
  if (!seam.acceptClientAuth(auth)) throw new CheckFailure('the client authentication (message 3) did not verify')
  const serverAccept = seam.serverAccept()
  connection.write(serverAccept)
  return { serverAccept, session: seam.session() }
}

/** Server role, after a message the server must refuse: nothing more from it, and a hang-up. */
export async function judgeRefusal (connection: RawConnection, sent: string, timeout: number, allowed = 0): Promise<Verdict> {
  const outcome = await connection.waitForHangUp(timeout, allowed)
  if (connection.buffered > allowed) {
    return fail(`the server answered ${sent} with ${connection.buffered - allowed} bytes; it must send nothing and hang up`)
  }
  if (!outcome.hungUp) return fail(`no reply to ${sent}, but the server kept the connection open for ${timeout} ms instead of hanging up`)
  return pass(`no reply to ${sent}; the server hung up after ${formatMs(outcome.ms)}`)
}

export interface ClientFailureExpectation {
  /** What we did, for the reason ("a server hello with another network key"). */
  readonly sent: string
  /** Bytes the client may send after the moment judged (none after a refused hello). */
  readonly mayReply: boolean
  /** Plaintext the client was allowed to print before it failed. */
  readonly allowedStdout?: Uint8Array
}

/** Client role, after something the client must refuse: exit non-zero in time, print nothing it could not trust. */
export async function judgeClientFailure (context: ClientRoleContext, run: ClientRun, expected: ClientFailureExpectation): Promise<Verdict> {
  const allowed = expected.allowedStdout ?? new Uint8Array(0)
  // Until it exits, or until it did something that fails the check anyway.
  await waitUntil([run.process.changes, run.connection.changes], () => run.process.exit !== undefined ||
    (!expected.mayReply && run.connection.buffered > 0) || run.process.stdout.byteLength > allowed.byteLength, context.replyTimeout)
  const exit = run.process.exit
  if (exit !== undefined && isCrash(exit)) return fail(`CRASH: after ${expected.sent}, the client ${describeExit(exit)}`)
  if (!expected.mayReply && run.connection.buffered > 0) {
    return fail(`the client answered ${expected.sent} with ${run.connection.buffered} bytes (it went on with the handshake); ` +
      'it must send nothing more and fail')
  }
  const stdout = run.process.stdout
  if (stdout.byteLength > allowed.byteLength || !stdout.equals(Buffer.from(allowed).subarray(0, stdout.byteLength))) {
    return fail(`after ${expected.sent}, the client printed ${stdout.byteLength - allowed.byteLength} bytes it must not deliver`)
  }
  if (exit === undefined) {
    return fail(`after ${expected.sent}, the client was still running ${context.replyTimeout} ms later: it must fail and exit, not hang`)
  }
  if (exit.code === 0) return fail(`after ${expected.sent}, the client exited with status 0: it must report the failure with a non-zero status`)
  return pass(`after ${expected.sent}, the client ${describeExit(exit)} and printed nothing untrusted`)
}
