/**
 * Box-stream nonces are a 24-byte big-endian counter: packet P seals its header with N+2P and
 * its body with N+2P+1 (docs/PROTOCOL.md, "Box stream"). The counter wraps around at 2^192, like the
 * reference's increment, though no real stream comes near it.
 */
export function incrementNonce (nonce: Uint8Array): void {
  advanceNonce(nonce, 1)
}

/**
 * Adds `steps` (a small non-negative integer) to the counter in one pass: the encoder moves each
 * of its two nonces on by a whole packet (2) at once, not by two increments.
 */
export function advanceNonce (nonce: Uint8Array, steps: number): void {
  let carry = steps
  for (let i = nonce.length - 1; i >= 0 && carry !== 0; i--) {
    const sum = (nonce[i] as number) + carry
    nonce[i] = sum & 0xff
    carry = sum >>> 8
  }
}

/** Nonces one packet uses: one for its header, one for its body. */
export const PACKET_NONCE_STEPS = 2
