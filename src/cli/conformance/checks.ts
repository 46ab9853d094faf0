/**
 * The conformance battery. Each check opens its own raw connection and plays a client that is
 * correct, mistaken or hostile, using the sans-IO handshake machine for the valid parts, and
 * judges only what a remote server visibly does: what it sends back, and when it hangs up
 * (shs1.md: a server that refuses writes nothing more and hangs up).
 */
import { randomBytes } from 'node:crypto'
import {
  BoxStreamDecoder, BoxStreamEncoder, HandshakeError, type KeyPair, SecretHandshake, type SessionKeys, generateKeyPair
} from '../../index.ts'
import type { RemoteAddress } from '../address.ts'
import { formatId } from '../identity.ts'
import { formatMs } from '../log.ts'
import { RawConnection } from './raw-connection.ts'

export type CheckStatus = 'pass' | 'fail' | 'skip'

export interface CheckResult {
  readonly id: string
  readonly title: string
  readonly status: CheckStatus
  readonly reason: string
  /** How long the check took, in milliseconds. */
  readonly ms: number
}

export interface ProbeContext {
  readonly target: RemoteAddress
  readonly keys: KeyPair
  readonly networkKey: Uint8Array
  /** How long to wait for each reply, or for a hang-up that should follow a bad message. */
  readonly replyTimeout: number
  /** How long the stall check waits before it declares that the server never drops a silent client. */
  readonly stallTimeout: number
}

const HELLO_BYTES = 64
const CLIENT_AUTH_BYTES = 112
const NETWORK_KEY_BYTES = 32
/** Enough to span a full box-stream packet and a partial one (bodies are at most 4096 bytes). */
const PROBE_PAYLOAD_BYTES = 5_000

export const CHECK_TITLES = {
  handshake: 'a valid handshake completes',
  'box-stream': 'the box stream carries data',
  'wrong-network-key': 'a hello made with another network key gets no reply and a hang-up',
  'wrong-server-key': 'a client that assumes another server key is refused after message 3',
  'random-hello': 'a random first message gets no reply and a hang-up',
  'truncated-hello': 'a truncated first message gets no reply and a hang-up',
  'random-client-auth': 'a random third message gets no reply and a hang-up',
  'stalling-client': 'a client that stalls mid-handshake is dropped'
} as const

export type CheckId = keyof typeof CHECK_TITLES

function result (id: CheckId, status: CheckStatus, reason: string, started: number): CheckResult {
  return { id, title: CHECK_TITLES[id], status, reason, ms: Math.round(performance.now() - started) }
}

/** A probe could not go on: the reason is the check's verdict. */
class ProbeFailure extends Error {}

function clientMachine (context: ProbeContext, overrides: { networkKey?: Uint8Array, remotePublicKey?: Uint8Array } = {}): SecretHandshake {
  return SecretHandshake.client({
    keys: context.keys,
    networkKey: overrides.networkKey ?? context.networkKey,
    remotePublicKey: overrides.remotePublicKey ?? context.target.remotePublicKey
  })
}

function nextWrite (machine: SecretHandshake): Uint8Array {
  const action = machine.next()
  if (action.type !== 'write') throw new Error(`the handshake machine asked to ${action.type}, expected a write`)
  return action.bytes
}

/** Reads the message the machine waits for and feeds it in; a missing or invalid reply ends the probe. */
async function receiveNext (connection: RawConnection, machine: SecretHandshake, what: string, timeout: number): Promise<void> {
  const action = machine.next()
  if (action.type !== 'read') throw new Error(`the handshake machine asked to ${action.type}, expected a read`)
  const outcome = await connection.read(action.length, timeout)
  if (outcome.kind === 'hung-up') throw new ProbeFailure(`the server hung up instead of sending ${what} (after ${outcome.received} of ${action.length} bytes)`)
  if (outcome.kind === 'timeout') throw new ProbeFailure(`no ${what} within ${timeout} ms (${outcome.received} of ${action.length} bytes arrived)`)
  try {
    machine.receive(outcome.bytes)
  } catch (err) {
    if (!(err instanceof HandshakeError)) throw err
    throw new ProbeFailure(`${what} did not verify: ${err.message}`)
  }
}

/** Client side up to and including the server's hello, with the context's correct keys unless overridden. */
async function exchangeHellos (connection: RawConnection, machine: SecretHandshake, timeout: number): Promise<void> {
  connection.write(nextWrite(machine))
  await receiveNext(connection, machine, 'the server hello (message 2)', timeout)
}

/** After a message the server must reject: it must send nothing and hang up. */
async function judgeRefusal (id: CheckId, connection: RawConnection, sent: string, timeout: number, started: number): Promise<CheckResult> {
  const outcome = await connection.waitForHangUp(timeout)
  if (outcome.received > 0) {
    return result(id, 'fail', `the server answered ${sent} with ${outcome.received} bytes; it must send nothing ` +
      'and hang up', started)
  }
  if (!outcome.hungUp) {
    return result(id, 'fail', `no reply to ${sent}, but the server kept the connection open for ${timeout} ms ` +
      'instead of hanging up', started)
  }
  return result(id, 'pass', `no reply to ${sent}; the server hung up after ${formatMs(outcome.ms)}`, started)
}

/** Runs one probe on a fresh connection; ProbeFailure becomes a FAIL with its reason. */
async function probe (
  id: CheckId,
  context: ProbeContext,
  body: (connection: RawConnection, started: number) => Promise<CheckResult>
): Promise<CheckResult> {
  const started = performance.now()
  const connection = await RawConnection.open(context.target, context.replyTimeout)
  try {
    return await body(connection, started)
  } catch (err) {
    if (err instanceof ProbeFailure) return result(id, 'fail', err.message, started)
    throw err
  } finally {
    connection.close()
  }
}

/** The valid handshake, then a payload and goodbye over the box stream: two results from one connection. */
export async function checkHandshakeAndBoxStream (context: ProbeContext): Promise<[CheckResult, CheckResult]> {
  const started = performance.now()
  const connection = await RawConnection.open(context.target, context.replyTimeout)
  try {
    let session: SessionKeys
    try {
      session = await completeHandshake(connection, context)
    } catch (err) {
      if (!(err instanceof ProbeFailure)) throw err
      return [result('handshake', 'fail', err.message, started),
        result('box-stream', 'skip', 'skipped: there is no box stream without a handshake', started)]
    }
    const handshake = result('handshake', 'pass', `completed in ${formatMs(performance.now() - started)}; ` +
      `the server proved it holds ${formatId(context.target.remotePublicKey)}`, started)
    return [handshake, await exerciseBoxStream(connection, session, context.replyTimeout)]
  } finally {
    connection.close()
  }
}

async function completeHandshake (connection: RawConnection, context: ProbeContext): Promise<SessionKeys> {
  const machine = clientMachine(context)
  await exchangeHellos(connection, machine, context.replyTimeout)
  connection.write(nextWrite(machine))
  await receiveNext(connection, machine, 'the server accept (message 4)', context.replyTimeout)
  const action = machine.next()
  if (action.type !== 'complete') throw new Error(`the handshake machine asked to ${action.type} after message 4`)
  return action.session
}

/**
 * Sends a payload and goodbye, then checks that whatever the server sends authenticates. An
 * echo server sends the payload back; others may answer something else, or just say goodbye.
 */
async function exerciseBoxStream (connection: RawConnection, session: SessionKeys, timeout: number): Promise<CheckResult> {
  const started = performance.now()
  const encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce)
  const decoder = new BoxStreamDecoder(session.decryptKey, session.decryptNonce)
  const payload = randomBytes(PROBE_PAYLOAD_BYTES)
  connection.write(encoder.encode(payload))
  // Goodbye without TCP FIN: the reference peers end the whole connection on FIN (shs1.md).
  connection.write(encoder.goodbye())
  const received: Uint8Array[] = []
  let receivedBytes = 0
  const deadline = performance.now() + timeout
  try {
    while (!decoder.ended && !connection.hungUp && performance.now() < deadline) {
      const bytes = await connection.readSome(Math.max(1, deadline - performance.now()))
      for (const plaintext of decoder.push(bytes)) {
        received.push(plaintext)
        receivedBytes += plaintext.byteLength
      }
      if (decoder.error !== undefined) throw decoder.error
    }
  } catch (err) {
    decoder.destroy()
    const message = err instanceof Error ? err.message : String(err)
    return result('box-stream', 'fail', `the server sent box-stream data that does not authenticate: ${message}`, started)
  }
  const echoed = Buffer.concat(received).subarray(0, payload.byteLength).equals(payload)
  const what = receivedBytes === 0 ? 'no data' : echoed ? `our ${payload.byteLength}-byte payload back` : `${receivedBytes} authenticated bytes`
  decoder.destroy()
  if (decoder.ended) return result('box-stream', 'pass', `sent ${payload.byteLength} bytes and goodbye; the server sent ${what}, then goodbye`, started)
  if (receivedBytes > 0) {
    return result('box-stream', 'pass', `sent ${payload.byteLength} bytes and goodbye; the server sent ${what}, then ` +
      (connection.hungUp ? 'hung up without goodbye' : `nothing more for ${timeout} ms`), started)
  }
  return result('box-stream', 'fail', `sent ${payload.byteLength} bytes and goodbye; the server sent nothing back and ` +
    (connection.hungUp ? 'hung up without goodbye' : `stayed silent for ${timeout} ms`), started)
}

export async function checkWrongNetworkKey (context: ProbeContext): Promise<CheckResult> {
  return await probe('wrong-network-key', context, async (connection, started) => {
    const machine = clientMachine(context, { networkKey: randomBytes(NETWORK_KEY_BYTES) })
    connection.write(nextWrite(machine))
    return await judgeRefusal('wrong-network-key', connection, 'a hello made with a random network key', context.replyTimeout, started)
  })
}

export async function checkWrongServerKey (context: ProbeContext): Promise<CheckResult> {
  return await probe('wrong-server-key', context, async (connection, started) => {
    const machine = clientMachine(context, { remotePublicKey: generateKeyPair().publicKey })
    await exchangeHellos(connection, machine, context.replyTimeout)
    connection.write(nextWrite(machine))
    return await judgeRefusal('wrong-server-key', connection, 'message 3 addressed to another server key', context.replyTimeout, started)
  })
}

export async function checkRandomHello (context: ProbeContext): Promise<CheckResult> {
  return await probe('random-hello', context, async (connection, started) => {
    connection.write(randomBytes(HELLO_BYTES))
    return await judgeRefusal('random-hello', connection, `${HELLO_BYTES} random bytes`, context.replyTimeout, started)
  })
}

export async function checkTruncatedHello (context: ProbeContext): Promise<CheckResult> {
  return await probe('truncated-hello', context, async (connection, started) => {
    const hello = nextWrite(clientMachine(context))
    const half = HELLO_BYTES / 2
    connection.write(hello.subarray(0, half))
    // End our side, so the server knows no more bytes are coming instead of waiting for them.
    connection.endWrite()
    return await judgeRefusal('truncated-hello', connection, `the first ${half} bytes of a valid hello and end of stream`, context.replyTimeout, started)
  })
}

export async function checkRandomClientAuth (context: ProbeContext): Promise<CheckResult> {
  return await probe('random-client-auth', context, async (connection, started) => {
    await exchangeHellos(connection, clientMachine(context), context.replyTimeout)
    connection.write(randomBytes(CLIENT_AUTH_BYTES))
    return await judgeRefusal('random-client-auth', connection, `a valid hello followed by ${CLIENT_AUTH_BYTES} random bytes`, context.replyTimeout, started)
  })
}

/** A valid hello, then silence: the server should give up on us after its handshake timeout. */
export async function checkStallingClient (context: ProbeContext): Promise<CheckResult> {
  return await probe('stalling-client', context, async (connection, started) => {
    connection.write(nextWrite(clientMachine(context)))
    const outcome = await connection.waitForHangUp(context.stallTimeout)
    const answered = outcome.received >= HELLO_BYTES ? 'answered our hello, then ' : ''
    if (outcome.hungUp) {
      return result('stalling-client', 'pass', `the server ${answered}dropped us after ${formatSeconds(outcome.ms)} of silence`, started)
    }
    return result('stalling-client', 'fail', `the server ${answered}kept a silent client connected for ${formatSeconds(outcome.ms)} ` +
      '(--stall-timeout): idle half-done handshakes can exhaust it; if its limit is longer, raise --stall-timeout', started)
  })
}

function formatSeconds (ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`
}
