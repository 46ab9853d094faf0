/**
 * What `npm run bench:backends` measures on a backend, the same code in Node and in Chromium:
 * box-stream seal and open throughput on full 4 KiB packets, and one SHS1 handshake between an
 * in-memory client and server (every step function, both session derivations). Loops are
 * bounded in time and count; the first round of each is a warm-up and not counted.
 */
import * as backend from '#crypto-backend'
import { BoxStreamDecoder } from '../../src/boxstream/decoder.ts'
import { BoxStreamEncoder } from '../../src/boxstream/encoder.ts'
import { asKeyPair, asNetworkKey, asPublicKey, generateKeyPair, type KeyPair } from '../../src/crypto/keys.ts'
import {
  acceptClientAuth, acceptHello, acceptServerAccept, createClientAuth, createHandshakeState, createHello,
  createServerAccept, deriveSession
} from '../../src/handshake/steps.ts'

export interface BackendMeasurement {
  backend: string
  /** Megabytes (10^6 bytes) of plaintext per second. */
  sealMBps: number
  openMBps: number
  /** Milliseconds per complete handshake (client and server work together). */
  handshakeMs: number
}

/** 256 full packets per round: 1 MiB of plaintext. */
const ROUND_BYTES = 1 << 20
const MAX_ROUNDS = 10_000
const MAX_HANDSHAKES = 5_000
const MEGABYTE = 1e6

function timeRounds (budgetMs: number, maxRounds: number, round: () => void): number {
  round()
  let rounds = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < budgetMs && rounds < maxRounds) {
    round()
    rounds++
    elapsed = performance.now() - start
  }
  return elapsed / rounds
}

function handshake (client: KeyPair, server: KeyPair, networkKey: Uint8Array): void {
  const key = asNetworkKey(networkKey)
  const clientState = createHandshakeState({ networkKey: key, local: asKeyPair(client), remotePublicKey: asPublicKey(server.publicKey, 'server') })
  const serverState = createHandshakeState({ networkKey: key, local: asKeyPair(server) })
  const ok = acceptHello(serverState, createHello(clientState)) &&
    acceptHello(clientState, createHello(serverState)) &&
    acceptClientAuth(serverState, createClientAuth(clientState)) &&
    acceptServerAccept(clientState, createServerAccept(serverState))
  if (!ok) throw new Error('the in-memory handshake failed')
  const clientSession = deriveSession(clientState)
  const serverSession = deriveSession(serverState)
  if (clientSession.encryptKey[0] !== serverSession.decryptKey[0]) throw new Error('the two sides derived different keys')
}

export async function measure (budgetMs: number): Promise<BackendMeasurement> {
  await (backend as { ready?: Promise<void> }).ready
  const key = new Uint8Array(32).fill(7)
  const nonce = new Uint8Array(24).fill(9)
  const plaintext = new Uint8Array(ROUND_BYTES).fill(0x5a)

  const encoder = new BoxStreamEncoder(key, nonce)
  const output = new Uint8Array(BoxStreamEncoder.sealedLength(ROUND_BYTES))
  const sealMs = timeRounds(budgetMs, MAX_ROUNDS, () => { encoder.encode(plaintext, output) })

  // Opening always starts a stream at its first packet: a fresh decoder per round over the same 1 MiB.
  const wire = new BoxStreamEncoder(key, nonce).encode(plaintext)
  const openMs = timeRounds(budgetMs, MAX_ROUNDS, () => {
    if (new BoxStreamDecoder(key, nonce).push(wire).length === 0) throw new Error('nothing opened')
  })

  const client = generateKeyPair()
  const server = generateKeyPair()
  const networkKey = new Uint8Array(32).fill(3)
  const handshakeMs = timeRounds(budgetMs, MAX_HANDSHAKES, () => { handshake(client, server, networkKey) })

  return {
    backend: backend.backendName,
    sealMBps: ROUND_BYTES / MEGABYTE / (sealMs / 1000),
    openMBps: ROUND_BYTES / MEGABYTE / (openMs / 1000),
    handshakeMs
  }
}
