/** Bad handshake messages from us: each must be refused (a server hangs up, a client exits non-zero). */
import { type CheckDefinition, fail, pass } from '../check.ts'
import { judgeClientFailure, judgeRefusal } from '../play.ts'
import { CLIENT_AUTH_BYTES, HELLO_BYTES, SERVER_ACCEPT_BYTES } from '../seam.ts'
import type { Verdict } from '../types.ts'
import { formatMs } from '../units.ts'
import type { RawConnection } from '../wire/connection.ts'
import { asClient, asServer, clientSeam, exchangeHellos, readClientHello, upToServerAccept } from './moves.ts'

/** After junk that follows message 3, a server may still send message 4 and a few packets before it hangs up. */
const ANSWER_ALLOWANCE_BYTES = 64 * 1024

/** A bad first message from us (server role) or a bad server hello (client role). */
export function badHello (id: string, title: string, what: string, makeHello: (networkKey: Uint8Array, good: Uint8Array) => Uint8Array, mayAnswer: boolean): CheckDefinition {
  return {
    id,
    title,
    hostile: true,
    server: async (context) => await asClient(context, async (connection) => {
      const sent = makeHello(context.networkKey, clientSeam(context).hello())
      connection.write(sent)
      if (sent.byteLength < HELLO_BYTES) connection.endWrite()
      return await judgeRefusal(connection, what, context.replyTimeout, mayAnswer ? HELLO_BYTES : 0)
    }),
    client: async (context) => await asServer(context, async (run, seam) => {
      await readClientHello(context, run, seam)
      const sent = makeHello(context.networkKey, seam.hello())
      run.connection.write(sent)
      if (sent.byteLength < HELLO_BYTES) run.connection.endWrite()
      return await judgeClientFailure(context, run, { sent: `${what} as the server hello`, mayReply: mayAnswer })
    })
  }
}

/** A bad message 3 (server role) or message 4 (client role), after valid hellos. */
export function badAuth (id: string, title: string, what: string, bend: (good: Uint8Array) => Uint8Array, extra: { mayAnswer: boolean }): CheckDefinition {
  return {
    id,
    title,
    hostile: true,
    server: async (context) => await asClient(context, async (connection) => {
      const seam = clientSeam(context)
      await exchangeHellos(context, connection, seam)
      const sent = bend(seam.clientAuth())
      connection.write(sent)
      if (sent.byteLength < CLIENT_AUTH_BYTES) connection.endWrite()
      if (extra.mayAnswer) return await judgeHangUp(connection, `${what} as message 3`, context.replyTimeout)
      return await judgeRefusal(connection, `${what} as message 3`, context.replyTimeout)
    }),
    client: async (context) => await asServer(context, async (run, seam) => {
      await upToServerAccept(context, run, seam)
      const sent = bend(seam.serverAccept())
      run.connection.write(sent)
      if (sent.byteLength < SERVER_ACCEPT_BYTES) run.connection.endWrite()
      return await judgeClientFailure(context, run, { sent: `${what} as message 4`, mayReply: extra.mayAnswer })
    })
  }
}

/** Server role, where the server may legitimately answer: only the hang-up is judged. */
async function judgeHangUp (connection: RawConnection, sent: string, timeout: number): Promise<Verdict> {
  const outcome = await connection.waitForHangUp(timeout, ANSWER_ALLOWANCE_BYTES)
  if (outcome.received > ANSWER_ALLOWANCE_BYTES) return fail(`after ${sent}, the server kept sending (more than ${ANSWER_ALLOWANCE_BYTES} bytes) instead of hanging up`)
  if (!outcome.hungUp) return fail(`after ${sent}, the server kept the connection open for ${timeout} ms instead of hanging up`)
  return pass(`after ${sent}, the server hung up after ${formatMs(outcome.ms)}`)
}
