/**
 * Rekey checks of rekeys we start, and of control packets the peer must refuse (docs/REKEY.md).
 * Server role: the echo server's echo shows what it delivered, on both sides of each switch.
 * Client role: its stdout shows what it delivered; its stdin, fed after the switch, is what it
 * must seal under its new key.
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { REQUEST, RESPONSE, SWITCH, controlBody } from '../../connection/rekey-schedule.ts'
import { PUBLIC_KEY_BYTES } from '../../crypto/primitives.ts'
import { type CheckDefinition, type ClientRoleContext, type ClientRun, fail, pass } from '../check.ts'
import { isPrefix, judgeClientFailure } from '../play.ts'
import type { RekeyChannel } from '../rekey-channel.ts'
import { RekeySide } from '../rekey-play.ts'
import type { Verdict } from '../types.ts'
import { formatMs } from '../units.ts'
import { GOOD_BYTES, describeEcho, flip } from './moves.ts'
import { CAUSES, describeStop, expectControl, rekeyCheck } from './rekey-moves.ts'
import { rekeyTheirsChecks } from './rekey-theirs.ts'

/** A byte of a control packet's sealed body (after the 34-byte header), inside the public key. */
const CONTROL_BODY_BYTE = 34 + 5
/** A type no version of the extension has. */
const UNKNOWN_TYPE = 9
/** A REQUEST body cut short: a type and half a key. */
const SHORT_KEY_BYTES = PUBLIC_KEY_BYTES / 2

/** Why the RESPONSE to our rekey `index` (from 0) did not come. */
function causesOf (index: number): { cause: string, badCause: string } {
  return index === 0
    ? { cause: CAUSES.noAnswer, badCause: 'its box stream is broken before any rekey' }
    : { cause: `${CAUSES.receivingSwitch} (our REQUEST came after our SWITCH)`, badCause: CAUSES.sendingSwitch }
}

/** Judges the public keys of the peer's RESPONSEs, once every rekey completed. */
type KeysJudge = (keys: readonly Uint8Array[]) => Verdict | undefined

/** Server role: `count` rekeys we start, data before each and after the last, all echoed across the switches. */
async function ourRekeysOfServer (channel: RekeyChannel, timeout: number, count: number): Promise<{ keys: Uint8Array[], verdict: Verdict | undefined }> {
  const side = new RekeySide('client', channel)
  const sent: Buffer[] = []
  const echoed: Buffer[] = []
  const keys: Uint8Array[] = []
  const maxBytes = (count + 1) * GOOD_BYTES
  for (let index = 0; index < count; index++) {
    const data = randomBytes(GOOD_BYTES)
    sent.push(data)
    channel.send(channel.sealer.data(data))
    const ephemeral = side.request()
    const response = await expectControl(channel, RESPONSE, `its RESPONSE to our REQUEST (rekey ${index + 1} of ${count})`, { timeout, maxBytes },
      causesOf(index))
    echoed.push(response.data)
    side.complete(ephemeral, response.key)
    keys.push(response.key)
  }
  const last = randomBytes(GOOD_BYTES)
  sent.push(last)
  channel.send(channel.sealer.data(last), channel.sealer.goodbye())
  const end = await channel.until(timeout, maxBytes)
  echoed.push(end.data)
  const all = Buffer.concat(echoed)
  const expected = Buffer.concat(sent)
  if (end.packet.kind === 'bad') return { keys, verdict: fail(`after its RESPONSE the peer sent ${describeStop(end, timeout)}: ${CAUSES.sendingSwitch}`) }
  if (!isPrefix(all, expected)) return { keys, verdict: fail(`across the rekeys the peer echoed ${describeEcho(all, expected)}`) }
  if (end.packet.kind !== 'goodbye' || all.byteLength < expected.byteLength) {
    return { keys, verdict: fail(`after our SWITCH, data under our new key and goodbye, the echo stopped at ${all.byteLength} of ${expected.byteLength} bytes ` +
      `with ${describeStop({ ...end, data: Buffer.alloc(0) }, timeout)}: ${CAUSES.receivingSwitch}`) }
  }
  return { keys, verdict: undefined }
}

/** Client role: the same, the client's stdin fed once the last rekey completed, and its stdout judged at its exit. */
async function ourRekeysOfClient (context: ClientRoleContext, channel: RekeyChannel, run: ClientRun, count: number): Promise<{ keys: Uint8Array[], verdict: Verdict | undefined }> {
  const timeout = context.replyTimeout
  const side = new RekeySide('server', channel)
  const sent: Buffer[] = []
  const keys: Uint8Array[] = []
  for (let index = 0; index < count; index++) {
    const data = randomBytes(GOOD_BYTES)
    sent.push(data)
    channel.send(channel.sealer.data(data))
    const ephemeral = side.request()
    const response = await expectControl(channel, RESPONSE, `its RESPONSE to our REQUEST (rekey ${index + 1} of ${count})`, { timeout, maxBytes: 0 },
      causesOf(index))
    side.complete(ephemeral, response.key)
    keys.push(response.key)
  }
  const last = randomBytes(GOOD_BYTES)
  sent.push(last)
  channel.send(channel.sealer.data(last))
  const upstream = randomBytes(GOOD_BYTES)
  run.process.writeStdin(upstream)
  run.process.endStdin()
  const end = await channel.until(timeout, upstream.byteLength)
  const downstream = Buffer.concat(sent)
  const delivered = async (): Promise<string> => {
    await run.process.waitForExit(timeout)
    return `; it printed ${describeEcho(run.process.stdout, downstream)}`
  }
  if (end.packet.kind === 'bad') return { keys, verdict: fail(`after its RESPONSE the client sent ${describeStop(end, timeout)}: ${CAUSES.sendingSwitch}${await delivered()}`) }
  if (end.packet.kind !== 'goodbye' || !end.data.equals(upstream)) {
    return { keys, verdict: fail(`after the rekey, we fed its stdin ${upstream.byteLength} bytes; it sent ${describeStop(end, timeout)}${await delivered()}: ` +
      `${run.process.stdout.byteLength < downstream.byteLength ? CAUSES.receivingSwitch : CAUSES.sendingSwitch}`) }
  }
  channel.send(channel.sealer.goodbye())
  channel.end()
  const exit = await run.process.waitForExit(timeout)
  if (!run.process.stdout.equals(downstream)) return { keys, verdict: fail(`across the rekeys the client printed ${describeEcho(run.process.stdout, downstream)}: ${CAUSES.receivingSwitch}`) }
  if (exit === undefined || exit.code !== 0) return { keys, verdict: fail(`the rekeys and both goodbyes went through, but the client ${exit === undefined ? 'kept running' : `exited with status ${String(exit.code ?? exit.signal)}`}`) }
  return { keys, verdict: undefined }
}

function ourRekeys (id: string, title: string, count: number, judge: KeysJudge, passed: string): CheckDefinition {
  return rekeyCheck(id, title, false, {
    server: async (context, channel) => {
      const started = performance.now()
      const { keys, verdict } = await ourRekeysOfServer(channel, context.replyTimeout, count)
      return verdict ?? judge(keys) ?? pass(`${passed} (${formatMs(performance.now() - started)})`)
    },
    client: async (context, channel, run) => {
      const { keys, verdict } = await ourRekeysOfClient(context, channel, run, count)
      return verdict ?? judge(keys) ?? pass(passed)
    }
  })
}

type Play = (channel: RekeyChannel, good: Uint8Array) => void

/** good data, then a control packet the peer must refuse: only the good data may come through, then the end. */
function badControl (id: string, title: string, what: string, cause: string, play: Play): CheckDefinition {
  return rekeyCheck(id, title, true, {
    server: async (context, channel) => {
      const good = randomBytes(GOOD_BYTES)
      play(channel, good)
      const stop = await channel.until(context.replyTimeout, good.byteLength)
      if (!isPrefix(stop.data, good)) return fail(`after ${what}, the peer echoed ${describeEcho(stop.data, good)}`)
      if (stop.packet.kind === 'control') return fail(`the peer answered ${what} with ${describeStop(stop, context.replyTimeout)}: ${cause}`)
      if (stop.packet.kind === 'end' && !stop.packet.hungUp) return fail(`after ${what}, the peer kept the connection open for ${context.replyTimeout} ms: ${cause}`)
      if (stop.packet.kind !== 'end') return fail(`after ${what}, the peer sent ${describeStop(stop, context.replyTimeout)} instead of hanging up: ${cause}`)
      return pass(`after ${what}, the peer delivered nothing more and hung up`)
    },
    client: async (context, channel, run) => {
      const good = randomBytes(GOOD_BYTES)
      play(channel, good)
      return await judgeClientFailure(context, run, { sent: what, mayReply: true, allowedStdout: good })
    }
  })
}

/** A single rekey: nothing to compare. */
const anyKeys: KeysJudge = () => undefined

const fresh: KeysJudge = ([first, second]) => Buffer.from(first as Uint8Array).equals(second as Uint8Array)
  ? fail('the peer answered two rekeys with the same public key: it reuses its ephemeral key pair, so whoever steals that secret once ' +
    'follows every rekey it answers (docs/REKEY.md, "Key schedule")')
  : undefined

export function rekeyChecks (): CheckDefinition[] {
  const cause = 'a peer must end the connection at a control packet it cannot accept (docs/REKEY.md, "Packets" and "Errors")'
  return [
    ourRekeys('rk.rekey', 'the peer must answer our rekey and switch keys at RESPONSE and SWITCH', 1, anyKeys,
      'the peer answered our REQUEST, switched its sending key right after its RESPONSE and its receiving key at our SWITCH: data crossed both ways under the new keys'),
    ourRekeys('rk.fresh-ephemeral', 'the peer must answer each rekey with a fresh key pair', 2, fresh,
      'the peer answered two rekeys in a row with two different public keys, and data crossed under each rekey\'s keys'),
    ...rekeyTheirsChecks(),
    badControl('rk.tampered-control', 'the peer must refuse a rekey packet whose body does not authenticate', 'a REQUEST with a flipped bit in its body',
      'it does not check the MAC of control packets, so anyone on the path could start a rekey',
      (channel, good) => { channel.send(channel.sealer.data(good), flip(channel.sealer.control(controlBody(REQUEST, randomBytes(PUBLIC_KEY_BYTES))), CONTROL_BODY_BYTE)) }),
    badControl('rk.unknown-control', 'the peer must refuse a rekey packet of an unknown type', `a control packet of type ${UNKNOWN_TYPE}`, cause,
      (channel, good) => { channel.send(channel.sealer.data(good), channel.sealer.control(controlBody(UNKNOWN_TYPE as typeof REQUEST, randomBytes(PUBLIC_KEY_BYTES)))) }),
    badControl('rk.short-control', 'the peer must refuse a rekey packet of the wrong size', `a REQUEST carrying ${SHORT_KEY_BYTES} key bytes instead of ${PUBLIC_KEY_BYTES}`, cause,
      (channel, good) => { channel.send(channel.sealer.data(good), channel.sealer.control(controlBody(REQUEST, randomBytes(SHORT_KEY_BYTES)))) }),
    badControl('rk.unexpected-switch', 'the peer must refuse a SWITCH when no rekey is under way', 'a SWITCH with no rekey under way', cause,
      (channel, good) => { channel.send(channel.sealer.data(good), channel.sealer.control(controlBody(SWITCH))) })
  ]
}
