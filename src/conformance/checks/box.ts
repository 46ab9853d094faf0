/**
 * Box-stream checks of correct streams, both roles, after a valid handshake. Server role: the
 * server under test must echo what it receives (as `shs listen --exec cat` does), so what it
 * echoes shows what it delivered. Client role: the client under test copies the stream to
 * stdout, so stdout shows it. Every read allows only what the check sent (or less).
 */
import { randomBytes } from 'node:crypto'
import { BoxChannel } from '../box-channel.ts'
import { type CheckDefinition, type ClientRoleContext, fail, pass, warn } from '../check.ts'
import { handshakeAsServer } from '../play.ts'
import type { PeerProcess } from '../process.ts'
import type { Verdict } from '../types.ts'
import { countBytes } from '../units.ts'
import { GOOD_BYTES, afterHandshake, describeEcho } from './moves.ts'
import { badPacketChecks } from './box-refusals.ts'

const KIB = 1024
const MIB = 1024 * KIB
const HALF_CLOSE_BYTES = 256 * KIB

function sizes (bytes: number, label: string): CheckDefinition {
  return {
    id: `bs.size-${label}`,
    title: `the peer must carry ${countBytes(bytes)} each way, then goodbye`,
    hostile: false,
    server: async (context) => await afterHandshake(context, async (connection, session) => {
      const channel = new BoxChannel(connection, session)
      const payload = randomBytes(bytes)
      channel.send(channel.sealer.data(payload), channel.sealer.goodbye())
      const { plaintext, goodbye, error } = await channel.receive(context.replyTimeout, bytes)
      if (error !== undefined) return fail(`the server's box stream did not authenticate: ${error}`)
      if (!plaintext.equals(payload)) return fail(`we sent ${countBytes(bytes)} and goodbye; the echo was ${describeEcho(plaintext, payload)}`)
      if (!goodbye) return fail(`the server echoed our ${countBytes(bytes)} but did not say goodbye`)
      return pass(`the server echoed our ${countBytes(bytes)}, then said goodbye`)
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
  context: ClientRoleContext, process: PeerProcess, channel: BoxChannel, upstream: Uint8Array, downstream: Uint8Array,
  options: { goodbyeSent: boolean }
): Promise<Verdict> {
  const { plaintext, goodbye, error } = await channel.receive(context.replyTimeout, upstream.byteLength)
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
  return pass(`the client sent its ${countBytes(upstream.byteLength)} and goodbye, printed our ${countBytes(downstream.byteLength)} and exited with status 0`)
}

function halfCloseSend (): CheckDefinition {
  return {
    id: 'bs.half-close-send',
    title: 'the peer must keep sending after our goodbye, until its own',
    hostile: false,
    server: async (context) => await afterHandshake(context, async (connection, session) => {
      const channel = new BoxChannel(connection, session)
      const payload = randomBytes(HALF_CLOSE_BYTES)
      // Goodbye right behind the data: the server reads it while it still owes most of the echo.
      channel.send(channel.sealer.data(payload), channel.sealer.goodbye())
      const { plaintext, goodbye, error } = await channel.receive(context.replyTimeout, HALF_CLOSE_BYTES)
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
      const first = await channel.receive(context.replyTimeout, 0)
      if (!first.goodbye) return fail(`the client's input was empty, but it sent ${describeEcho(first.plaintext, new Uint8Array(0))} and no goodbye`)
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

function zeroLength (): CheckDefinition {
  const note = 'the reference implementations accept an empty packet, so refusing it is a warning'
  return {
    id: 'bs.zero-length',
    title: 'the peer should accept a zero-length packet, as the reference implementations do',
    hostile: false,
    server: async (context) => await afterHandshake(context, async (connection, session) => {
      const channel = new BoxChannel(connection, session)
      const good = randomBytes(GOOD_BYTES)
      channel.send(channel.sealer.packet(new Uint8Array(0)), channel.sealer.data(good), channel.sealer.goodbye())
      const { plaintext, goodbye } = await channel.receive(context.replyTimeout, good.byteLength)
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
    ...badPacketChecks(),
    zeroLength()
  ]
}
