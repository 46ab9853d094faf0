/**
 * Box-stream nonces are a 24-byte big-endian counter: packet P seals its header with N+2P and
 * its body with N+2P+1 (shs1.md, "Box-stream"). The counter wraps around at 2^192, like the
 * reference's increment, though no real stream comes near it.
 */
export function incrementNonce (nonce: Uint8Array): void {
  for (let i = nonce.length - 1; i >= 0; i--) {
    const byte = (nonce[i] as number) + 1
    nonce[i] = byte & 0xff
    if (byte <= 0xff) return
  }
}
