/** The opening moves the checks share, per role, and the small byte manipulations they apply. */
import { randomBytes } from 'node:crypto'
import type { ClientRoleContext, ClientRun, ServerRoleContext } from '../check.ts'
import type { SessionKeys } from '../../handshake/session.ts'
import { CheckFailure } from '../errors.ts'
import { handshakeAsClient, readExactly } from '../play.ts'
import { CLIENT_AUTH_BYTES, HELLO_BYTES, HandshakeSeam } from '../seam.ts'
import type { Verdict } from '../types.ts'
import { countBytes } from '../units.ts'
import type { RawConnection } from '../wire/connection.ts'

/** What the box-stream checks send before (or around) the packet they judge. */
export const GOOD_BYTES = 1000
/** Enough junk after a valid message to fill the next one, so it cannot be missed. */
export const JUNK_BYTES = 200

export function clientSeam (context: ServerRoleContext, serverKey = context.serverKey, networkKey = context.networkKey): HandshakeSeam {
  return HandshakeSeam.client(context.keys, networkKey, serverKey)
}

/** Server role: runs `body` on a fresh connection, closes it after. */
export async function asClient<T> (context: ServerRoleContext, body: (connection: RawConnection) => Promise<T>): Promise<T> {
  const connection = await context.open()
  try {
    return await body(connection)
  } finally {
    connection.close()
  }
}

/** Server role: a valid handshake on a fresh connection, then `body` with the session. */
export async function afterHandshake (context: ServerRoleContext, body: (connection: RawConnection, session: SessionKeys) => Promise<Verdict>): Promise<Verdict> {
  return await asClient(context, async (connection) => await body(connection, (await handshakeAsClient(context, connection)).session))
}

/** Server role: our hello, then the server's (checked). */
export async function exchangeHellos (context: ServerRoleContext, connection: RawConnection, seam: HandshakeSeam): Promise<void> {
  connection.write(seam.hello())
  const hello = await readExactly(connection, HELLO_BYTES, 'the server hello (message 2)', context.replyTimeout)
  if (!seam.acceptHello(hello)) throw new CheckFailure('the server hello (message 2) did not verify')
}

/** Client role: starts the client with stdin held open, and plays the server in `body`. */
export async function asServer (context: ClientRoleContext, body: (run: ClientRun, seam: HandshakeSeam) => Promise<Verdict>): Promise<Verdict> {
  const run = await context.launch({ stdin: 'open' })
  return await body(run, HandshakeSeam.server(context.keys, context.networkKey))
}

/** Client role: reads and checks the client hello. */
export async function readClientHello (context: ClientRoleContext, run: ClientRun, seam: HandshakeSeam): Promise<void> {
  const hello = await readExactly(run.connection, HELLO_BYTES, 'the client hello (message 1)', context.replyTimeout)
  if (!seam.acceptHello(hello)) throw new CheckFailure('the client hello (message 1) did not verify: does the client use SHS_CONFORMANCE_NETWORK_KEY?')
}

/** Client role: hellos both ways and message 3 read and checked; message 4 is the check's to send. */
export async function upToServerAccept (context: ClientRoleContext, run: ClientRun, seam: HandshakeSeam): Promise<void> {
  await readClientHello(context, run, seam)
  run.connection.write(seam.hello())
  const auth = await readExactly(run.connection, CLIENT_AUTH_BYTES, 'the client authentication (message 3)', context.replyTimeout)
  if (!seam.acceptClientAuth(auth)) throw new CheckFailure('the client authentication (message 3) did not verify')
}

export function truncate (bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, bytes.byteLength >> 1)
}

export function withJunk (bytes: Uint8Array): Uint8Array {
  return Buffer.concat([bytes, randomBytes(JUNK_BYTES)])
}

/** A copy with one bit of byte `at` flipped. */
export function flip (bytes: Uint8Array, at: number): Uint8Array {
  const copy = Buffer.from(bytes)
  copy[at] = (copy[at] as number) ^ 0x01
  return copy
}

/** What a peer echoed or printed, compared with what we sent. */
export function describeEcho (echo: Uint8Array, sent: Uint8Array): string {
  if (echo.byteLength === 0) return 'nothing'
  if (Buffer.from(echo).equals(Buffer.from(sent))) return `our ${countBytes(sent.byteLength)}`
  if (echo.byteLength > sent.byteLength) return `${countBytes(echo.byteLength)}, more than the ${sent.byteLength} we sent`
  return `${countBytes(echo.byteLength)} that differ from the ${sent.byteLength} we sent`
}
