/**
 * Small-order ephemeral keys: Diffie-Hellman with them yields all zeros, a secret the attacker
 * knows. A client must refuse such a server hello before it sends message 3. A server should
 * refuse such a client hello before it answers; one that answers with its own hello but refuses
 * the message 3 an attacker builds from the all-zero secrets is safe (it completed nothing),
 * which is a warning; one that completes, or sends anything more, fails.
 */
import { performance } from 'node:perf_hooks'
import { type CheckDefinition, type ServerRoleContext, fail, pass, warn } from '../check.ts'
import { HELLO_BYTES, SERVER_ACCEPT_BYTES, SMALL_ORDER_POINTS, helloWithPoint } from '../seam.ts'
import type { Verdict } from '../types.ts'
import { countBytes, formatMs } from '../units.ts'
import type { RawConnection } from '../wire/connection.ts'
import { badHello } from './refusals.ts'
import { asClient, clientSeam } from './moves.ts'

async function judgeServer (context: ServerRoleContext, connection: RawConnection, point: Uint8Array, what: string): Promise<Verdict> {
  const timeout = context.replyTimeout
  const seam = clientSeam(context)
  const sentAt = performance.now()
  connection.write(helloWithPoint(context.networkKey, point))
  const answer = await connection.read(HELLO_BYTES, timeout)
  if (answer.kind !== 'bytes') {
    if (answer.received > 0) return fail(`the server answered ${what} with ${countBytes(answer.received)}, not a hello; it must send nothing and hang up`)
    if (answer.kind === 'timeout') return fail(`no reply to ${what}, but the server kept the connection open for ${timeout} ms instead of hanging up`)
    return pass(`no reply to ${what}; the server hung up after ${formatMs(connection.hungUpAt - sentAt)}`)
  }
  const attack = seam.clientAuthFromZeroSecrets(answer.bytes)
  if (attack === undefined) return fail(`the server answered ${what} with ${HELLO_BYTES} bytes that are not a valid hello; it must send nothing and hang up`)
  const answered = `the server answered ${what} with its own hello instead of refusing it`
  const built = 'a message 3 built from the all-zero secrets an attacker knows'
  connection.write(attack)
  const reply = await connection.read(SERVER_ACCEPT_BYTES, timeout)
  if (reply.kind === 'bytes') {
    if (seam.acceptServerAccept(reply.bytes)) return fail(`${answered}, then completed the handshake: it accepted ${built} and proved its key in message 4`)
    return fail(`${answered}, then answered ${built} with ${SERVER_ACCEPT_BYTES} bytes`)
  }
  if (reply.received > 0) return fail(`${answered}, then sent ${countBytes(reply.received)} in reply to ${built}; it must send nothing`)
  if (reply.kind === 'timeout') return fail(`${answered}, and kept the connection open ${timeout} ms after ${built}`)
  return warn(`${answered}, but refused ${built} and hung up: safe, as it completed nothing, ` +
    'but it should refuse the point at message 1, before it answers')
}

function smallOrder (name: string, hex: string): CheckDefinition {
  const point = Buffer.from(hex, 'hex')
  const what = `a hello whose ephemeral key is the small-order point ${name} (with a valid MAC)`
  const check = badHello(`hs.small-order-${name}`, `the peer must refuse the small-order ephemeral key "${name}" even with a valid hello MAC`,
    what, (networkKey) => helloWithPoint(networkKey, point), false)
  return { ...check, server: async (context) => await asClient(context, async (connection) => await judgeServer(context, connection, point, what)) }
}

export function smallOrderChecks (): CheckDefinition[] {
  return SMALL_ORDER_POINTS.map(({ name, hex }) => smallOrder(name, hex))
}
