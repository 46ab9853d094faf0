/**
 * Property-based fuzz targets for the sans-IO core, shared by `npm run fuzz` (scripts/fuzz.ts,
 * 100 000 cases or more per target) and `npm test` (test/fuzz.test.ts, a few hundred per target).
 *
 * Handshake: a model of the SHS1 script (shs1.md, "The four messages") is run beside the real
 * machine over recorded transcripts (fixed ephemeral keys, so every genuine message is known in
 * advance), and every call must do exactly what the model says: only typed errors, a message is
 * accepted only if it is the genuine one (or, for a hello, authenticated with the network key,
 * and then the handshake can never complete), and a failed handshake stays failed.
 *
 * Box stream: valid streams from our encoder, mutated and cut anywhere, and validly sealed
 * headers with arbitrary contents. Only `BoxStreamError` may escape, the decoder never holds
 * more than one packet, and what it delivers is always a prefix of what was sealed.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import sodium from 'sodium-native'
import {
  BoxStreamDecoder, BoxStreamEncoder, BoxStreamError, HEADER_BYTES, type HandshakeAction, type KeyPair,
  MAX_BODY_BYTES, SecretHandshake, type SessionKeys, ShsError, type ShsErrorCode, generateKeyPair
} from '../../src/index.ts'
import { deterministicClient, deterministicServer } from '../../src/handshake/deterministic.ts'
import { type CurveKeyPair, concatBytes, generateCurveKeyPair, randomBytes } from '../../src/crypto/primitives.ts'

/** The most a decoder may hold back: one whole packet (shs1.md, "Box-stream"). */
export const MAX_BUFFERED_BYTES = HEADER_BYTES + MAX_BODY_BYTES
const HEADER_PLAINTEXT_BYTES = 18
const KEY_BYTES = 32
const NONCE_BYTES = 24
/** Recorded handshakes to fuzz against; several, so one unlucky key pair cannot hide a bug. */
const TRANSCRIPTS = 4

export interface FuzzOutcome {
  /** Cases run (up to and including the first failure). */
  numRuns: number
  failed: boolean
  /** fast-check's report: seed, path and the shrunk counterexample. */
  report: string
}

export interface FuzzTarget {
  readonly name: string
  run (numRuns: number, seed?: number): FuzzOutcome
}

function runProperty<Ts> (property: fc.IProperty<Ts>, numRuns: number, seed: number | undefined): FuzzOutcome {
  const details = fc.check(property, { numRuns, ...(seed === undefined ? {} : { seed }) })
  return { numRuns: details.numRuns, failed: details.failed, report: fc.defaultReportMessage(details) ?? '' }
}

// ---------------------------------------------------------------------------------------------
// Bytes and mutations

/**
 * Reproducible filler bytes from a seed (xorshift32). Generating thousands of bytes one
 * arbitrary at a time would make fast-check, not the decoder, the bottleneck.
 */
function fillerBytes (length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length)
  let state = (seed | 0) === 0 ? 0x9e3779b9 : seed | 0
  for (let i = 0; i < length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    bytes[i] = state & 0xff
  }
  return bytes
}

const filler = (maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.record({ length: fc.nat({ max: maxLength }), seed: fc.integer() }).map(({ length, seed }) => fillerBytes(length, seed))

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i])
}

type Mutation =
  | { readonly op: 'flip', readonly at: number, readonly bit: number }
  | { readonly op: 'set', readonly at: number, readonly value: number }
  | { readonly op: 'delete', readonly at: number, readonly count: number }
  | { readonly op: 'insert', readonly at: number, readonly bytes: Uint8Array }
  | { readonly op: 'duplicate', readonly from: number, readonly count: number, readonly to: number }
  | { readonly op: 'swap', readonly a: number, readonly b: number, readonly count: number }
  | { readonly op: 'truncate', readonly at: number }

/** Positions are drawn unbounded and taken modulo the length at the time they apply. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.nat({ max: 255 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 200 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('duplicate' as const), from: fc.nat(), count: fc.integer({ min: 1, max: 5000 }), to: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat(), count: fc.integer({ min: 1, max: 5000 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }), weight: 1 }
)
const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 })

function mutate (original: Uint8Array, list: readonly Mutation[]): Uint8Array {
  let bytes: Uint8Array = original.slice()
  for (const m of list) {
    const length = bytes.byteLength
    switch (m.op) {
      case 'flip':
        if (length > 0) bytes[m.at % length] = (bytes[m.at % length] as number) ^ (1 << m.bit)
        break
      case 'set':
        if (length > 0) bytes[m.at % length] = m.value
        break
      case 'delete': {
        const at = m.at % (length + 1)
        bytes = concatBytes(bytes.subarray(0, at), bytes.subarray(at + m.count))
        break
      }
      case 'insert': {
        const at = m.at % (length + 1)
        bytes = concatBytes(bytes.subarray(0, at), m.bytes, bytes.subarray(at))
        break
      }
      case 'duplicate': {
        const from = m.from % (length + 1)
        const to = m.to % (length + 1)
        bytes = concatBytes(bytes.subarray(0, to), bytes.slice(from, from + m.count), bytes.subarray(to))
        break
      }
      case 'swap': {
        // Two non-overlapping ranges trade places: reordering at arbitrary, not only packet, boundaries.
        const [first, second] = [m.a % (length + 1), m.b % (length + 1)].sort((x, y) => x - y) as [number, number]
        const count = Math.min(m.count, second - first)
        if (count === 0) break
        bytes = concatBytes(...[
          bytes.subarray(0, first), bytes.subarray(second, second + count), bytes.subarray(first + count, second),
          bytes.subarray(first, first + count), bytes.subarray(second + count)
        ])
        break
      }
      case 'truncate':
        bytes = bytes.slice(0, m.at % (length + 1))
        break
    }
  }
  return bytes
}

/** Cut points, taken modulo the length: empty pieces and single bytes included. */
const cuts = fc.array(fc.nat(), { maxLength: 24 })

function fragment (bytes: Uint8Array, cutPoints: readonly number[]): Uint8Array[] {
  const points = cutPoints.map((p) => p % (bytes.byteLength + 1)).sort((a, b) => a - b)
  const pieces: Uint8Array[] = []
  let previous = 0
  for (const point of [...points, bytes.byteLength]) {
    pieces.push(bytes.subarray(previous, point))
    previous = point
  }
  return pieces
}

// ---------------------------------------------------------------------------------------------
// Handshake

type Message = 'clientHello' | 'serverHello' | 'clientAuth' | 'serverAccept'
type Role = 'client' | 'server'
type ScriptStep = { readonly kind: 'write' | 'read', readonly message: Message } | { readonly kind: 'authorize' }

/** The SHS1 script (shs1.md), written out again here as the model the machine must follow. */
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
const corruptedMessage: FuzzTarget = {
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

/** shs1.md: a hello is `hmac_K(pk) ‖ pk`; nothing else about it can be checked. */
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
const callSequences: FuzzTarget = {
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
              // shs1.md checks only the HMAC here. Such a run can never complete (see below).
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

// ---------------------------------------------------------------------------------------------
// Box-stream decoder

/** Any key but the all-zero one, which the codecs refuse as a wiped key (tested in connection.test.ts). */
const key = fc.uint8Array({ minLength: KEY_BYTES, maxLength: KEY_BYTES }).filter((k) => k.some((b) => b !== 0))
/** Random nonces, and nonces a few steps from 2^192, whose counter wraps inside the stream. */
const nonce = fc.oneof(
  fc.uint8Array({ minLength: NONCE_BYTES, maxLength: NONCE_BYTES }),
  fc.nat({ max: 16 }).map((k) => { const n = new Uint8Array(NONCE_BYTES).fill(0xff); n[NONCE_BYTES - 1] = 0xff - k; return n })
)
/** Up to four writes of up to 6000 bytes: up to six packets, with every boundary case in reach. */
const writes = fc.array(fc.oneof(filler(6000), fc.constantFrom(4095, 4096, 4097, 1).map((n) => fillerBytes(n, n))), { maxLength: 4 })

function sealStream (k: Uint8Array, n: Uint8Array, plaintexts: readonly Uint8Array[], goodbye: boolean): Uint8Array {
  const encoder = new BoxStreamEncoder(k, n)
  return concatBytes(...[...plaintexts.map((p) => encoder.encode(p)), ...(goodbye ? [encoder.goodbye()] : [])])
}

interface Decoded {
  delivered: Uint8Array
  error: BoxStreamError | undefined
  ended: boolean
  maxBuffered: number
  finalBuffered: number
}

/**
 * Feeds `pieces` to a fresh decoder the way an adapter does (stop at the first failure, call
 * `finish()` at the end), checking on the way that only BoxStreamErrors escape, that the buffer
 * stays within one packet, and that a failure is final.
 */
function decode (k: Uint8Array, n: Uint8Array, pieces: readonly Uint8Array[]): Decoded {
  const decoder = new BoxStreamDecoder(k, n)
  const delivered: Uint8Array[] = []
  let error: BoxStreamError | undefined
  let maxBuffered = 0
  const typed = (err: unknown): BoxStreamError => {
    assert.ok(err instanceof BoxStreamError, `the decoder threw something other than a BoxStreamError: ${String(err)}`)
    return err
  }
  for (const piece of pieces) {
    try {
      delivered.push(...decoder.push(piece))
    } catch (err) {
      error = typed(err)
      break
    }
    maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes)
    if (decoder.error !== undefined) {
      error = decoder.error
      break
    }
  }
  if (error === undefined) {
    try {
      decoder.finish()
    } catch (err) {
      error = typed(err)
    }
  }
  if (error !== undefined) {
    const failure = error
    assert.throws(() => decoder.push(new Uint8Array([0])), (err: unknown) => err === failure, 'a failed decoder must keep failing')
  }
  return { delivered: concatBytes(...delivered), error, ended: decoder.ended, maxBuffered, finalBuffered: decoder.bufferedBytes }
}

function assertPrefix (delivered: Uint8Array, sealed: Uint8Array): void {
  assert.ok(delivered.byteLength <= sealed.byteLength && equalBytes(delivered, sealed.subarray(0, delivered.byteLength)),
    `delivered ${delivered.byteLength} bytes that are not a prefix of what was sealed`)
}

const cleanSplit: FuzzTarget = {
  name: 'box stream: a clean stream split at any points decodes to the same plaintext',
  run: (numRuns, seed) => runProperty(fc.property(key, nonce, writes, cuts, (k, n, plaintexts, cutPoints) => {
    const result = decode(k, n, fragment(sealStream(k, n, plaintexts, true), cutPoints))
    assert.equal(result.error, undefined, result.error?.message)
    assert.ok(result.ended)
    assert.ok(equalBytes(result.delivered, concatBytes(...plaintexts)))
    assert.ok(result.maxBuffered <= MAX_BUFFERED_BYTES)
    assert.equal(result.finalBuffered, 0)
  }), numRuns, seed)
}

const mutatedStreams: FuzzTarget = {
  name: 'box stream: mutated valid streams in any fragmentation deliver only a prefix of the sealed plaintext',
  run: (numRuns, seed) => runProperty(fc.property(key, nonce, writes, fc.boolean(), mutations, cuts, (k, n, plaintexts, goodbye, list, cutPoints) => {
    const original = sealStream(k, n, plaintexts, goodbye)
    const wire = mutate(original, list)
    const plaintext = concatBytes(...plaintexts)
    const result = decode(k, n, fragment(wire, cutPoints))
    assert.ok(result.maxBuffered <= MAX_BUFFERED_BYTES, `buffered ${result.maxBuffered} bytes`)
    assertPrefix(result.delivered, plaintext)
    if (equalBytes(wire, original)) {
      assert.ok(equalBytes(result.delivered, plaintext))
      assert.equal(result.error?.code, goodbye ? undefined : 'ERR_BOX_STREAM_TRUNCATED')
    } else {
      // Any change at all is noticed (a failed MAC, a bad length, bytes after goodbye, or bytes
      // missing at the end): nobody without the key can make a changed stream end cleanly.
      assert.ok(result.error !== undefined, 'a changed stream ended cleanly')
    }
  }), numRuns, seed)
}

const randomStreams: FuzzTarget = {
  name: 'box stream: random bytes in any fragmentation deliver nothing',
  run: (numRuns, seed) => runProperty(fc.property(key, nonce, fc.oneof(filler(10_000), fc.uint8Array({ maxLength: 100 })), cuts, (k, n, bytes, cutPoints) => {
    const result = decode(k, n, fragment(bytes, cutPoints))
    assert.equal(result.delivered.byteLength, 0, 'random bytes were delivered as plaintext')
    assert.ok(result.error !== undefined, 'random bytes ended cleanly')
    assert.ok(result.maxBuffered <= MAX_BUFFERED_BYTES)
  }), numRuns, seed)
}

/**
 * Random bytes almost never get past a header's MAC, so this target seals headers with the
 * right key and nonce around arbitrary contents (any length field, any body MAC) after a few
 * genuine packets, followed by an arbitrary body. The outcome is fully predictable.
 */
const forgedHeaders: FuzzTarget = {
  name: 'box stream: validly sealed headers with arbitrary lengths and contents',
  run: (numRuns, seed) => runProperty(fc.property(
    key, nonce, writes,
    fc.oneof(fc.constantFrom(0, 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, 0xffff), fc.nat({ max: 0xffff })),
    fc.oneof(fc.constant(new Uint8Array(16)), fc.uint8Array({ minLength: 16, maxLength: 16 })),
    filler(5000), cuts,
    (k, n, plaintexts, length, mac, body, cutPoints) => {
      const encoder = new BoxStreamEncoder(k, n)
      const genuine = plaintexts.map((p) => encoder.encode(p))
      const packets = plaintexts.reduce((count, p) => count + Math.ceil(p.byteLength / MAX_BODY_BYTES), 0)
      encoder.destroy()
      const headerNonce = n.slice()
      for (let i = 0; i < 2 * packets; i++) increment(headerNonce)
      const plaintextHeader = new Uint8Array(HEADER_PLAINTEXT_BYTES)
      plaintextHeader[0] = length >>> 8
      plaintextHeader[1] = length & 0xff
      plaintextHeader.set(mac, 2)
      const header = new Uint8Array(HEADER_BYTES)
      sodium.crypto_secretbox_easy(header, plaintextHeader, headerNonce, k)

      const result = decode(k, n, fragment(concatBytes(...genuine, header, body), cutPoints))
      assert.ok(equalBytes(result.delivered, concatBytes(...plaintexts)), 'exactly the genuine packets are delivered')
      assert.ok(result.maxBuffered <= MAX_BUFFERED_BYTES)
      const goodbye = plaintextHeader.every((b) => b === 0)
      let expected: ShsErrorCode | undefined
      if (goodbye) expected = body.byteLength > 0 ? 'ERR_BOX_STREAM_AFTER_GOODBYE' : undefined
      // A zero-length header that is not goodbye announces an empty message (as pull-box-stream
      // and go-secretstream read it): its empty body's MAC, arbitrary here, decides.
      else if (length > MAX_BODY_BYTES) expected = 'ERR_BOX_STREAM_BAD_LENGTH'
      else if (body.byteLength < length) expected = 'ERR_BOX_STREAM_TRUNCATED'
      else expected = 'ERR_BOX_STREAM_BAD_BODY'
      assert.equal(result.error?.code, expected, result.error?.message)
    }), numRuns, seed)
}

/** Big-endian +1, as shs1.md specifies the box-stream nonce (wrapping at 2^192). */
function increment (nonceBytes: Uint8Array): void {
  for (let i = nonceBytes.length - 1; i >= 0; i--) {
    nonceBytes[i] = ((nonceBytes[i] as number) + 1) & 0xff
    if (nonceBytes[i] !== 0) return
  }
}

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  corruptedMessage, callSequences, cleanSplit, mutatedStreams, randomStreams, forgedHeaders
]
