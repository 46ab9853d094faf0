/**
 * The rekey extension from our side of a check (docs/REKEY.md): whether the peer offers it, the
 * handshake under K', and our half of a rekey, correct, with each step a check can time or skip.
 */
import { asNetworkKey } from '../crypto/keys.ts'
import { ShsError } from '../errors.ts'
import { type CurveKeyPair, HMAC_BYTES, diffieHellman, generateCurveKeyPair, verifyHmac } from '../crypto/primitives.ts'
import { type Direction, REQUEST, RESPONSE, SWITCH, controlBody, nextKeys } from '../connection/rekey-schedule.ts'
import { rekeyNetworkKey } from '../handshake/rekey-options.ts'
import type { SessionKeys } from '../handshake/session.ts'
import type { ClientRoleContext, ClientRun, RekeyOffer, ServerRoleContext } from './check.ts'
import { CheckFailure } from './errors.ts'
import { PacketSealer } from './packet-sealer.ts'
import { handshakeAsClient, handshakeAsServer, readExactly } from './play.ts'
import type { RekeyChannel } from './rekey-channel.ts'
import { HELLO_BYTES, HandshakeSeam } from './seam.ts'
import type { RawConnection } from './wire/connection.ts'

/** The note of every rekey check against a peer without the extension. */
export const NOT_OFFERED = 'the peer does not offer shs-rekey/1'

/** The rekey checks' ids start so; only a run with one of them probes the server. */
export const REKEY_PREFIX = 'rk.'

export function isRekeyCheck (check: { readonly id: string }): boolean {
  return check.id.startsWith(REKEY_PREFIX)
}

/** K' = hmac_K("shs-rekey/1"): an extension handshake is SHS1 under it. */
export function extensionKey (networkKey: Uint8Array): Uint8Array {
  return rekeyNetworkKey(asNetworkKey(networkKey))
}

/**
 * Server role, once per run: a hello under K'. A server with the extension answers with a hello
 * that verifies under K' (we then complete the handshake and say goodbye); one without hangs up,
 * or never answers (python-ssb), as for a client of another network.
 */
export async function probeServer (context: Omit<ServerRoleContext, 'open' | 'rekeyOffer'>, connection: RawConnection): Promise<RekeyOffer> {
  const networkKey = extensionKey(context.networkKey)
  const seam = HandshakeSeam.client(context.keys, networkKey, context.serverKey)
  connection.write(seam.hello())
  const outcome = await connection.read(HELLO_BYTES, context.replyTimeout)
  if (outcome.kind === 'hung-up') return { offered: false, seen: 'it hung up on a hello under K\'' }
  if (outcome.kind === 'timeout') return { offered: false, seen: `it left a hello under K' unanswered for ${context.replyTimeout} ms` }
  if (!seam.acceptHello(outcome.bytes)) return { offered: false, seen: 'it answered a hello under K\' with a hello that does not verify under K\'' }
  try {
    const { session } = await handshakeAsClient({ ...context, networkKey }, connection, { seam, hello: outcome.bytes })
    connection.write(new PacketSealer(session).goodbye())
  } catch (err) {
    if (!(err instanceof CheckFailure)) throw err
    return { offered: true, seen: `it answered a hello under K', then failed the handshake under K' (${err.message})` }
  }
  return { offered: true, seen: 'it completed a handshake under K\'' }
}

/** Whether `hello` carries a valid MAC under `networkKey`. */
export function helloUnder (hello: Uint8Array, networkKey: Uint8Array): boolean {
  return verifyHmac(hello.subarray(0, HMAC_BYTES), hello.subarray(HMAC_BYTES, HELLO_BYTES), networkKey)
}

/** Server role: the whole handshake under K', as a client that asks for the extension. */
export async function extensionHandshakeAsClient (context: ServerRoleContext, connection: RawConnection): Promise<SessionKeys> {
  return (await handshakeAsClient({ ...context, networkKey: extensionKey(context.networkKey) }, connection)).session
}

/**
 * Client role: the client's hello tells whether it asks for the extension. Under K' we play a
 * server that offers it and hand the session over; under K we complete a plain SHS1 session
 * cleanly (goodbyes both ways), let the client exit, and give undefined: the check is skipped.
 */
export async function extensionHandshakeAsServer (context: ClientRoleContext, run: ClientRun): Promise<SessionKeys | undefined> {
  const hello = await readExactly(run.connection, HELLO_BYTES, 'the client hello (message 1)', context.replyTimeout)
  const networkKey = extensionKey(context.networkKey)
  const asks = helloUnder(hello, networkKey)
  const { session } = await handshakeAsServer({ ...context, networkKey: asks ? networkKey : context.networkKey }, run.connection, hello)
  if (asks) return session
  run.connection.write(new PacketSealer(session).goodbye())
  run.process.endStdin()
  run.connection.endWrite()
  await run.process.waitForExit(context.replyTimeout)
  return undefined
}

/** Our half of the rekeys of one connection, in our handshake role. */
export class RekeySide {
  readonly #channel: RekeyChannel
  readonly #sending: Direction
  readonly #receiving: Direction

  constructor (role: 'client' | 'server', channel: RekeyChannel) {
    this.#channel = channel
    this.#sending = role === 'client' ? 'client-to-server' : 'server-to-client'
    this.#receiving = role === 'client' ? 'server-to-client' : 'client-to-server'
  }

  /** Sends REQUEST with a fresh key; the pair is for `complete`. */
  request (): CurveKeyPair {
    const ephemeral = generateCurveKeyPair()
    this.#channel.send(this.#channel.sealer.control(controlBody(REQUEST, ephemeral.publicKey)))
    return ephemeral
  }

  /** The peer's RESPONSE to our REQUEST: its packets after it under its new key; our SWITCH, then our new key. */
  complete (ephemeral: CurveKeyPair, responderKey: Uint8Array): void {
    const shared = agree(ephemeral.secretKey, responderKey)
    const initiatorKey = ephemeral.publicKey
    this.#channel.rekeyReceiving((key) => nextKeys(this.#receiving, key, shared, initiatorKey, responderKey))
    this.#channel.send(this.#channel.sealer.control(controlBody(SWITCH)))
    this.#channel.sealer.rekey((key) => nextKeys(this.#sending, key, shared, initiatorKey, responderKey))
  }

  /** Answers the peer's REQUEST: our RESPONSE, then our new key. Call the result at its SWITCH. */
  respond (initiatorKey: Uint8Array): () => void {
    const ephemeral = generateCurveKeyPair()
    const responderKey = ephemeral.publicKey
    const shared = agree(ephemeral.secretKey, initiatorKey)
    this.#channel.send(this.#channel.sealer.control(controlBody(RESPONSE, responderKey)))
    this.#channel.sealer.rekey((key) => nextKeys(this.#sending, key, shared, initiatorKey, responderKey))
    return () => { this.#channel.rekeyReceiving((key) => nextKeys(this.#receiving, key, shared, initiatorKey, responderKey)) }
  }
}

function agree (secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  try {
    return diffieHellman(secretKey, publicKey)
  } catch (err) {
    if (!(err instanceof ShsError)) throw err
    throw new CheckFailure('the peer\'s rekey key is a low-order point (an all-zero X25519 result): its key generation is broken')
  }
}
