/**
 * Property-based fuzz targets for the sans-IO core, shared by `npm run fuzz` (scripts/fuzz.ts,
 * 100 000 cases or more per target) and `npm test` (test/fuzz.test.ts, a few hundred per target).
 *
 * Handshake: a model of the SHS1 script (docs/PROTOCOL.md, "The four messages") is run beside the real
 * machine over recorded transcripts (fixed ephemeral keys, so every genuine message is known in
 * advance), and every call must do exactly what the model says: only typed errors, a message is
 * accepted only if it is the genuine one (or, for a hello, authenticated with the network key,
 * and then the handshake can never complete), and a failed handshake stays failed.
 *
 * Box stream: valid streams from our encoder, mutated and cut anywhere, and validly sealed
 * headers with arbitrary contents. Only `BoxStreamError` may escape, the decoder never holds
 * more than one packet, and what it delivers is always a prefix of what was sealed.
 */
import type { FuzzTarget } from './common.ts'
import { callSequences, corruptedMessage } from './handshake.ts'
import { cleanSplit, forgedHeaders, mutatedStreams, randomStreams } from './boxstream.ts'

export type { FuzzOutcome, FuzzTarget } from './common.ts'

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  corruptedMessage, callSequences, cleanSplit, mutatedStreams, randomStreams, forgedHeaders
]
