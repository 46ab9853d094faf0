/**
 * Early data: what a client sends right behind message 3, sealed as box-stream packets before
 * the server's message 4 arrives (docs/PROTOCOL.md, "Early data"). The client knows every
 * Diffie-Hellman result once it wrote message 3, so it can derive the session keys then; what it
 * seals with them only the holder of the server's long-term secret key can open.
 */
import { BoxStreamEncoder } from '../boxstream/encoder.ts'
import { MAX_BODY_BYTES } from '../boxstream/constants.ts'
import { PACKET_NONCE_STEPS, advanceNonce } from '../boxstream/nonce.ts'
import { InvalidOptionError } from '../errors.ts'
import { describeValue } from '../options.ts'
import { type SessionKeys, wipeSession } from './session.ts'

export type EarlyData = Uint8Array | readonly Uint8Array[]

/** The early data of a client's options: absent, bytes, or a list of them (all given at the call). */
export function checkEarlyData (value: unknown): readonly Uint8Array[] | undefined {
  if (value === undefined) return undefined
  const list = value instanceof Uint8Array ? [value] : value
  if (!Array.isArray(list) || !list.every((chunk) => chunk instanceof Uint8Array)) {
    throw new InvalidOptionError('earlyData', `earlyData must be bytes (a Uint8Array, or a list of them) to send right behind message 3, got ${describeValue(value)}`)
  }
  return list
}

/** Seals `data` with the session to be, as the first packets of our box stream; returns them and how many there are. */
export function sealEarly (session: SessionKeys, data: readonly Uint8Array[]): { sealed: Uint8Array, packets: number } {
  const encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce)
  try {
    const sealed = encoder.encode(data)
    const bytes = data.reduce((sum, chunk) => sum + chunk.byteLength, 0)
    return { sealed, packets: Math.ceil(bytes / MAX_BODY_BYTES) }
  } finally {
    encoder.destroy()
    wipeSession(session)
  }
}

/** The session handed over after message 4 goes on from the packets sent early. */
export function afterEarly (session: SessionKeys, packets: number): SessionKeys {
  advanceNonce(session.encryptNonce, packets * PACKET_NONCE_STEPS)
  return session
}
