/**
 * Handshake: a model of the SHS1 script (docs/PROTOCOL.md, "The four messages") is run beside the real
 * machine over recorded transcripts (fixed ephemeral keys, so every genuine message is known in
 * advance), and every call must do exactly what the model says: only typed errors, a message is
 * accepted only if it is the genuine one (or, for a hello, authenticated with the network key,
 * and then the handshake can never complete), and a failed handshake stays failed.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import sodium from 'sodium-native'
import {
  type HandshakeAction, type KeyPair, SecretHandshake, type SessionKeys, ShsError, type ShsErrorCode, generateKeyPair
} from '../../src/index.ts'
import { deterministicClient, deterministicServer } from '../../src/handshake/deterministic.ts'
import { type CurveKeyPair, generateCurveKeyPair, randomBytes } from '../../src/crypto/primitives.ts'
import { type FuzzTarget, KEY_BYTES, type Mutation, equalBytes, mutate, mutations, runProperty } from './common.ts'

/** Recorded handshakes to fuzz against; several, so one unlucky key pair cannot hide a bug. */
const TRANSCRIPTS = 4

type Message = 'clientHello' | 'serverHello' | 'clientAuth' | 'serverAccept'
type Role = 'client' | 'server'
type ScriptStep = { readonly kind: 'write' | 'read', readonly message: Message } | { readonly kind: 'authorize' }

/** The SHS1 script (docs/PROTOCOL.md), written out again here as the model the machine must follow. */
const SCRIPT: Readonly<Record<Role, readonly ScriptStep[]>> = {
  client: [
    { kind: 'write', message: 'clientHello' }, { kind: 'read', message: 'serverHello' },
    { kind: 'write', message: 'clientAuth' }, { kind: 'read', message: 'serverAccept' }
  ],
  server: [
    { kind: 'read', message: 'clientHello' }, { kind: 'write', message: 'serverHello' },
    { kind: 'read', message: 'clientAuth' }, { kind: 'authorize' }, { kind: 'write', message: 'serverAccept' }
  ]
}

const INVALID_CODE: Readonly<Record<Message, ShsErrorCode>> = {
  clientHello: 'ERR_SHS_INVALID_HELLO',
  serverHello: 'ERR_SHS_INVALID_HELLO',
  clientAuth: 'ERR_SHS_INVALID_CLIENT_AUTH',
  serverAccept: 'ERR_SHS_INVALID_SERVER_ACCEPT'
}

interface Transcript {
  readonly clientKeys: KeyPair
  readonly serverKeys: KeyPair
  readonly networkKey: Uint8Array
  /** Pristine copies: every machine gets its own, because the machine wipes its secret. */
  readonly ephemeral: Readonly<Record<Role, CurveKeyPair>>
  readonly messages: Readonly<Record<Message, Uint8Array>>
  readonly sessions: Readonly<Record<Role, SessionKeys>>
}

const copyPair = (pair: CurveKeyPair): CurveKeyPair => ({ publicKey: pair.publicKey.slice(), secretKey: pair.secretKey.slice() })

type Identities = Pick<Transcript, 'clientKeys' | 'serverKeys' | 'networkKey' | 'ephemeral'>

function machineFor (identities: Identities, role: Role): SecretHandshake {
  const ephemeral = copyPair(identities.ephemeral[role])
  return role === 'client'
    ? deterministicClient({ keys: identities.clientKeys, networkKey: identities.networkKey, remotePublicKey: identities.serverKeys.publicKey }, ephemeral)
    : deterministicServer({ keys: identities.serverKeys, networkKey: identities.networkKey }, ephemeral)
}

/** Runs a genuine handshake between two machines and keeps every message and both sessions. */
function recordTranscript (): Transcript {
  const identities: Identities = {
    clientKeys: generateKeyPair(),
    serverKeys: generateKeyPair(),
    networkKey: randomBytes(KEY_BYTES),
    ephemeral: { client: generateCurveKeyPair(), server: generateCurveKeyPair() }
  }
  const machines = { client: machineFor(identities, 'client'), server: machineFor(identities, 'server') }
  const messages: Partial<Record<Message, Uint8Array>> = {}
  const sessions: Partial<Record<Role, SessionKeys>> = {}
  const other = (role: Role): Role => role === 'client' ? 'server' : 'client'
  let turn: Role = 'client'
  while (sessions.client === undefined || sessions.server === undefined) {
    const action = machines[turn].next()
    if (action.type === 'write') {
      messages[action.message] = action.bytes
      machines[other(turn)].receive(action.bytes)
      turn = other(turn)
    } else if (action.type === 'authorize') {
      machines[turn].authorize(true)
    } else if (action.type === 'complete') {
      sessions[turn] = action.session
      turn = other(turn)
    } else {
      turn = other(turn)
    }
  }
  const { clientHello, serverHello, clientAuth, serverAccept } = messages
  const { client, server } = sessions
  if (clientHello === undefined || serverHello === undefined || clientAuth === undefined || serverAccept === undefined) {
    throw new Error('the recorded handshake is missing a message')
  }
  return { ...identities, messages: { clientHello, serverHello, clientAuth, serverAccept }, sessions: { client, server } }
}

let transcripts: Transcript[] | undefined
/** Recorded on first use, so importing this module costs nothing. */
function transcript (index: number): Transcript {
  transcripts ??= Array.from({ length: TRANSCRIPTS }, recordTranscript)
  return transcripts[index % TRANSCRIPTS] as Transcript
}

function assertSameSession (actual: SessionKeys, expected: SessionKeys): void {
  for (const field of ['remotePublicKey', 'encryptKey', 'encryptNonce', 'decryptKey', 'decryptNonce'] as const) {
    assert.ok(equalBytes(actual[field], expected[field]), `session ${field} differs from the genuine handshake's`)
  }
}

/** Calls `fn`; returns what it threw, insisting that it is a typed ShsError. */
function typedThrow (fn: () => void, what: string): ShsError | undefined {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof ShsError, `${what} threw something other than an ShsError: ${String(err)}`)
    return err
  }
  return undefined
}

/** Plays the genuine transcript into `machine` until it asks to read `message`. */
function advanceTo (machine: SecretHandshake, t: Transcript, message: Message): void {
  for (;;) {
    const action = machine.next()
    if (action.type === 'read') {
      if (action.message === message) return
      machine.receive(t.messages[action.message])
    } else if (action.type === 'authorize') {
      machine.authorize(true)
    } else if (action.type === 'complete') {
      throw new Error(`the handshake completed before it asked for ${message}`)
    }
  }
}

const READ_STEPS: ReadonlyArray<{ role: Role, message: Message }> = [
  { role: 'server', message: 'clientHello' },
  { role: 'client', message: 'serverHello' },
  { role: 'server', message: 'clientAuth' },
  { role: 'client', message: 'serverAccept' }
]

type Corruption = { readonly kind: 'random', readonly bytes: Uint8Array } | { readonly kind: 'mutated', readonly mutations: readonly Mutation[] }

const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 200 }) }), weight: 1 },
  // Random bytes of exactly the expected length get past the length check into the crypto.
  { arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ minLength: 64, maxLength: 64 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ minLength: 80, maxLength: 80 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ minLength: 112, maxLength: 112 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('mutated' as const), mutations }), weight: 6 }
)

/** Each step of either role given a random or mutated message: a typed refusal, and it stays refused. */
export const corruptedMessage: FuzzTarget = {
  name: 'handshake: a random or mutated message at each step, both roles',
  run: (numRuns, seed) => runProperty(fc.property(
    fc.nat({ max: TRANSCRIPTS - 1 }), fc.constantFrom(...READ_STEPS), corruption,
    (index, step, bad) => {
      const t = transcript(index)
      const machine = machineFor(t, step.role)
      advanceTo(machine, t, step.message)
      const genuine = t.messages[step.message]
      const message = bad.kind === 'random' ? bad.bytes : mutate(genuine, bad.mutations)
      const error = typedThrow(() => { machine.receive(message) }, 'receive()')
      if (equalBytes(message, genuine)) {
        // A mutation that undid itself is the genuine message, and must be accepted.
        assert.equal(error, undefined)
        return
      }
      assert.ok(error !== undefined, 'a corrupted message was accepted')
      assert.equal(error.code, INVALID_CODE[step.message], error.message)
      // Refused for good: nothing more to send, and the genuine message cannot revive it.
      assert.equal(typedThrow(() => { machine.next() }, 'next()'), error)
      assert.equal(typedThrow(() => { machine.receive(genuine) }, 'receive()'), error)
      assert.equal(machine.isComplete, false)
    }), numRuns, seed)
}

type Call =
  | { readonly call: 'proceed' }
  | { readonly call: 'next' }
  | { readonly call: 'receive', readonly message: Message, readonly mutations: readonly Mutation[] }
  | { readonly call: 'receiveRandom', readonly bytes: Uint8Array }
  | { readonly call: 'authorize', readonly accepted: boolean }
  | { readonly call: 'peerHungUp' }
  | { readonly call: 'abort' }

const MESSAGES: readonly Message[] = ['clientHello', 'serverHello', 'clientAuth', 'serverAccept']

const call: fc.Arbitrary<Call> = fc.oneof(
  // Mostly what an honest adapter would do next, so that runs get deep into the handshake.
  { arbitrary: fc.constant({ call: 'proceed' as const }), weight: 20 },
  { arbitrary: fc.constant({ call: 'next' as const }), weight: 4 },
  { arbitrary: fc.record({ call: fc.constant('receive' as const), message: fc.constantFrom(...MESSAGES), mutations: fc.constant([]) }), weight: 3 },
  { arbitrary: fc.record({ call: fc.constant('receive' as const), message: fc.constantFrom(...MESSAGES), mutations }), weight: 1 },
  { arbitrary: fc.record({ call: fc.constant('receiveRandom' as const), bytes: fc.uint8Array({ maxLength: 120 }) }), weight: 1 },
  { arbitrary: fc.record({ call: fc.constant('authorize' as const), accepted: fc.boolean() }), weight: 2 },
  { arbitrary: fc.constant({ call: 'peerHungUp' as const }), weight: 1 },
  { arbitrary: fc.constant({ call: 'abort' as const }), weight: 1 }
)

const HELLOS: ReadonlySet<Message> = new Set(['clientHello', 'serverHello'])

/** docs/PROTOCOL.md: a hello is `hmac_K(pk) ‖ pk`; nothing else about it can be checked. */
function isValidHello (bytes: Uint8Array, networkKey: Uint8Array): boolean {
  return bytes.byteLength === 64 && sodium.crypto_auth_verify(bytes.subarray(0, 32), bytes.subarray(32), networkKey)
}

/** `handed-over`: the complete action was taken once; the machine holds no session any more. */
type ModelState =
  | { readonly name: 'running', readonly step: number } | { readonly name: 'complete' } | { readonly name: 'handed-over' }
  | { readonly name: 'failed', readonly error: ShsError }

/**
 * Any sequence of calls in any order, checked against the model after every call: writes are
 * the genuine messages, a receive succeeds only with the genuine message the step expects, a
 * call out of turn is ERR_SHS_INVALID_STATE and changes nothing, and a failure is final.
 */
export const callSequences: FuzzTarget = {
  name: 'handshake: arbitrary call sequences against a model, both roles',
  run: (numRuns, seed) => runProperty(fc.property(
    fc.nat({ max: TRANSCRIPTS - 1 }), fc.constantFrom<Role>('client', 'server'), fc.array(call, { maxLength: 14 }),
    (index, role, calls) => {
      const t = transcript(index)
      const machine = machineFor(t, role)
      const script = SCRIPT[role]
      let model: ModelState = { name: 'running', step: 0 }
      /** Took a hello other than the genuine one: every later message must then be refused. */
      let diverged = false
      const advance = (step: number): ModelState => step + 1 < script.length ? { name: 'running', step: step + 1 } : { name: 'complete' }
      const expectFailure = (fn: () => void, what: string): void => {
        assert.ok(model.name === 'failed')
        assert.equal(typedThrow(fn, what), model.error, `${what} after a failure must throw that failure`)
      }
      const expectMisuse = (fn: () => void, what: string): void => {
        assert.equal(typedThrow(fn, what)?.code, 'ERR_SHS_INVALID_STATE', `${what} out of turn`)
      }

      for (const drawn of calls) {
        const current: ScriptStep | undefined = model.name === 'running' ? script[model.step] : undefined
        const c: Exclude<Call, { call: 'proceed' }> = drawn.call !== 'proceed' || current === undefined || current.kind === 'write'
          ? (drawn.call === 'proceed' ? { call: 'next' } : drawn)
          : current.kind === 'read' ? { call: 'receive', message: current.message, mutations: [] } : { call: 'authorize', accepted: true }
        switch (c.call) {
          case 'next': {
            if (model.name === 'failed') { expectFailure(() => { machine.next() }, 'next()'); break }
            if (model.name === 'handed-over') { expectMisuse(() => { machine.next() }, 'next() after the session was handed over'); break }
            let action: HandshakeAction | undefined
            assert.equal(typedThrow(() => { action = machine.next() }, 'next()'), undefined)
            assert.ok(action !== undefined)
            if (model.name === 'complete' || current === undefined) {
              assert.ok(action.type === 'complete', `expected complete, got ${action.type}`)
              assert.equal(diverged, false, 'a handshake that took a foreign hello completed')
              assertSameSession(action.session, t.sessions[role])
              model = { name: 'handed-over' }
              break
            }
            assert.equal(action.type, current.kind)
            if (action.type === 'write' && current.kind === 'write') {
              assert.equal(action.message, current.message)
              const genuine = t.messages[current.message]
              // After a foreign hello the keys differ, so only the size of what follows is known.
              assert.ok(diverged ? action.bytes.byteLength === genuine.byteLength : equalBytes(action.bytes, genuine),
                'the machine wrote something other than the genuine message')
              model = advance(model.name === 'running' ? model.step : 0)
            } else if (action.type === 'read' && current.kind === 'read') {
              assert.equal(action.message, current.message)
              assert.equal(action.length, t.messages[current.message].byteLength)
            } else if (action.type === 'authorize') {
              assert.ok(equalBytes(action.remotePublicKey, t.clientKeys.publicKey))
            }
            break
          }
          case 'receive':
          case 'receiveRandom': {
            const bytes = c.call === 'receiveRandom' ? c.bytes : mutate(t.messages[c.message], c.mutations)
            if (model.name === 'failed') { expectFailure(() => { machine.receive(bytes) }, 'receive()'); break }
            if (model.name !== 'running' || current?.kind !== 'read') { expectMisuse(() => { machine.receive(bytes) }, 'receive()'); break }
            const error = typedThrow(() => { machine.receive(bytes) }, 'receive()')
            if (!diverged && equalBytes(bytes, t.messages[current.message])) {
              assert.equal(error, undefined, 'the genuine message was refused')
              model = advance(model.step)
            } else if (HELLOS.has(current.message) && isValidHello(bytes, t.networkKey)) {
              // Any hello authenticated with K is acceptable, even one reflected back at us:
              // docs/PROTOCOL.md checks only the HMAC here. Such a run can never complete (see below).
              assert.equal(error, undefined, 'a hello authenticated with the network key was refused')
              diverged = true
              model = advance(model.step)
            } else {
              assert.ok(error !== undefined, `a message other than the genuine ${current.message} was accepted`)
              assert.equal(error.code, INVALID_CODE[current.message])
              model = { name: 'failed', error }
            }
            break
          }
          case 'authorize': {
            if (model.name === 'failed') { expectFailure(() => { machine.authorize(c.accepted) }, 'authorize()'); break }
            if (model.name !== 'running' || current?.kind !== 'authorize') { expectMisuse(() => { machine.authorize(c.accepted) }, 'authorize()'); break }
            const error = typedThrow(() => { machine.authorize(c.accepted) }, 'authorize()')
            if (c.accepted) {
              assert.equal(error, undefined)
              model = advance(model.step)
            } else {
              assert.ok(error !== undefined && error.code === 'ERR_SHS_UNAUTHORIZED', 'authorize(false) refuses the client')
              model = { name: 'failed', error }
            }
            break
          }
          case 'peerHungUp': {
            const error = machine.peerHungUp()
            assert.ok(error instanceof ShsError)
            if (model.name === 'failed') assert.equal(error, model.error)
            else if (model.name === 'running') model = { name: 'failed', error }
            break
          }
          case 'abort': {
            const error = new ShsError('ERR_SHS_ABORTED', 'fuzz abort')
            machine.abort(error)
            if (model.name === 'running') model = { name: 'failed', error }
            break
          }
        }
        assert.equal(machine.isComplete, model.name === 'complete' || model.name === 'handed-over')
      }
    }), numRuns, seed)
}
