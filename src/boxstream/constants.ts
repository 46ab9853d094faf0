/** Box-stream framing sizes (docs/PROTOCOL.md, "Box stream"). */
import { MAC_BYTES } from '../crypto/primitives.ts'

/** The largest body one packet carries; longer writes are split. */
export const MAX_BODY_BYTES = 4096
/** The body length at the start of the header plaintext: a big-endian u16. */
export const LENGTH_BYTES = 2
/** Header plaintext: body length ‖ the body's detached MAC. */
export const HEADER_PLAINTEXT_BYTES = LENGTH_BYTES + MAC_BYTES
/** Header on the wire: the header plaintext sealed with its own MAC. */
export const HEADER_BYTES = MAC_BYTES + HEADER_PLAINTEXT_BYTES

/**
 * The rekey extension's mark on a header's length (docs/REKEY.md, "Packets"): set, the body is a
 * control packet of `length & ~CONTROL_FLAG` bytes, not data. No data body comes near it (4096).
 */
export const CONTROL_FLAG = 0x8000
/** A control body is a type byte and at most a public key; anything longer is no control packet of ours. */
export const MAX_CONTROL_BODY_BYTES = 64
