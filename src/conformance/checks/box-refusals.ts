/**
 * Box-stream checks of streams that go wrong, both roles: good bytes, then something no peer may
 * deliver. Only the good bytes (or a prefix of them) may come through, then the end: a server
 * hangs up, a client exits non-zero.
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { BoxChannel } from '../box-channel.ts'
import { type CheckDefinition, fail, pass } from '../check.ts'
import { handshakeAsServer, isPrefix, judgeClientFailure } from '../play.ts'
import { countBytes, formatMs } from '../units.ts'
import { GOOD_BYTES, afterHandshake, describeEcho, flip } from './moves.ts'

const OVERSIZED_BYTES = 5000
/** What a peer may still send after the stream went wrong, before it hangs up (a goodbye, a last packet). */
const AFTER_BYTES_ALLOWED = 64 * 1024
/** A byte of the header's MAC, and one of the body (after the 34-byte header). */
const HEADER_MAC_BYTE = 3
const BODY_BYTE = 34 + 7

type Play = (channel: BoxChannel, good: Uint8Array) => void

function badPacket (id: string, title: string, what: string, play: Play): CheckDefinition {
  return {
    id,
    title,
    hostile: true,
    server: async (context) => await afterHandshake(context, async (connection, session) => {
      const channel = new BoxChannel(connection, session)
      const good = randomBytes(GOOD_BYTES)
      play(channel, good)
      const sentAt = performance.now()
      const { plaintext, error } = await channel.receive(context.replyTimeout, good.byteLength)
      if (error !== undefined) return fail(`the server's box stream did not authenticate: ${error}`)
      if (plaintext.byteLength > good.byteLength) return fail(`after ${what}, the server echoed ${countBytes(plaintext.byteLength - good.byteLength)} it must not deliver`)
      if (!isPrefix(plaintext, good)) return fail(`after ${what}, the server echoed ${describeEcho(plaintext, good)}`)
      const outcome = await connection.waitForHangUp(Math.max(1, sentAt + context.replyTimeout - performance.now()), AFTER_BYTES_ALLOWED)
      if (outcome.received > AFTER_BYTES_ALLOWED) return fail(`after ${what}, the server kept sending (more than ${AFTER_BYTES_ALLOWED} bytes) instead of hanging up`)
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

function afterGoodbye (): CheckDefinition {
  const what = 'a packet after our goodbye'
  const play: Play = (channel, good) => { channel.send(channel.sealer.data(good), channel.sealer.goodbye(), channel.sealer.packet(randomBytes(GOOD_BYTES))) }
  const describe = (delivered: Buffer, good: Uint8Array): string => delivered.equals(good) ? 'all' : `${delivered.byteLength} of the ${good.byteLength} bytes`
  return {
    id: 'bs.after-goodbye',
    title: 'the peer must not deliver bytes that follow a goodbye',
    hostile: true,
    server: async (context) => await afterHandshake(context, async (connection, session) => {
      const channel = new BoxChannel(connection, session)
      const good = randomBytes(GOOD_BYTES)
      play(channel, good)
      const { plaintext, error } = await channel.receive(context.replyTimeout, good.byteLength)
      if (error !== undefined) return fail(`the server's box stream did not authenticate: ${error}`)
      if (!isPrefix(plaintext, good)) return fail(`after ${what}, the server echoed ${describeEcho(plaintext, good)}: more than what came before the goodbye`)
      const outcome = await connection.waitForHangUp(context.replyTimeout, AFTER_BYTES_ALLOWED)
      if (outcome.received > AFTER_BYTES_ALLOWED) return fail(`after ${what}, the server kept sending (more than ${AFTER_BYTES_ALLOWED} bytes) instead of hanging up`)
      if (!outcome.hungUp) return fail(`after ${what}, the server kept the connection open for ${context.replyTimeout} ms`)
      return pass(`the server echoed ${describe(plaintext, good)} of what came before our goodbye, nothing after it, and hung up`)
    }),
    client: async (context) => {
      const run = await context.launch({ stdin: new Uint8Array(0) })
      const { session } = await handshakeAsServer(context, run.connection)
      const channel = new BoxChannel(run.connection, session)
      const good = randomBytes(GOOD_BYTES)
      play(channel, good)
      channel.end()
      const exit = await run.process.waitForExit(context.replyTimeout)
      if (exit === undefined) return fail(`after ${what}, the client was still running ${context.replyTimeout} ms later`)
      const printed = run.process.stdout
      if (!isPrefix(printed, good)) return fail(`after ${what}, the client printed ${describeEcho(printed, good)}: more than what came before our goodbye`)
      return pass(`the client printed ${describe(printed, good)} of what came before our goodbye, nothing after it, and exited with status ${String(exit.code ?? exit.signal)}`)
    }
  }
}

export function badPacketChecks (): CheckDefinition[] {
  return [
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
    afterGoodbye()
  ]
}
