/**
 * Rekey checks of rekeys the peer starts (docs/REKEY.md, "One rekey"). Nothing on the wire asks
 * a peer to start one: it does at its own triggers (afterBytes, afterMs). So we move 2 MiB its
 * way (the echo of it, in the server role; its stdin, in the client role) and wait; a peer that
 * starts none meanwhile is SKIPPED, not failed. When it does start one we answer it, or (crossing)
 * send a REQUEST of our own first, as if ours had crossed its own on the wire.
 */
import { randomBytes } from 'node:crypto'
import { REQUEST, RESPONSE, SWITCH, controlBody } from '../../connection/rekey-schedule.ts'
import { generateCurveKeyPair } from '../../crypto/primitives.ts'
import { type CheckDefinition, type ClientRoleContext, type ClientRun, fail, pass, skip } from '../check.ts'
import { isPrefix } from '../play.ts'
import type { RekeyChannel, Stop } from '../rekey-channel.ts'
import { RekeySide } from '../rekey-play.ts'
import type { Verdict } from '../types.ts'
import { countBytes } from '../units.ts'
import { GOOD_BYTES, describeEcho } from './moves.ts'
import { CAUSES, type Control, controlFrom, describeStop, expectControl, rekeyCheck } from './rekey-moves.ts'

/** Twice the smallest afterBytes the extension allows (1 MiB): a peer set near it starts a rekey during it. */
const BULK_BYTES = 2 * 1024 * 1024

const CROSSING = 'docs/REKEY.md, "One rekey": two requests that cross are settled by the handshake\'s roles'
const NO_SWITCH = 'it did not finish its own rekey after our RESPONSE (switch its receiving key, send SWITCH, then its new sending key)'
const EARLY = 'it changed its sending key before its SWITCH'

/** Its REQUEST, or the verdict when none came (SKIP) or something else did (FAIL). */
function theirRequest (stop: Stop, bulk: Uint8Array, timeout: number): Control | Verdict {
  if (!isPrefix(stop.data, bulk)) return fail(`while we moved ${countBytes(bulk.byteLength)} its way, the peer sent ${describeEcho(stop.data, bulk)}`)
  if (stop.packet.kind === 'end' && !stop.packet.hungUp) {
    return skip(`the peer started no rekey of its own within ${timeout} ms, while ${countBytes(bulk.byteLength)} went through: ` +
      'it starts them only at its own triggers (afterBytes, afterMs); informational, not a failure')
  }
  return controlFrom(stop, REQUEST, 'a REQUEST of its own, or data', timeout, { cause: 'its box stream broke while no rekey was under way', badCause: 'its box stream is broken before any rekey' })
}

function isVerdict (value: Control | Verdict): value is Verdict {
  return 'status' in value
}

/** Server role: we are the client; when requests cross, ours wins and the server must answer it. */
async function theirRekeyOfServer (channel: RekeyChannel, timeout: number, crossing: boolean): Promise<Verdict> {
  const side = new RekeySide('client', channel)
  const bulk = randomBytes(BULK_BYTES)
  channel.send(channel.sealer.data(bulk))
  const request = theirRequest(await channel.until(timeout, bulk.byteLength), bulk, timeout)
  if (isVerdict(request)) return request
  const echoed = [request.data]
  const after = randomBytes(GOOD_BYTES)
  const maxBytes = bulk.byteLength + after.byteLength
  if (crossing) {
    const ephemeral = side.request()
    const response = await expectControl(channel, RESPONSE, 'its RESPONSE to our crossing REQUEST', { timeout, maxBytes },
      { cause: `the server must drop its own request and answer the client's (${CROSSING})`, badCause: EARLY })
    echoed.push(response.data)
    side.complete(ephemeral, response.key)
    channel.send(channel.sealer.data(after), channel.sealer.goodbye())
  } else {
    const atSwitch = side.respond(request.key)
    channel.send(channel.sealer.data(after))
    const switched = await expectControl(channel, SWITCH, 'its SWITCH after our RESPONSE', { timeout, maxBytes }, { cause: NO_SWITCH, badCause: EARLY })
    echoed.push(switched.data)
    atSwitch()
    channel.send(channel.sealer.goodbye())
  }
  const end = await channel.until(timeout, maxBytes)
  echoed.push(end.data)
  const all = Buffer.concat(echoed)
  const expected = Buffer.concat([bulk, after])
  if (end.packet.kind === 'bad') return fail(`after its ${crossing ? 'RESPONSE' : 'SWITCH'} the peer sent ${describeStop(end, timeout)}: ${CAUSES.sendingSwitch}`)
  if (end.packet.kind !== 'goodbye' || !all.equals(expected)) {
    return fail(`across its rekey the peer echoed ${describeEcho(all, expected)}, then ${describeStop({ ...end, data: Buffer.alloc(0) }, timeout)}: ${CAUSES.receivingSwitch}`)
  }
  return pass(crossing
    ? 'the server started a rekey; it answered our crossing REQUEST instead of waiting for an answer to its own, and data crossed under the new keys'
    : 'the server started a rekey, switched its receiving key at our RESPONSE and its sending key after its SWITCH; data crossed under the new keys')
}

/** Client role: we are the server; when requests cross, the client's wins and it must ignore ours. */
async function theirRekeyOfClient (context: ClientRoleContext, channel: RekeyChannel, run: ClientRun, crossing: boolean): Promise<Verdict> {
  const timeout = context.replyTimeout
  const side = new RekeySide('server', channel)
  const bulk = randomBytes(BULK_BYTES)
  run.process.writeStdin(bulk)
  const before = randomBytes(GOOD_BYTES)
  channel.send(channel.sealer.data(before))
  const request = theirRequest(await channel.until(timeout, bulk.byteLength), bulk, timeout)
  if (isVerdict(request)) return request
  // Ours as if it had crossed theirs on the wire; as the server we then drop it and answer theirs.
  if (crossing) channel.send(channel.sealer.control(controlBody(REQUEST, generateCurveKeyPair().publicKey)))
  const atSwitch = side.respond(request.key)
  const after = randomBytes(GOOD_BYTES)
  channel.send(channel.sealer.data(after))
  const switched = await expectControl(channel, SWITCH, 'its SWITCH after our RESPONSE', { timeout, maxBytes: bulk.byteLength },
    { cause: crossing ? `the client's request wins: it must ignore the server's REQUEST and finish its own (${CROSSING})` : NO_SWITCH, badCause: EARLY })
  atSwitch()
  const last = randomBytes(GOOD_BYTES)
  run.process.writeStdin(last)
  run.process.endStdin()
  const end = await channel.until(timeout, bulk.byteLength + last.byteLength)
  const upstream = Buffer.concat([request.data, switched.data, end.data])
  const expected = Buffer.concat([bulk, last])
  if (end.packet.kind === 'bad') return fail(`after its SWITCH the client sent ${describeStop(end, timeout)}: ${CAUSES.sendingSwitch}`)
  if (end.packet.kind !== 'goodbye' || !upstream.equals(expected)) {
    return fail(`across its rekey the client sent ${describeEcho(upstream, expected)} of its stdin, then ${describeStop({ ...end, data: Buffer.alloc(0) }, timeout)}`)
  }
  channel.send(channel.sealer.goodbye())
  channel.end()
  const exit = await run.process.waitForExit(timeout)
  const downstream = Buffer.concat([before, after])
  if (!run.process.stdout.equals(downstream)) return fail(`across its rekey the client printed ${describeEcho(run.process.stdout, downstream)}: ${CAUSES.receivingSwitch}`)
  if (exit === undefined || exit.code !== 0) return fail(`its rekey and both goodbyes went through, but the client ${exit === undefined ? 'kept running' : `exited with status ${String(exit.code ?? exit.signal)}`}`)
  return pass(crossing
    ? 'the client started a rekey, ignored our crossing REQUEST and finished its own with our RESPONSE; data crossed under the new keys'
    : 'the client started a rekey, switched at our RESPONSE and after its SWITCH; data crossed under the new keys')
}

export function rekeyTheirsChecks (): CheckDefinition[] {
  const both = (crossing: boolean): Parameters<typeof rekeyCheck>[3] => ({
    server: async (context, channel) => await theirRekeyOfServer(channel, context.replyTimeout, crossing),
    client: async (context, channel, run) => await theirRekeyOfClient(context, channel, run, crossing)
  })
  return [
    rekeyCheck('rk.peer-starts', 'the peer should start rekeys of its own, and complete them', false, both(false)),
    rekeyCheck('rk.crossing', 'the peer must settle crossing rekey requests by the handshake\'s roles', false, both(true))
  ]
}
