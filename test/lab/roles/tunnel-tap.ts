/**
 * What a tunnel portal carries, seen from inside the portal's process: ssb-tunnel's `connect`
 * is wrapped (a secret-stack hook) so every byte it relays in either direction is kept. If the
 * tunnel runs SHS end to end, the first 64 bytes towards the target are a client hello whose MAC
 * verifies under the network key, and no application plaintext shows up anywhere.
 */
import { verifyHmac } from '../../../src/crypto/primitives.ts'
import { type PullDuplex, through } from './pull.ts'

/** A hello: hmac(networkKey, ephemeral key) ‖ ephemeral key. */
const HELLO_BYTES = 64
const MAC_BYTES = 32
/** Enough for the scenario's payload; a portal that relays more keeps only this much. */
const KEEP_BYTES = 4 << 20

export interface Relayed {
  readonly tunnels: number
  readonly toTarget: number
  readonly toCaller: number
  /** The first tunnel's first 64 bytes towards the target are an SHS client hello under the network key. */
  readonly startsWithHello: boolean
  readonly plaintextSeen: boolean
}

export class RelayTap {
  readonly #networkKey: Uint8Array
  readonly #toTarget: Buffer[] = []
  readonly #toCaller: Buffer[] = []
  #tunnels = 0

  constructor (networkKey: Uint8Array) {
    this.#networkKey = networkKey
  }

  /** The duplex ssb-tunnel returns to the caller, with both directions recorded. */
  wrap (duplex: PullDuplex): PullDuplex {
    this.#tunnels++
    const keep = (into: Buffer[]) => (chunk: Buffer): void => {
      if (into.reduce((sum, kept) => sum + kept.byteLength, 0) < KEEP_BYTES) into.push(Buffer.from(chunk))
    }
    return {
      source: through(duplex.source, keep(this.#toCaller)),
      sink: (source) => { duplex.sink(through(source, keep(this.#toTarget))) }
    }
  }

  report (plaintext: string): Relayed {
    const toTarget = Buffer.concat(this.#toTarget)
    const toCaller = Buffer.concat(this.#toCaller)
    const hello = toTarget.subarray(0, HELLO_BYTES)
    return {
      tunnels: this.#tunnels,
      toTarget: toTarget.byteLength,
      toCaller: toCaller.byteLength,
      startsWithHello: hello.byteLength === HELLO_BYTES && verifyHmac(hello.subarray(0, MAC_BYTES), hello.subarray(MAC_BYTES), this.#networkKey),
      plaintextSeen: toTarget.includes(plaintext) || toCaller.includes(plaintext)
    }
  }
}
