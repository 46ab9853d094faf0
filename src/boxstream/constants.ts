/** Box-stream framing sizes (shs1.md, "Box-stream"). */
import { MAC_BYTES } from '../crypto/primitives.ts'

/** The largest body one packet carries; longer writes are split. */
export const MAX_BODY_BYTES = 4096
/** Header plaintext: body length (u16, big-endian) ‖ the body's detached MAC. */
export const HEADER_PLAINTEXT_BYTES = 2 + MAC_BYTES
/** Header on the wire: the header plaintext sealed with its own MAC. */
export const HEADER_BYTES = MAC_BYTES + HEADER_PLAINTEXT_BYTES
