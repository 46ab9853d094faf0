/**
 * Moves the checks share: a correct handshake from either side (with the raw messages kept, so a
 * check can bend or replay them), and the judgements of what the peer did after a bad message.
 */
import { waitUntil } from './changes.ts'
import { type ClientRoleContext, type ClientRun, type ServerRoleContext, fail, pass } from './check.ts'
import { describeExit } from './crash.ts'
import { CheckFailure } from './errors.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { CLIENT_AUTH_BYTES, HELLO_BYTES, HandshakeSeam, SERVER_ACCEPT_BYTES } from './seam.ts'
import type { Verdict } from './types.ts'
import { countBytes, formatMs } from './units.ts'
import type { RawConnection } from './wire/connection.ts'

/** Exactly `length` bytes from the peer, or a CheckFailure that says what was missing. */
export async function readExactly (connection: RawConnection, length: number, what: string, timeout: number): Promise<Uint8Array> {
  const outcome = await connection.read(length, timeout)
  if (outcome.kind === 'bytes') return outcome.bytes
  if (outcome.kind === 'hung-up') throw new CheckFailure(`the peer hung up instead of sending ${what} (${outcome.received} of ${length} bytes came)`)
  throw new CheckFailure(`${what} did not come within ${timeout} ms (${outcome.received} of ${length} bytes came)`)
}

export interface ClientSide {
  readonly clientAuth: Uint8Array
  readonly session: SessionKeys
}

/** Server role: we are a correct client, all four messages. */
export async function handshakeAsClient (
  context: Omit<ServerRoleContext, 'open' | 'rekeyOffer'>, connection: RawConnection, begun?: { readonly seam: HandshakeSeam, readonly hello: Uint8Array }
): Promise<ClientSide> {
  const seam = begun?.seam ?? HandshakeSeam.client(context.keys, context.networkKey, context.serverKey)
  if (begun === undefined) {
    connection.write(seam.hello())
    const hello = await readExactly(connection, HELLO_BYTES, 'the server hello (message 2)', context.replyTimeout)
    if (!seam.acceptHello(hello)) throw new CheckFailure('the server hello (message 2) did not verify: another network key, or not SHS')
  }
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
export async function handshakeAsServer (
  context: Pick<ClientRoleContext, 'keys' | 'networkKey' | 'replyTimeout'>, connection: RawConnection, read?: Uint8Array
): Promise<ServerSide> {
  const seam = HandshakeSeam.server(context.keys, context.networkKey)
  const hello = read ?? await readExactly(connection, HELLO_BYTES, 'the client hello (message 1)', context.replyTimeout)
  if (!seam.acceptHello(hello)) throw new CheckFailure('the client hello (message 1) did not verify: another network key, or not SHS')
  connection.write(seam.hello())
  const auth = await readExactly(connection, CLIENT_AUTH_BYTES, 'the client authentication (message 3)', context.replyTimeout)
  if (!seam.acceptClientAuth(auth)) throw new CheckFailure('the client authentication (message 3) did not verify')
  const serverAccept = seam.serverAccept()
  connection.write(serverAccept)
  return { serverAccept, session: seam.session() }
}

/** Server role, after a message the server must refuse: nothing more from it (`allowed` bytes at most), and a hang-up. */
export async function judgeRefusal (connection: RawConnection, sent: string, timeout: number, allowed = 0): Promise<Verdict> {
  const outcome = await connection.waitForHangUp(timeout, allowed)
  if (outcome.received > allowed) {
    return fail(`the server answered ${sent} with ${countBytes(outcome.received - allowed)}; it must send nothing and hang up`)
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

/** Whether `delivered` is all or the start of `sent`: nothing more, nothing else. */
export function isPrefix (delivered: Uint8Array, sent: Uint8Array): boolean {
  return delivered.byteLength <= sent.byteLength && Buffer.from(delivered).equals(Buffer.from(sent).subarray(0, delivered.byteLength))
}

/** Client role, after something the client must refuse: exit non-zero in time, print nothing it could not trust. */
export async function judgeClientFailure (context: ClientRoleContext, run: ClientRun, expected: ClientFailureExpectation): Promise<Verdict> {
  const allowed = expected.allowedStdout ?? new Uint8Array(0)
  const { process, connection } = run
  // Until it exits, or until it did something that fails the check anyway.
  await waitUntil([process.changes, connection.changes], () => process.exit !== undefined ||
    (!expected.mayReply && connection.buffered > 0) || process.stdoutLength > allowed.byteLength, context.replyTimeout)
  const exit = process.exit
  if (!expected.mayReply && connection.buffered > 0) {
    return fail(`the client answered ${expected.sent} with ${countBytes(connection.buffered)} (it went on with the handshake); ` +
      'it must send nothing more and fail')
  }
  const stdout = process.stdout
  if (stdout.byteLength > allowed.byteLength) {
    return fail(`after ${expected.sent}, the client printed ${countBytes(stdout.byteLength - allowed.byteLength)} it must not deliver`)
  }
  if (!isPrefix(stdout, allowed)) return fail(`after ${expected.sent}, the client printed bytes that differ from what we sent`)
  if (exit === undefined) {
    return fail(`after ${expected.sent}, the client was still running ${context.replyTimeout} ms later: it must fail and exit, not hang`)
  }
  if (exit.code === 0) return fail(`after ${expected.sent}, the client exited with status 0: it must report the failure with a non-zero status`)
  return pass(`after ${expected.sent}, the client ${describeExit(exit)} and printed nothing untrusted`)
}
