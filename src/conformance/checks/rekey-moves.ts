/**
 * What the rekey checks share: the skip for a peer without the extension, the handshake under
 * K' on a fresh connection (server role) or client (client role), and the reading of the next
 * control packet with what its absence probably means.
 */
import { REQUEST, RESPONSE, SWITCH, parseControl } from '../../connection/rekey-schedule.ts'
import { BoxStreamError } from '../../errors.ts'
import { type CheckDefinition, type ClientRoleContext, type ClientRun, type ServerRoleContext, skip } from '../check.ts'
import { CheckFailure } from '../errors.ts'
import { RekeyChannel, type Stop } from '../rekey-channel.ts'
import { NOT_OFFERED, extensionHandshakeAsClient, extensionHandshakeAsServer } from '../rekey-play.ts'
import type { Verdict } from '../types.ts'
import { countBytes } from '../units.ts'
import { asClient } from './moves.ts'

export const CONTROL_NAMES: Readonly<Record<number, string>> = { [REQUEST]: 'REQUEST', [RESPONSE]: 'RESPONSE', [SWITCH]: 'SWITCH' }

/** Likely causes, named once. */
export const CAUSES = {
  sendingSwitch: 'it did not seal what follows its RESPONSE (or SWITCH) under its new key, or derives that key otherwise ' +
    '(docs/REKEY.md, "Key schedule": d, the current key, shared, I, R, in that order)',
  receivingSwitch: 'it did not open what follows our SWITCH (or RESPONSE) under its new receiving key',
  noAnswer: 'it does not run the rekey machine on a session under K\', or took our REQUEST for data'
} as const

export interface RekeyBodies {
  /** We are the client, on a session under K'. */
  readonly server: (context: ServerRoleContext, channel: RekeyChannel) => Promise<Verdict>
  /** We are the server; the client's stdin is held open for the body to feed. */
  readonly client: (context: ClientRoleContext, channel: RekeyChannel, run: ClientRun) => Promise<Verdict>
}

/** A check of the extension: SKIP with NOT_OFFERED where the peer does not offer it. */
export function rekeyCheck (id: string, title: string, hostile: boolean, bodies: RekeyBodies): CheckDefinition {
  return {
    id,
    title,
    hostile,
    server: async (context) => {
      if (!context.rekeyOffer.offered) return skip(`${NOT_OFFERED} (${context.rekeyOffer.seen})`)
      return await asClient(context, async (connection) =>
        await bodies.server(context, new RekeyChannel(connection, await extensionHandshakeAsClient(context, connection))))
    },
    client: async (context) => {
      const run = await context.launch({ stdin: 'open', extension: true })
      const session = await extensionHandshakeAsServer(context, run)
      if (session === undefined) return skip(`${NOT_OFFERED} (its hello verified under K, not K')`)
      return await bodies.client(context, new RekeyChannel(run.connection, session), run)
    }
  }
}

/** What ended a read, in words. */
export function describeStop (stop: Stop, timeout: number): string {
  const data = stop.data.byteLength > 0 ? `${countBytes(stop.data.byteLength)} of data, then ` : ''
  const packet = stop.packet
  switch (packet.kind) {
    case 'control': return `${data}a control packet of type ${String(packet.body[0])} (${CONTROL_NAMES[packet.body[0] as number] ?? 'unknown'}) and ${packet.body.byteLength} bytes`
    case 'goodbye': return `${data}goodbye`
    case 'bad': return `${data}a packet that did not authenticate (${packet.reason})`
    case 'end': return `${data}${packet.hungUp ? 'a hang-up' : `nothing more for ${timeout} ms`}`
  }
}

export interface Control {
  /** Data before it. */
  readonly data: Buffer
  /** The sender's fresh public key (REQUEST, RESPONSE). */
  readonly key: Uint8Array
}

/**
 * The peer's next control packet, which must be `type`, well formed. Otherwise a CheckFailure:
 * what came instead, and `cause` (or, for a packet that did not authenticate, `badCause`).
 */
export async function expectControl (
  channel: RekeyChannel, type: number, what: string, limits: { readonly timeout: number, readonly maxBytes: number },
  causes: { readonly cause: string, readonly badCause: string }
): Promise<Control> {
  return controlFrom(await channel.until(limits.timeout, limits.maxBytes), type, what, limits.timeout, causes)
}

/** As expectControl, for what a read already got. */
export function controlFrom (stop: Stop, type: number, what: string, timeout: number, causes: { readonly cause: string, readonly badCause: string }): Control {
  const packet = stop.packet
  if (packet.kind !== 'control' || packet.body[0] !== type) {
    const cause = packet.kind === 'bad' ? causes.badCause : causes.cause
    throw new CheckFailure(`we waited for ${what}; the peer sent ${describeStop(stop, timeout)}: ${cause}`)
  }
  try {
    const message = parseControl(packet.body)
    return { data: stop.data, key: message.type === SWITCH ? new Uint8Array(0) : message.publicKey }
  } catch (err) {
    if (!(err instanceof BoxStreamError)) throw err
    throw new CheckFailure(`${what} is malformed (${packet.body.byteLength} bytes; docs/REKEY.md, "Packets"): ${err.message}`)
  }
}
