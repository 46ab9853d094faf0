/**
 * Test-only entry point of the connection layer, as `src/handshake/deterministic.ts` is for the
 * handshake; not exported by the package (neither `src/index.ts` nor the `exports` map reach it).
 * Fixed rekey key pairs destroy what rekeying is for, and a connection's live keys are its secrets.
 */
import type { CurveKeyPair } from '../crypto/primitives.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { type BoxStream, type BoxStreamOptions, type LiveKeys, boxStreamWithEphemerals, liveKeys } from './box-stream.ts'

/** A box stream whose rekeys take their key pairs from `ephemerals`, in order (recorded vectors). */
export function deterministicBoxStream (session: SessionKeys, ephemerals: () => CurveKeyPair, options?: BoxStreamOptions): BoxStream {
  return boxStreamWithEphemerals(session, { ...options, ephemerals })
}

/** Copies of a live box stream's keys and next nonces, both ways (the rekey property test's thief). */
export function stealKeys (box: BoxStream): LiveKeys {
  return liveKeys(box)
}
