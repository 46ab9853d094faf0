/**
 * One rekey of the extension, both ends in memory (no network): what a rekey costs in CPU, next
 * to the crypto it cannot do without (two key pairs, two X25519, eight SHA-256).
 */
import { SSB_NETWORK_KEY as networkKey, BoxStream, type BoxStreamEvent, SecretHandshake, type SessionKeys, generateKeyPair } from '../../src/index.ts'
import { diffieHellman, generateCurveKeyPair, sha256 } from '../../src/crypto/primitives.ts'
import { US_PER_MS } from './config.ts'

const clientKeys = generateKeyPair()
const serverKeys = generateKeyPair()
/** Apart far enough for our own rate cap to let every rekey of the loop start. */
const CLOCK_STEP_MS = 1000
/** A key-schedule hash's input: two labels' worth, a key, a DH result, two public keys. */
const SCHEDULE_INPUT_BYTES = 18 + 1 + 32 + 32 + 32 + 32
const SCHEDULE_HASHES = 8

function written (machine: SecretHandshake): Uint8Array {
  return (machine.next() as { bytes: Uint8Array }).bytes
}

function sessions (): SessionKeys[] {
  const client = SecretHandshake.client({ keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey, rekey: 'require' })
  const server = SecretHandshake.server({ keys: serverKeys, networkKey, rekey: 'require' })
  server.receive(written(client))
  client.receive(written(server))
  server.receive(written(client))
  server.next()
  server.authorize(true)
  client.receive(written(server))
  return [client, server].map((machine) => (machine.next() as { session: SessionKeys }).session)
}

const controlWrites = (events: readonly BoxStreamEvent[]): Uint8Array => {
  for (const event of events) if (event.type === 'write') return event.bytes
  throw new Error('rekey bench: the peer wrote no control packet')
}

/** Mean µs per rekey (both ends' work) over `count` rekeys on one connection. */
export function rekeyMicroseconds (count: number): number {
  let time = 0
  const now = (): number => time
  const [clientSession, serverSession] = sessions() as [SessionKeys, SessionKeys]
  const client = new BoxStream(clientSession, { now })
  const server = new BoxStream(serverSession, { now })
  const started = performance.now()
  for (let index = 0; index < count; index++) {
    time += CLOCK_STEP_MS
    const request = client.rekey()
    if (request === undefined) throw new Error('rekey bench: a rekey did not start')
    const response = controlWrites(server.receive(request))
    server.receive(controlWrites(client.receive(response)))
  }
  const elapsed = performance.now() - started
  if (client.rekeys !== count || server.rekeys !== count) throw new Error(`rekey bench: ${client.rekeys} and ${server.rekeys} of ${count} rekeys completed`)
  client.abort(new Error('done'))
  server.abort(new Error('done'))
  return elapsed * US_PER_MS / count
}

/** Mean µs of the crypto a rekey cannot skip, both ends together. */
export function rekeyFloorMicroseconds (count: number): number {
  const input = new Uint8Array(SCHEDULE_INPUT_BYTES)
  const started = performance.now()
  for (let index = 0; index < count; index++) {
    const initiator = generateCurveKeyPair()
    const responder = generateCurveKeyPair()
    diffieHellman(initiator.secretKey, responder.publicKey)
    diffieHellman(responder.secretKey, initiator.publicKey)
    for (let hash = 0; hash < SCHEDULE_HASHES; hash++) sha256(input)
  }
  return (performance.now() - started) * US_PER_MS / count
}
