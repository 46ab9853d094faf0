/**
 * Handshake checks, both roles. In the server role we play the client and judge what the server
 * sends and when it hangs up; in the client role we play the server and judge what the client
 * sends, prints and how it exits. Names of messages follow the spec: hello (1 and 2),
 * client authentication (3), server accept (4).
 */
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '../../index.ts'
import { formatId } from '../identity.ts'
import { formatMs } from '../log.ts'
import {
  type ClientSide, handshakeAsClient, handshakeAsServer, judgeClientFailure, judgeRefusal, readExactly
} from './play.ts'
import type { RawConnection } from './raw-connection.ts'
import {
  CLIENT_AUTH_BYTES, HELLO_BYTES, HandshakeSeam, PacketSealer, SERVER_ACCEPT_BYTES, SMALL_ORDER_POINTS, helloWithPoint
} from './seam.ts'
import {
  CheckFailure, type CheckDefinition, type ClientRoleContext, type ClientRun, type ServerRoleContext, type Verdict, fail, pass, warn
} from './types.ts'

const NETWORK_KEY_BYTES = 32
/** Enough junk after a valid message to fill the next one, so it cannot be missed. */
const JUNK_BYTES = 200

/** Server role: our hello, then the server's (checked). */
async function exchangeHellos (context: ServerRoleContext, connection: RawConnection, seam: HandshakeSeam): Promise<void> {
  connection.write(seam.hello())
  const hello = await readExactly(connection, HELLO_BYTES, 'the server hello (message 2)', context.replyTimeout)
  if (!seam.acceptHello(hello)) throw new CheckFailure('the server hello (message 2) did not verify')
}

function clientSeam (context: ServerRoleContext, serverKey = context.target.remotePublicKey, networkKey = context.networkKey): HandshakeSeam {
  return HandshakeSeam.client(context.keys, networkKey, serverKey)
}

/** Server role: runs `body` on a fresh connection, closes it after. */
async function asClient (context: ServerRoleContext, body: (connection: RawConnection) => Promise<Verdict>): Promise<Verdict> {
  const connection = await context.open()
  try {
    return await body(connection)
  } finally {
    connection.close()
  }
}

/** Client role: starts the client with stdin held open, and plays the server in `body`. */
async function asServer (context: ClientRoleContext, body: (run: ClientRun, seam: HandshakeSeam) => Promise<Verdict>): Promise<Verdict> {
  const run = await context.launch({ stdin: 'open' })
  return await body(run, HandshakeSeam.server(context.keys, context.networkKey))
}

/** Client role: reads and checks the client hello. */
async function readClientHello (context: ClientRoleContext, run: ClientRun, seam: HandshakeSeam): Promise<void> {
  const hello = await readExactly(run.connection, HELLO_BYTES, 'the client hello (message 1)', context.replyTimeout)
  if (!seam.acceptHello(hello)) throw new CheckFailure('the client hello (message 1) did not verify: does the client use SHS_CONFORMANCE_NETWORK_KEY?')
}

/** Client role: hellos both ways and message 3 read and checked; message 4 is the check's to send. */
async function upToServerAccept (context: ClientRoleContext, run: ClientRun, seam: HandshakeSeam): Promise<void> {
  await readClientHello(context, run, seam)
  run.connection.write(seam.hello())
  const auth = await readExactly(run.connection, CLIENT_AUTH_BYTES, 'the client authentication (message 3)', context.replyTimeout)
  if (!seam.acceptClientAuth(auth)) throw new CheckFailure('the client authentication (message 3) did not verify')
}

function valid (): CheckDefinition {
  return {
    id: 'hs.valid',
    title: 'the peer must complete a valid handshake',
    hostile: false,
    server: async (context) => await asClient(context, async (connection) => {
      const started = performance.now()
      const { session } = await handshakeAsClient(context, connection)
      connection.write(new PacketSealer(session).goodbye())
      return pass(`completed in ${formatMs(performance.now() - started)}; the server proved it holds ${formatId(context.target.remotePublicKey)}`)
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

/** A bad first message from us (server role) or a bad server hello (client role). */
function badHello (id: string, title: string, what: string, makeHello: (networkKey: Uint8Array, good: Uint8Array) => Uint8Array, mayAnswer: boolean): CheckDefinition {
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
function badAuth (id: string, title: string, what: string, bend: (good: Uint8Array) => Uint8Array, extra: { mayAnswer: boolean }): CheckDefinition {
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
  const outcome = await connection.waitForHangUp(timeout)
  if (!outcome.hungUp) return fail(`after ${sent}, the server kept the connection open for ${timeout} ms instead of hanging up`)
  return pass(`after ${sent}, the server hung up after ${formatMs(outcome.ms)}`)
}

function truncate (bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, bytes.byteLength >> 1)
}

function withJunk (bytes: Uint8Array): Uint8Array {
  return Buffer.concat([bytes, randomBytes(JUNK_BYTES)])
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

function replayedAuth (): CheckDefinition {
  return {
    id: 'hs.replayed-auth',
    title: 'the peer must refuse a handshake message replayed from an earlier session',
    hostile: true,
    server: async (context) => {
      const earlier: ClientSide = await asClientKeep(context)
      return await asClient(context, async (connection) => {
        await exchangeHellos(context, connection, clientSeam(context))
        connection.write(earlier.clientAuth)
        return await judgeRefusal(connection, 'message 3 replayed from an earlier session', context.replyTimeout)
      })
    },
    client: async (context) => {
      const first = await context.launch({ stdin: new Uint8Array(0) })
      const earlier = await handshakeAsServer(context, first.connection)
      first.connection.write(new PacketSealer(earlier.session).goodbye())
      first.connection.endWrite()
      await first.process.waitForExit(context.replyTimeout)
      return await asServer(context, async (run, seam) => {
        await upToServerAccept(context, run, seam)
        run.connection.write(earlier.serverAccept)
        return await judgeClientFailure(context, run, { sent: 'message 4 replayed from an earlier session', mayReply: false })
      })
    }
  }
}

async function asClientKeep (context: ServerRoleContext): Promise<ClientSide> {
  const connection = await context.open()
  try {
    const side = await handshakeAsClient(context, connection)
    connection.write(new PacketSealer(side.session).goodbye())
    return side
  } finally {
    connection.close()
  }
}

function smallOrder (name: string, hex: string): CheckDefinition {
  const point = Buffer.from(hex, 'hex')
  return badHello(`hs.small-order-${name}`,
    `the peer must refuse the small-order ephemeral key "${name}" even with a valid hello MAC`,
    `a hello whose ephemeral key is the small-order point ${name} (with a valid MAC)`,
    (networkKey) => helloWithPoint(networkKey, point), false)
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
    ...SMALL_ORDER_POINTS.map(({ name, hex }) => smallOrder(name, hex)),
    authForOtherServer(),
    replayedAuth()
  ]
}
