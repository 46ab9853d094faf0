/**
 * The handshake driver every transport shares: write what the sans-IO machine produces, read
 * what it asks for, ask the application about the client, all under one deadline. A transport
 * supplies a `HandshakeTransport` (how to read exact lengths, write, finish and abort).
 */
import { AbortError, CallbackError, ConnectionError, HandshakeError, ShsError } from '../errors.ts'
import type { SecretHandshake } from '../handshake/machine.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { Deadline } from './deadline.ts'
import type { Authorize, HandshakeProgress } from './types.ts'

/** Scuttlebutt's model: any client that knows our public key and the network key may connect. */
export const acceptEveryone: Authorize = () => true

function ignoreProgress (): void {}

/**
 * The machine's secrets are wiped however the handshake ends, also when it failed before the
 * handshake loop ran (the TCP connection was refused, the caller aborted while connecting).
 */
export async function wipingOnFailure<T> (machine: SecretHandshake, running: Promise<T>): Promise<T> {
  try {
    return await running
  } catch (err) {
    machine.abort(err instanceof ShsError ? err : new ConnectionError(String(err), { cause: err }))
    throw err
  }
}

/**
 * Runs `run` under a deadline made of `options` and disposes of it however `run` ends (a
 * `finally` on the promise: docs/PERFORMANCE.md, "Handshakes without a promise per step").
 */
export function withDeadline<T> (
  options: { timeout?: number | undefined, signal?: AbortSignal | undefined },
  run: (deadline: Deadline) => Promise<T>
): Promise<T> {
  const deadline = new Deadline(options)
  let running: Promise<T>
  try {
    running = run(deadline)
  } catch (err) {
    deadline.dispose()
    return Promise.reject(err)
  }
  return running.finally(() => { deadline.dispose() })
}

/** What the handshake loop needs from a transport; one implementation per kind of transport. */
export interface HandshakeTransport {
  /**
   * Exactly `length` bytes, or undefined if the peer ended first. Transport errors are thrown.
   * A transport that has the message already may return it directly: no promise, no await.
   */
  read (length: number): Uint8Array | undefined | Promise<Uint8Array | undefined>
  write (bytes: Uint8Array): void
  /** The handshake completed: release what reading it needed (the transport is handed on). */
  finish? (): void
  /** Stop at once: the handshake failed or was cancelled. */
  abort (error: Error): void
}

/**
 * The adapter loop. On any failure the machine has already wiped its secrets; here we stop
 * writing (so a refused peer gets nothing more, docs/PROTOCOL.md, "The four messages") and release the
 * transport.
 */
export async function runHandshake (
  transport: HandshakeTransport,
  machine: SecretHandshake,
  deadline: Deadline,
  authorize: Authorize = acceptEveryone,
  onProgress: (progress: HandshakeProgress) => void = ignoreProgress,
  helloWait?: number
): Promise<SessionKeys> {
  const stage = (): string => machine.stage
  try {
    for (;;) {
      // The deadline may have fired between awaits (or before we began): never write after it did.
      if (deadline.fired) throw deadline.error(machine.stage)
      const action = machine.next()
      switch (action.type) {
        case 'write':
          writeMessage(transport, action.bytes)
          tell(onProgress, { event: 'sent', message: action.message })
          break
        case 'read': {
          // Most messages are in the transport's buffer already: no await for those.
          let message = readMessage(transport, action.length)
          if (message instanceof Promise) {
            if (helloWait !== undefined && action.message === 'serverHello') message = answeredWithin(message, helloWait)
            message = await deadline.race(message, stage)
          }
          if (message === undefined) throw machine.peerHungUp()
          machine.receive(message)
          tell(onProgress, { event: 'received', message: action.message })
          break
        }
        case 'authorize': {
          // A decision made at once (the default, a key list) needs no await either.
          let decision = decide(authorize, action.remotePublicKey)
          if (decision instanceof Promise) decision = await deadline.race(decision, stage)
          machine.authorize(decision.accepted, decision.cause)
          break
        }
        case 'complete':
          transport.finish?.()
          return action.session
      }
    }
  } catch (err) {
    const error = toShsError(err, machine)
    machine.abort(error)
    transport.abort(error)
    throw error
  }
}

/**
 * A server that cannot verify a hello may hang up or stay silent (python-ssb's never hangs up);
 * a client that asked for the rekey extension gives it `helloWait` to answer (rekey-fallback.ts).
 */
export class UnansweredHelloError extends HandshakeError {
  constructor (helloWait: number) {
    super('ERR_SHS_HANDSHAKE_TIMEOUT',
      `the server did not answer our hello (message 1) within ${helloWait} ms: a server without the rekey extension ` +
      'that stays silent on a hello it cannot verify, a server that is slow, or one with another network key')
    this.name = 'UnansweredHelloError'
  }
}

function answeredWithin<T> (message: Promise<T>, helloWait: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new UnansweredHelloError(helloWait)) }, helloWait)
    message.then((value) => { clearTimeout(timer); resolve(value) }, (err: unknown) => { clearTimeout(timer); reject(err) })
  })
}

/** The application's progress callback; if it throws, the handshake fails with an error naming it. */
function tell (onProgress: (progress: HandshakeProgress) => void, progress: HandshakeProgress): void {
  try {
    onProgress(progress)
  } catch (err) {
    throw new CallbackError('onHandshakeProgress', err)
  }
}

function writeMessage (transport: HandshakeTransport, bytes: Uint8Array): void {
  try {
    transport.write(bytes)
  } catch (err) {
    // A transport that refuses a write has gone away: the peer hung up.
    throw new TransportFailure(err)
  }
}

function readMessage (transport: HandshakeTransport, length: number): Uint8Array | undefined | Promise<Uint8Array | undefined> {
  let message: ReturnType<HandshakeTransport['read']>
  try {
    message = transport.read(length)
  } catch (err) {
    throw new TransportFailure(err)
  }
  // A reset or any other transport failure mid-handshake means the peer went away.
  return message instanceof Promise ? message.catch(failedTransport) : message
}

function failedTransport (err: unknown): never {
  throw new TransportFailure(err)
}

interface Decision { accepted: boolean, cause?: unknown }

function decide (authorize: Authorize, remotePublicKey: Uint8Array): Decision | Promise<Decision> {
  let answer: ReturnType<Authorize>
  try {
    answer = authorize(remotePublicKey)
  } catch (cause) {
    return refusedBy(cause)
  }
  return isPromiseLike(answer) ? Promise.resolve(answer).then(decided, refusedBy) : decided(answer)
}

function decided (answer: boolean): Decision {
  return { accepted: answer === true }
}

function refusedBy (cause: unknown): Decision {
  return { accepted: false, cause: cause ?? new Error('authorize threw') }
}

/** A promise or any thenable, as `await` would take it. */
export function isPromiseLike<T> (value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null | undefined)?.then === 'function'
}

class TransportFailure {
  readonly cause: unknown
  constructor (cause: unknown) { this.cause = cause }
}

function toShsError (err: unknown, machine: SecretHandshake): ShsError {
  if (err instanceof TransportFailure) return machine.peerHungUp(err.cause)
  if (err instanceof ShsError) return err
  if (err instanceof Error && err.name === 'AbortError') return new AbortError(err.message, { cause: err })
  return new ConnectionError(`the handshake failed: ${String(err)}`, { cause: err })
}
