/**
 * Caps on established connections, overall and per remote key (nginx's limit_conn, keyed by the
 * proven identity instead of the address). Pure bookkeeping: a slot is reserved when a client
 * has proven its key, before it is told it is accepted, and released when its connection closes.
 */
import { toString as bytesToString } from 'uint8arrays/to-string'
import { integerOption } from '../options.ts'

export interface ConnectionLimitOptions {
  /** Established connections at once (default: no limit). */
  maxConnections?: number
  /** Established connections at once per remote public key (default: no limit). */
  maxConnectionsPerKey?: number
}

/** A reserved slot; release it once (later calls do nothing). */
export type Release = () => void

/** The slot of a server without caps: there is nothing to count, so nothing is kept per connection. */
export const UNCOUNTED_SLOT: Release = () => {}

export class ConnectionLimits {
  readonly max: number
  readonly maxPerKey: number
  /** Slots per key; a key is here only while it holds some. */
  readonly #perKey = new Map<string, number>()
  #held = 0

  constructor (options: ConnectionLimitOptions = {}) {
    const unlimited = Number.POSITIVE_INFINITY
    this.max = integerOption('maxConnections', options.maxConnections, unlimited, { min: 1, unlimited: true })
    this.maxPerKey = integerOption('maxConnectionsPerKey', options.maxConnectionsPerKey, unlimited, { min: 1, unlimited: true })
  }

  /** Slots held now (not counted when neither cap is set: see UNCOUNTED_SLOT). */
  get held (): number {
    return this.#held
  }

  /** A slot for a client that proved `remotePublicKey`, or why there is none. */
  reserve (remotePublicKey: Uint8Array): Release | string {
    if (this.max === Number.POSITIVE_INFINITY && this.maxPerKey === Number.POSITIVE_INFINITY) return UNCOUNTED_SLOT
    if (this.#held >= this.max) return `${this.#held} connections are open, the limit (maxConnections)`
    if (this.maxPerKey === Number.POSITIVE_INFINITY) return this.#reserveUncounted()
    const key = bytesToString(remotePublicKey, 'base64pad')
    const ofKey = this.#perKey.get(key) ?? 0
    if (ofKey >= this.maxPerKey) return `this key already has ${ofKey} connections open, the limit per key (maxConnectionsPerKey)`
    this.#held++
    this.#perKey.set(key, ofKey + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      this.#held--
      const left = (this.#perKey.get(key) ?? 1) - 1
      if (left === 0) this.#perKey.delete(key)
      else this.#perKey.set(key, left)
    }
  }

  /** Without a limit per key (the default) there is no need to name the key per connection. */
  #reserveUncounted (): Release {
    this.#held++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#held--
    }
  }
}
