/**
 * The rekey extension's recorded vectors (docs/REKEY.md, "Test vectors"): one connection from
 * fixed keys, every wire byte both ways, and each rekey's inputs and results. `npm run
 * rekey-vectors` writes docs/rekey-vectors.json; test/rekey/vectors.test.ts checks that this code
 * still makes exactly that file, and checks the file itself against the spec with libsodium alone.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import sodium from 'sodium-native'
import { type BoxStreamEvent, SecretHandshake, type SessionKeys, generateKeyPair } from '../src/index.ts'
import { deterministicClient, deterministicServer } from '../src/handshake/deterministic.ts'
import { deterministicBoxStream } from '../src/connection/testing.ts'
import type { BoxStream } from '../src/connection/box-stream.ts'
import type { CurveKeyPair } from '../src/crypto/primitives.ts'
import { rekeyNetworkKey } from '../src/handshake/rekey-options.ts'
import type { NetworkKey } from '../src/crypto/keys.ts'

export const VECTORS_PATH = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'docs', 'rekey-vectors.json')

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const fill = (length: number, byte: number): Uint8Array => new Uint8Array(length).fill(byte)

/** An X25519 key pair from a fixed secret (never do this outside vectors). */
function curvePair (byte: number): CurveKeyPair {
  const secretKey = fill(32, byte)
  const publicKey = new Uint8Array(32)
  sodium.crypto_scalarmult_base(publicKey, secretKey)
  return { publicKey, secretKey }
}

const describePair = (pair: CurveKeyPair): { publicKey: string, secretKey: string } => ({ publicKey: hex(pair.publicKey), secretKey: hex(pair.secretKey) })

interface Step { readonly who: 'client' | 'server', readonly does: string }

export function makeVectors (): unknown {
  const networkKey = fill(32, 0x4b)
  const clientKeys = generateKeyPair(fill(32, 0xc1))
  const serverKeys = generateKeyPair(fill(32, 0x5e))
  const clientEphemeral = curvePair(0x0a)
  const serverEphemeral = curvePair(0x0b)
  const recorded = { clientEphemeral: describePair(clientEphemeral), serverEphemeral: describePair(serverEphemeral) }
  const client = deterministicClient({ keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey, rekey: 'require' }, clientEphemeral)
  const server = deterministicServer({ keys: serverKeys, networkKey, rekey: 'require' }, serverEphemeral)
  const messages: string[] = []
  const write = (machine: SecretHandshake): Uint8Array => {
    const bytes = (machine.next() as { bytes: Uint8Array }).bytes
    messages.push(hex(bytes))
    return bytes
  }
  server.receive(write(client))
  client.receive(write(server))
  server.receive(write(client))
  server.next()
  server.authorize(true)
  client.receive(write(server))
  const take = (machine: SecretHandshake): SessionKeys => (machine.next() as { session: SessionKeys }).session
  const [clientSession, serverSession] = [take(client), take(server)]
  const describeSession = (session: SessionKeys): Record<string, string> => ({
    encryptKey: hex(session.encryptKey), encryptNonce: hex(session.encryptNonce), decryptKey: hex(session.decryptKey), decryptNonce: hex(session.decryptNonce)
  })
  const sessions = { client: describeSession(clientSession), server: describeSession(serverSession) }

  // Each rekey's key pairs, in the order they are made: the initiator's, then the responder's.
  const rekeyPairs = [curvePair(0x11), curvePair(0x12), curvePair(0x21), curvePair(0x22)]
  const pairsUsed = rekeyPairs.map(describePair)
  let next = 0
  const ephemerals = (): CurveKeyPair => rekeyPairs[next++] as CurveKeyPair
  const ends = { client: deterministicBoxStream(clientSession, ephemerals), server: deterministicBoxStream(serverSession, ephemerals) }
  const wire = { clientToServer: [] as Uint8Array[], serverToClient: [] as Uint8Array[] }
  const steps: Step[] = []
  const out = (who: 'client' | 'server', bytes: Uint8Array): void => { (who === 'client' ? wire.clientToServer : wire.serverToClient).push(bytes) }
  let delivered = { clientToServer: 0, serverToClient: 0 }
  /** Hands `to` what its peer wrote since the last delivery, and writes what that makes it write. */
  const deliver = (to: 'client' | 'server'): BoxStreamEvent[] => {
    const direction = to === 'server' ? 'clientToServer' : 'serverToClient'
    const pending = wire[direction].slice(delivered[direction])
    delivered = { ...delivered, [direction]: wire[direction].length }
    const events: BoxStreamEvent[] = []
    for (const chunk of pending) events.push(...(ends[to] as BoxStream).receive(chunk))
    for (const event of events) if (event.type === 'write') out(to, event.bytes)
    return events
  }
  const send = (who: 'client' | 'server', text: string): void => { steps.push({ who, does: `sends "${text}"` }); out(who, ends[who].send(new TextEncoder().encode(text))) }
  const rekey = (who: 'client' | 'server'): void => { steps.push({ who, does: 'starts a rekey (REQUEST)' }); out(who, ends[who].rekey() as Uint8Array) }
  const read = (who: 'client' | 'server'): void => {
    const events = deliver(who)
    const wrote = events.filter((event) => event.type === 'write').length
    steps.push({ who, does: `reads everything so far${wrote > 0 ? ', and writes the control packet that asks for' : ''}` })
  }

  send('client', 'client, before')
  send('server', 'server, before')
  rekey('client')
  send('client', 'client, after its request')
  read('server') // RESPONSE: the server's new key from here on
  send('server', 'server, after its response')
  read('client') // SWITCH: the client's new key from here on
  send('client', 'client, after its switch')
  read('server')
  rekey('server')
  read('client') // the client answers the server's request
  send('client', 'client, after its response')
  read('server') // the server switches
  send('server', 'server, after its switch')
  read('client')
  steps.push({ who: 'client', does: 'says goodbye' })
  out('client', ends.client.goodbye().bytes)
  steps.push({ who: 'server', does: 'says goodbye' })
  out('server', ends.server.goodbye().bytes)
  read('server')
  read('client')

  return {
    description: 'shs-transport rekey extension (shs-rekey/1): one connection from fixed keys. All values hex. docs/REKEY.md explains every field.',
    networkKey: hex(networkKey),
    rekeyNetworkKey: hex(rekeyNetworkKey(networkKey as NetworkKey)),
    client: { publicKey: hex(clientKeys.publicKey), secretKey: hex(clientKeys.secretKey) },
    server: { publicKey: hex(serverKeys.publicKey), secretKey: hex(serverKeys.secretKey) },
    handshake: { ...recorded, messages, sessions },
    rekeyKeyPairs: pairsUsed,
    steps,
    wire: {
      clientToServer: wire.clientToServer.map(hex),
      serverToClient: wire.serverToClient.map(hex)
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(VECTORS_PATH, JSON.stringify(makeVectors(), null, 2) + '\n')
  process.stdout.write(`wrote ${VECTORS_PATH}\n`)
}
