/**
 * The reference implementation's recorded crypto calls (npm `test-secret-handshake`, data.json:
 * 159 calls of secret-handshake's crypto.js, binary values as hex) and a check for each against
 * our own step functions. The recorder stored each call's state argument after the call had
 * mutated it, so we rebuild our state only from inputs (keys, ephemeral keys, network key, the
 * peer's message) and compare our outputs with the recorded results.
 *
 * Shared by the Node tests and the browser bundle (test/browser), so it imports nothing that
 * needs Node: the JSON comes in as a module and `node:assert/strict` is swapped for a small
 * equivalent in the browser.
 */
import assert from 'node:assert/strict'
import data from 'test-secret-handshake/data.json' with { type: 'json' }
import { asKeyPair, asNetworkKey, asPublicKey, generateKeyPair } from '../../src/crypto/keys.ts'
import {
  type HandshakeState, acceptClientAuth, acceptHello, acceptServerAccept, createClientAuth,
  createHandshakeState, createHello, createServerAccept, deriveSession
} from '../../src/handshake/steps.ts'
import { concat, fromHex, toHex } from './hex.ts'

interface RecordedSide {
  kx_pk?: string
  kx_sk?: string | null
  publicKey?: string
  secretKey?: string
  app_mac?: string
  hello?: string
}
interface RecordedState {
  app_key: string
  local: RecordedSide
  remote?: RecordedSide
  secret?: string | null
  shash?: string | null
  a_bob?: string | null
  b_alice?: string | null
  secret2?: string | null
  secret3?: string | null
  encryptKey?: string
  decryptKey?: string
}
export interface Vector {
  name: string
  args: Array<RecordedState | string>
  result: RecordedState | string | null | { publicKey: string, secretKey: string }
}

export const vectors = data as unknown as Vector[]

function hex (value: string | null | undefined, what: string): Uint8Array {
  if (typeof value !== 'string') throw new Error(`vector lacks ${what}`)
  return fromHex(value)
}

/** Our state for the recorded side, from its keys and ephemeral key pair alone. */
function stateFor (recorded: RecordedState): HandshakeState {
  const local = recorded.local
  const state = createHandshakeState({
    networkKey: asNetworkKey(hex(recorded.app_key, 'app_key')),
    local: asKeyPair({ publicKey: hex(local.publicKey, 'publicKey'), secretKey: hex(local.secretKey, 'secretKey') }),
    ephemeral: { publicKey: hex(local.kx_pk, 'kx_pk'), secretKey: hex(local.kx_sk, 'kx_sk') }
  })
  if (recorded.remote?.publicKey !== undefined) state.remotePublicKey = asPublicKey(hex(recorded.remote.publicKey, 'remote key'), 'remote key')
  return state
}

/** Replays the peer's hello (message 1 or 2) that the recorded side had received. */
function withPeerHello (recorded: RecordedState): HandshakeState {
  const state = stateFor(recorded)
  const remote = recorded.remote as RecordedSide
  const hello = concat([hex(remote.app_mac, 'remote app_mac'), hex(remote.kx_pk, 'remote kx_pk')])
  assert.ok(acceptHello(state, hello), 'the recorded peer hello verifies')
  return state
}

export const checks: Record<string, (vector: Vector) => void> = {
  toKeys (vector) {
    // Called with a 32-byte seed it derives a key pair; called with a key pair it returns it.
    const result = vector.result as { publicKey: string, secretKey: string }
    const input = vector.args[0] as string | { publicKey: string, secretKey: string }
    const keys = typeof input === 'string'
      ? generateKeyPair(hex(input, 'seed'))
      : asKeyPair({ publicKey: hex(input.publicKey, 'publicKey'), secretKey: hex(input.secretKey, 'secretKey') })
    assert.equal(toHex(keys.publicKey), result.publicKey)
    assert.equal(toHex(keys.secretKey), result.secretKey)
  },
  initialize (vector) {
    const result = vector.result as RecordedState
    assert.equal(toHex(stateFor(result).localHelloMac), result.local.app_mac)
  },
  createChallenge (vector) {
    assert.equal(toHex(createHello(stateFor(vector.args[0] as RecordedState))), vector.result)
  },
  verifyChallenge (vector) {
    const state = stateFor(vector.args[0] as RecordedState)
    const accepted = acceptHello(state, hex(vector.args[1] as string, 'challenge'))
    assert.equal(accepted, vector.result !== null)
    if (vector.result === null) return
    const result = vector.result as RecordedState
    assert.equal(toHex(state.ab as Uint8Array), result.secret)
    assert.equal(toHex(state.abHash as Uint8Array), result.shash)
  },
  clientVerifyChallenge (vector) {
    const state = stateFor(vector.args[0] as RecordedState)
    const accepted = acceptHello(state, hex(vector.args[1] as string, 'challenge'))
    assert.equal(accepted, vector.result !== null)
    if (vector.result === null) return
    const result = vector.result as RecordedState
    createClientAuth(state)
    assert.equal(toHex(state.aB as Uint8Array), result.a_bob)
    assert.equal(toHex(state.clientAuthPayload as Uint8Array), result.local.hello)
  },
  clientCreateAuth (vector) {
    const state = withPeerHello(vector.args[0] as RecordedState)
    assert.equal(toHex(createClientAuth(state)), vector.result)
  },
  serverVerifyAuth (vector) {
    const recorded = vector.args[0] as RecordedState
    const state = stateFor({ ...recorded, remote: { ...recorded.remote, publicKey: undefined } as RecordedSide })
    const remote = recorded.remote as RecordedSide
    assert.ok(acceptHello(state, concat([hex(remote.app_mac, 'app_mac'), hex(remote.kx_pk, 'kx_pk')])))
    const accepted = acceptClientAuth(state, hex(vector.args[1] as string, 'client auth'))
    assert.equal(accepted, vector.result !== null)
    if (vector.result === null) return
    const result = vector.result as RecordedState
    assert.equal(toHex(state.remotePublicKey as Uint8Array), result.remote?.publicKey)
    assert.equal(toHex(state.aB as Uint8Array), result.a_bob)
    assert.equal(toHex(state.Ab as Uint8Array), result.b_alice)
  },
  serverCreateAccept (vector) {
    const recorded = vector.args[0] as RecordedState
    const state = withPeerHello(recorded)
    state.aB = hex(recorded.a_bob, 'a_bob')
    state.Ab = hex(recorded.b_alice, 'b_alice')
    state.clientAuthPayload = hex(recorded.remote?.hello, 'remote hello')
    assert.equal(toHex(createServerAccept(state)), vector.result)
  },
  clientVerifyAccept (vector) {
    const recorded = vector.args[0] as RecordedState
    const state = withPeerHello(recorded)
    state.aB = hex(recorded.a_bob, 'a_bob')
    state.clientAuthPayload = hex(recorded.local.hello, 'local hello')
    const accepted = acceptServerAccept(state, hex(vector.args[1] as string, 'server accept'))
    assert.equal(accepted, vector.result !== null)
    if (vector.result !== null) assert.equal(toHex(state.Ab as Uint8Array), (vector.result as RecordedState).b_alice)
  },
  clean (vector) {
    // `clean` wiped its own argument, so take the full state from this side's previous call.
    const cleaned = vector.result as RecordedState
    const index = vectors.indexOf(vector)
    const before = vectors.slice(0, index).reverse().map(fullStateOf)
      .find((s) => s?.local.kx_pk === cleaned.local.kx_pk)
    assert.ok(before !== undefined, 'the vectors hold the state before clean')
    const state = withPeerHello(before)
    state.aB = hex(before.a_bob, 'a_bob')
    state.Ab = hex(before.b_alice, 'b_alice')
    const session = deriveSession(state)
    assert.equal(toHex(session.encryptKey), cleaned.encryptKey)
    assert.equal(toHex(session.decryptKey), cleaned.decryptKey)
    assert.equal(toHex(session.encryptNonce), cleaned.remote?.app_mac?.slice(0, 48))
    assert.equal(toHex(session.decryptNonce), cleaned.local.app_mac?.slice(0, 48))
  }
}

function fullStateOf (vector: Vector): RecordedState | undefined {
  if (vector.name === 'serverCreateAccept') return vector.args[0] as RecordedState
  if (vector.name === 'clientVerifyAccept' && vector.result !== null) return vector.result as RecordedState
  return undefined
}

/** Runs the check for one recorded call; throws (an AssertionError) when ours differs. */
export function checkVector (vector: Vector): void {
  const check = checks[vector.name]
  if (check === undefined) throw new Error(`no check for ${vector.name}`)
  check(vector)
}
