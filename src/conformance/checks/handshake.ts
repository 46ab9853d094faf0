/**
 * Handshake checks, both roles. In the server role we play the client and judge what the server
 * sends and when it hangs up; in the client role we play the server and judge what the client
 * sends, prints and how it exits. Names of messages follow the spec: hello (1 and 2),
 * client authentication (3), server accept (4).
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { generateKeyPair } from '../../crypto/keys.ts'
import { NETWORK_KEY_BYTES } from '../../crypto/primitives.ts'
import { formatId } from '../../ssb/id.ts'
import { type CheckDefinition, type ServerRoleContext, fail, pass, warn } from '../check.ts'
import { PacketSealer } from '../packet-sealer.ts'
import { type ClientSide, handshakeAsClient, handshakeAsServer, judgeClientFailure, judgeRefusal } from '../play.ts'
import { HELLO_BYTES, HandshakeSeam } from '../seam.ts'
import { formatMs } from '../units.ts'
import { JUNK_BYTES, asClient, asServer, clientSeam, exchangeHellos, truncate, upToServerAccept, withJunk } from './moves.ts'
import { badAuth, badHello } from './refusals.ts'
import { smallOrderChecks } from './small-order.ts'

function valid (): CheckDefinition {
  return {
    id: 'hs.valid',
    title: 'the peer must complete a valid handshake',
    hostile: false,
    server: async (context) => await asClient(context, async (connection) => {
      const started = performance.now()
      const { session } = await handshakeAsClient(context, connection)
      connection.write(new PacketSealer(session).goodbye())
      return pass(`completed in ${formatMs(performance.now() - started)}; the server proved it holds ${formatId(context.serverKey)}`)
    }),
    client: async (context) => {
      const run = await context.launch({ stdin: new Uint8Array(0) })
      const { session } = await handshakeAsServer(context, run.connection)
      run.connection.write(new PacketSealer(session).goodbye())
      run.connection.endWrite()
      const exit = await run.process.waitForExit(context.replyTimeout)
      if (exit === undefined) return fail(`the handshake completed and we said goodbye, but the client was still running ${context.replyTimeout} ms later`)
      if (exit.code !== 0) return fail(`the handshake completed, but the client exited with status ${String(exit.code ?? exit.signal)} instead of 0`)
      const proven = formatId(session.remotePublicKey)
      if (proven !== formatId(context.clientKeys.publicKey)) {
        return warn(`completed, but the client proved it holds ${proven}, not the identity in SHS_CONFORMANCE_SECRET`)
      }
      return pass(`completed; the client proved it holds ${proven} (SHS_CONFORMANCE_SECRET) and exited with status 0 after both goodbyes`)
    }
  }
}

function wrongServerKey (): CheckDefinition {
  return {
    id: 'hs.wrong-server-key',
    title: 'the peer must refuse a handshake meant for another server key',
    hostile: true,
    server: async (context) => await asClient(context, async (connection) => {
      const seam = clientSeam(context, generateKeyPair().publicKey)
      await exchangeHellos(context, connection, seam)
      connection.write(seam.clientAuth())
      return await judgeRefusal(connection, 'message 3 from a client that expects another server key', context.replyTimeout)
    }),
    client: async (context) => await asServer(context, async (run, seam) => {
      await upToServerAccept(context, run, seam)
      run.connection.write(seam.serverAccept(generateKeyPair()))
      return await judgeClientFailure(context, run, { sent: 'message 4 signed by another key than the one it expects', mayReply: false })
    })
  }
}

function authForOtherServer (): CheckDefinition {
  return {
    id: 'hs.auth-for-other-server',
    title: 'the peer must refuse message 3 signed for another server key',
    hostile: true,
    server: async (context) => await asClient(context, async (connection) => {
      const seam = clientSeam(context)
      await exchangeHellos(context, connection, seam)
      connection.write(seam.clientAuth(generateKeyPair().publicKey))
      return await judgeRefusal(connection, 'message 3 boxed for this server but signed for another', context.replyTimeout)
    }),
    client: 'applies to servers only: message 3 is the client\'s to sign (hs.wrong-server-key covers message 4)'
  }
}

/** Server role: a whole valid handshake, kept to replay its message 3. */
async function earlierSession (context: ServerRoleContext): Promise<ClientSide> {
  return await asClient(context, async (connection) => {
    const side = await handshakeAsClient(context, connection)
    connection.write(new PacketSealer(side.session).goodbye())
    return side
  })
}

function replayedAuth (): CheckDefinition {
  return {
    id: 'hs.replayed-auth',
    title: 'the peer must refuse a handshake message replayed from an earlier session',
    hostile: true,
    server: async (context) => {
      const previous = await earlierSession(context)
      return await asClient(context, async (connection) => {
        await exchangeHellos(context, connection, clientSeam(context))
        connection.write(previous.clientAuth)
        return await judgeRefusal(connection, 'message 3 replayed from an earlier session', context.replyTimeout)
      })
    },
    client: async (context) => {
      const first = await context.launch({ stdin: new Uint8Array(0) })
      const previous = await handshakeAsServer(context, first.connection)
      first.connection.write(new PacketSealer(previous.session).goodbye())
      first.connection.endWrite()
      await first.process.waitForExit(context.replyTimeout)
      return await asServer(context, async (run, seam) => {
        await upToServerAccept(context, run, seam)
        run.connection.write(previous.serverAccept)
        return await judgeClientFailure(context, run, { sent: 'message 4 replayed from an earlier session', mayReply: false })
      })
    }
  }
}

export function handshakeChecks (): CheckDefinition[] {
  return [
    valid(),
    badHello('hs.wrong-network-key', 'the peer must refuse a hello made with another network key',
      'a hello made with another network key', () => HandshakeSeam.client(generateKeyPair(), randomBytes(NETWORK_KEY_BYTES), generateKeyPair().publicKey).hello(), false),
    wrongServerKey(),
    badHello('hs.random-hello', 'the peer must refuse a random first message', '64 random bytes', () => randomBytes(HELLO_BYTES), false),
    badHello('hs.truncated-hello', 'the peer must refuse a truncated hello', 'half a hello, then end of stream', (_key, good) => truncate(good), false),
    badHello('hs.oversized-hello', 'the peer must refuse junk that follows a valid hello', `a valid hello followed by ${JUNK_BYTES} random bytes`, (_key, good) => withJunk(good), true),
    badAuth('hs.random-auth', 'the peer must refuse a random authentication message', 'random bytes', (good) => randomBytes(good.byteLength), { mayAnswer: false }),
    badAuth('hs.truncated-auth', 'the peer must refuse a truncated authentication message', 'half a message, then end of stream', truncate, { mayAnswer: false }),
    badAuth('hs.oversized-auth', 'the peer must end the connection on junk after a valid authentication message', `a valid message followed by ${JUNK_BYTES} random bytes`, withJunk, { mayAnswer: true }),
    ...smallOrderChecks(),
    authForOtherServer(),
    replayedAuth()
  ]
}
