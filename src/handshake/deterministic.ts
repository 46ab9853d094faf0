/**
 * Test-only entry point: handshakes with a fixed ephemeral key pair, for replaying recorded
 * vectors. Not exported by the package (neither `src/index.ts` nor the `exports` map reach it):
 * a reused ephemeral key destroys the forward secrecy of every session made with it.
 */
import type { CurveKeyPair } from '../crypto/primitives.ts'
import { type ClientHandshakeInit, type SecretHandshake, type ServerHandshakeInit, createWithEphemeral } from './machine.ts'

export function deterministicClient (init: ClientHandshakeInit, ephemeral: CurveKeyPair): SecretHandshake {
  return createWithEphemeral('client', init, ephemeral)
}

export function deterministicServer (init: ServerHandshakeInit, ephemeral: CurveKeyPair): SecretHandshake {
  return createWithEphemeral('server', init, ephemeral)
}
