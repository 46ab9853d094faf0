/**
 * Box-stream checks, both roles, after a valid handshake. Server role: the server under test must
 * echo what it receives (as `shs listen --exec cat` does), so what it echoes shows what it
 * delivered. Client role: the client under test copies the stream to stdout, so stdout shows it.
 * A peer must deliver only authenticated bytes and end the connection on anything else.
 */
import { randomBytes } from 'node:crypto'
import { formatMs } from '../log.ts'
import type { ClientProcess } from './process.ts'
import { handshakeAsClient, handshakeAsServer, judgeClientFailure } from './play.ts'
import type { RawConnection } from './raw-connection.ts'
import { BoxChannel } from './box-channel.ts'
import { type CheckDefinition, type ClientRoleContext, type ServerRoleContext, type Verdict, fail, pass, warn } from './types.ts'

const KIB = 1024
const MIB = 1024 * KIB
/** What we send before a bad packet: it must arrive, and nothing after it. */
const GOOD_BYTES = 1000
const HALF_CLOSE_BYTES = 256 * KIB
const OVERSIZED_BYTES = 5000

type ServerPlay = (channel: BoxChannel, good: Uint8Array) => void

async function asEchoClient (context: ServerRoleContext, body: (channel: BoxChannel, connection: RawConnection) => Promise<Verdict>): Promise<Verdict> {
  const connection = await context.open()
  try {
    const { session } = await handshakeAsClient(context, connection)
    return await body(new BoxChannel(connection, session), connection)
  } finally {
    connection.close()
  }
}

function describeEcho (echo: Buffer, sent: Uint8Array): string {
  if (echo.byteLength === 0) return 'nothing'
  if (echo.equals(sent)) return `our ${count(sent.byteLength)}`
  return `${echo.byteLength} bytes that differ from the ${sent.byteLength} we sent`
}

function count (bytes: number): string {
  return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`
}

function sizes (bytes: number, label: string): CheckDefinition {
  return {
    id: `bs.size-${label}`,
    title: `the peer must carry ${count(bytes)} each way, then goodbye`,
    hostile: false,
    server: async (context) => await asEchoClient(context, async (channel) => {
      const payload = randomBytes(bytes)
      channel.send(channel.sealer.data(payload), channel.sealer.goodbye())
      const { plaintext, goodbye, error } = await channel.receive(context.replyTimeout)
      if (error !== undefined) return fail(`the server's box stream did not authenticate: ${error}`)
      if (!plaintext.equals(payload)) return fail(`we sent ${count(bytes)} and goodbye; the echo was ${describeEcho(plaintext, payload)}`)
      if (!goodbye) return fail(`the server echoed our ${count(bytes)} but did not say goodbye`)
      return pass(`the server echoed our ${count(bytes)}, then said goodbye`)
    }),
    client: async (context) => {
      const upstream = randomBytes(bytes)
      const run = await context.launch({ stdin: upstream })
      const { session } = await handshakeAsServer(context, run.connection)
      const channel = new BoxChannel(run.connection, session)
      const downstream = randomBytes(bytes)
      // Our data now, our goodbye only after the client's: this check is not about half-close.
      channel.send(channel.sealer.data(downstream))
      return await judgeCleanClient(context, run.process, channel, upstream, downstream, { goodbyeSent: false })
    }
  }
}

/** Client role: the client sent `upstream` and goodbye, printed `downstream`, exited 0. */
async function judgeCleanClient (
  context: ClientRoleContext, process: ClientProcess, channel: BoxChannel, upstream: Uint8Array, downstream: Uint8Array,
  options: { goodbyeSent: boolean }
): Promise<Verdict> {
  const { plaintext, goodbye, error } = await channel.receive(context.replyTimeout)
  if (error !== undefined) return fail(`the client's box stream did not authenticate: ${error}`)
  if (!plaintext.equals(upstream)) return fail(`the client sent ${describeEcho(plaintext, upstream)} instead of its ${upstream.byteLength}-byte stdin`)
  if (!goodbye) return fail('the client sent its stdin but no goodbye at the end of its input')
  // Both goodbyes are out: end the connection, as a server does.
  if (!options.goodbyeSent) channel.send(channel.sealer.goodbye())
  channel.end()
  const exit = await process.waitForExit(context.replyTimeout)
  if (exit === undefined) return fail(`both sides said goodbye, but the client was still running ${context.replyTimeout} ms later`)
  if (!process.stdout.equals(downstream)) return fail(`the client printed ${describeEcho(process.stdout, downstream)} instead of the ${downstream.byteLength} we sent`)
  if (exit.code !== 0) return fail(`the stream was clean both ways, but the client exited with status ${String(exit.code ?? exit.signal)}`)
  return pass(`the client sent its ${count(upstream.byteLength)} and goodbye, printed our ${count(downstream.byteLength)} and exited with status 0`)
}

function halfCloseSend (): CheckDefinition {
  return {
    id: 'bs.half-close-send',
    title: 'the peer must keep sending after our goodbye, until its own',
    hostile: false,
    server: async (context) => await asEchoClient(context, async (channel) => {
      const payload = randomBytes(HALF_CLOSE_BYTES)
      // Goodbye right behind the data: the server reads it while it still owes most of the echo.
      channel.send(channel.sealer.data(payload), channel.sealer.goodbye())
      const { plaintext, goodbye, error } = await channel.receive(context.replyTimeout)
      if (error !== undefined) return fail(`the server's box stream did not authenticate: ${error}`)
      if (!plaintext.equals(payload) || !goodbye) {
        return fail(`after our goodbye the server sent ${describeEcho(plaintext, payload)}${goodbye ? ' and goodbye' : ' and no goodbye'}: it must finish the echo first`)
      }
      return pass(`the server finished echoing ${HALF_CLOSE_BYTES} bytes after our goodbye, then said goodbye`)
    }),
    client: async (context) => {
      const run = await context.launch({ stdin: 'open' })
      const { session } = await handshakeAsServer(context, run.connection)
      const channel = new BoxChannel(run.connection, session)
      const downstream = randomBytes(GOOD_BYTES)
      // Goodbye, but no TCP FIN yet: this checks the box-stream half-close, not TCP's.
      channel.send(channel.sealer.data(downstream), channel.sealer.goodbye())
      // Only now does the client get its input: everything it sends follows our goodbye.
      const upstream = randomBytes(HALF_CLOSE_BYTES)
      run.process.writeStdin(upstream)
      run.process.endStdin()
      return await judgeCleanClient(context, run.process, channel, upstream, downstream, { goodbyeSent: true })
    }
  }
}

function halfCloseReceive (): CheckDefinition {
  return {
    id: 'bs.half-close-receive',
    title: 'the peer must keep receiving after its own goodbye, until ours',
    hostile: false,
    server: 'applies to clients only: an echo server says goodbye only after ours',
    client: async (context) => {
      const run = await context.launch({ stdin: new Uint8Array(0) })
      const { session } = await handshakeAsServer(context, run.connection)
      const channel = new BoxChannel(run.connection, session)
      const first = await channel.receive(context.replyTimeout)
      if (!first.goodbye) return fail('the client\'s input was empty, but it did not say goodbye')
      const downstream = randomBytes(HALF_CLOSE_BYTES)
      channel.send(channel.sealer.data(downstream), channel.sealer.goodbye())
      channel.end()
      const exit = await run.process.waitForExit(context.replyTimeout)
      if (exit === undefined) return fail(`both sides said goodbye, but the client was still running ${context.replyTimeout} ms later`)
      if (!run.process.stdout.equals(downstream)) return fail(`after its goodbye, the client printed ${describeEcho(run.process.stdout, downstream)}`)
      if (exit.code !== 0) return fail(`the stream was clean both ways, but the client exited with status ${String(exit.code ?? exit.signal)}`)
      return pass(`after its own goodbye the client printed all ${HALF_CLOSE_BYTES} bytes we sent, then exited with status 0`)
    }
  }
}

/** Good bytes, then something no peer may deliver: only the good bytes may come through, then the end. */
function badPacket (id: string, title: string, what: string, play: ServerPlay): CheckDefinition {
  return {
    id,
    title,
    hostile: true,
    server: async (context) => await asEchoClient(context, async (channel, connection) => {
      const good = randomBytes(GOOD_BYTES)
      play(channel, good)
      const sentAt = performance.now()
      const { plaintext, error } = await channel.receive(context.replyTimeout, good.byteLength)
      if (error !== undefined) return fail(`the server's box stream did not authenticate: ${error}`)
      if (!isPrefix(plaintext, good)) {
        return fail(`after ${what}, the server echoed ${plaintext.byteLength - good.byteLength} bytes it must not deliver`)
      }
      const outcome = await connection.waitForHangUp(Math.max(1, sentAt + context.replyTimeout - performance.now()))
      if (!outcome.hungUp) return fail(`after ${what}, the server kept the connection open for ${context.replyTimeout} ms`)
      return pass(`after ${what}, the server delivered nothing of it and hung up ${formatMs(connection.hungUpAt - sentAt)} later`)
    }),
    client: async (context) => {
      const run = await context.launch({ stdin: 'open' })
      const { session } = await handshakeAsServer(context, run.connection)
      const channel = new BoxChannel(run.connection, session)
      const good = randomBytes(GOOD_BYTES)
      play(channel, good)
      return await judgeClientFailure(context, run, { sent: what, mayReply: true, allowedStdout: good })
    }
  }
}

/** Whether `delivered` is all or the start of `sent`: nothing more, nothing else. */
function isPrefix (delivered: Uint8Array, sent: Uint8Array): boolean {
  return delivered.byteLength <= sent.byteLength && Buffer.from(delivered).equals(Buffer.from(sent).subarray(0, delivered.byteLength))
}

function flip (bytes: Uint8Array, at: number): Uint8Array {
  const copy = Buffer.from(bytes)
  copy[at] = (copy[at] as number) ^ 0x01
  return copy
}

const HEADER_MAC_BYTE = 3
const BODY_BYTE = 34 + 7

function afterGoodbye (): CheckDefinition {
  const what = 'a packet after our goodbye'
  return {
    id: 'bs.after-goodbye',
    title: 'the peer must not deliver bytes that follow a goodbye',
    hostile: true,
    server: async (context) => await asEchoClient(context, async (channel, connection) => {
      const good = randomBytes(GOOD_BYTES)
      channel.send(channel.sealer.data(good), channel.sealer.goodbye(), channel.sealer.packet(randomBytes(GOOD_BYTES)))
      const { plaintext, error } = await channel.receive(context.replyTimeout, good.byteLength)
      if (error !== undefined) return fail(`the server's box stream did not authenticate: ${error}`)
      if (!isPrefix(plaintext, good)) return fail(`after ${what}, the server echoed ${describeEcho(plaintext, good)}: more than what came before the goodbye`)
      const outcome = await connection.waitForHangUp(context.replyTimeout)
      if (!outcome.hungUp) return fail(`after ${what}, the server kept the connection open for ${context.replyTimeout} ms`)
      return pass(`the server echoed ${plaintext.equals(good) ? 'all' : `${plaintext.byteLength} of the ${good.byteLength} bytes`} of what came before our goodbye, nothing after it, and hung up`)
    }),
    client: async (context) => {
      const run = await context.launch({ stdin: new Uint8Array(0) })
      const { session } = await handshakeAsServer(context, run.connection)
      const channel = new BoxChannel(run.connection, session)
      const good = randomBytes(GOOD_BYTES)
      channel.send(channel.sealer.data(good), channel.sealer.goodbye(), channel.sealer.packet(randomBytes(GOOD_BYTES)))
      channel.end()
      const exit = await run.process.waitForExit(context.replyTimeout)
      if (exit === undefined) return fail(`after ${what}, the client was still running ${context.replyTimeout} ms later`)
      if (exit.signal !== null) return fail(`CRASH: after ${what}, the client was killed by ${exit.signal}`)
      const printed = run.process.stdout
      if (!isPrefix(printed, good)) return fail(`after ${what}, the client printed ${describeEcho(printed, good)}: more than what came before our goodbye`)
      return pass(`the client printed ${printed.equals(good) ? 'all' : `${printed.byteLength} of the ${good.byteLength} bytes`} of what came before our goodbye, nothing after it, and exited with status ${String(exit.code)}`)
    }
  }
}

function zeroLength (): CheckDefinition {
  const note = 'the reference implementations accept an empty packet, so refusing it is a warning'
  return {
    id: 'bs.zero-length',
    title: 'the peer should accept a zero-length packet, as the reference implementations do',
    hostile: false,
    server: async (context) => await asEchoClient(context, async (channel) => {
      const good = randomBytes(GOOD_BYTES)
      channel.send(channel.sealer.packet(new Uint8Array(0)), channel.sealer.data(good), channel.sealer.goodbye())
      const { plaintext, goodbye } = await channel.receive(context.replyTimeout)
      if (plaintext.equals(good) && goodbye) return pass('the server skipped the empty packet and echoed what followed, then said goodbye')
      return warn(`after an empty packet the server echoed ${describeEcho(plaintext, good)}${goodbye ? '' : ' and no goodbye'}: ${note}`)
    }),
    client: async (context) => {
      const run = await context.launch({ stdin: new Uint8Array(0) })
      const { session } = await handshakeAsServer(context, run.connection)
      const channel = new BoxChannel(run.connection, session)
      const good = randomBytes(GOOD_BYTES)
      channel.send(channel.sealer.packet(new Uint8Array(0)), channel.sealer.data(good), channel.sealer.goodbye())
      channel.end()
      const exit = await run.process.waitForExit(context.replyTimeout)
      if (exit !== undefined && exit.code === 0 && run.process.stdout.equals(good)) return pass('the client skipped the empty packet, printed what followed and exited with status 0')
      return warn(`after an empty packet the client printed ${describeEcho(run.process.stdout, good)} and ` +
        `${exit === undefined ? 'kept running' : `exited with status ${String(exit.code ?? exit.signal)}`}: ${note}`)
    }
  }
}

export function boxStreamChecks (): CheckDefinition[] {
  return [
    sizes(1, '1'), sizes(4095, '4095'), sizes(4096, '4096'), sizes(4097, '4097'), sizes(MIB, '1mib'),
    halfCloseSend(),
    halfCloseReceive(),
    badPacket('bs.flipped-header', 'the peer must refuse a packet whose header has a flipped bit', 'a packet with a flipped bit in its header',
      (channel, good) => { channel.send(channel.sealer.data(good), flip(channel.sealer.packet(randomBytes(GOOD_BYTES)), HEADER_MAC_BYTE)) }),
    badPacket('bs.flipped-body', 'the peer must refuse a packet whose body has a flipped bit', 'a packet with a flipped bit in its body',
      (channel, good) => { channel.send(channel.sealer.data(good), flip(channel.sealer.packet(randomBytes(GOOD_BYTES)), BODY_BYTE)) }),
    badPacket('bs.oversized-length', 'the peer must refuse a header announcing more than 4096 bytes', `a header announcing ${OVERSIZED_BYTES} bytes`,
      (channel, good) => { channel.send(channel.sealer.data(good), channel.sealer.packet(randomBytes(OVERSIZED_BYTES))) }),
    badPacket('bs.replayed-packet', 'the peer must refuse a replayed packet', 'the same packet twice',
      (channel, good) => { const packet = channel.sealer.data(good); channel.send(packet, packet) }),
    badPacket('bs.reordered-packets', 'the peer must refuse packets that arrive out of order', 'two packets in swapped order',
      (channel, good) => {
        const inOrder = channel.sealer.data(good)
        const first = channel.sealer.packet(randomBytes(GOOD_BYTES))
        const second = channel.sealer.packet(randomBytes(GOOD_BYTES))
        channel.send(inOrder, second, first)
      }),
    badPacket('bs.cut', 'the peer must treat a connection cut without goodbye as a failure', 'data, then end of stream without goodbye',
      (channel, good) => { channel.send(channel.sealer.data(good)); channel.end() }),
    afterGoodbye(),
    zeroLength()
  ]
}
