/** Durations and sizes in the reasons the checks give. */

const PRECISE_BELOW_MS = 10

/** `6.6 ms`, `240 ms`. */
export function formatMs (ms: number): string {
  return ms < PRECISE_BELOW_MS ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`
}

/** `20.00 s`: for the stall limit and how long a peer kept a stalled handshake. */
export function formatSeconds (ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`
}

/** `1 byte`, `4096 bytes`. */
export function countBytes (bytes: number): string {
  return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`
}
