/**
 * The rekey extension's settings (docs/REKEY.md): whether a peer asks for it or insists on it,
 * and when an established connection takes fresh keys. Checked once, at the call that gets them.
 */
import { hmac } from '../crypto/primitives.ts'
import type { NetworkKey } from '../crypto/keys.ts'
import { InvalidOptionError } from '../errors.ts'
import { MAX_TIMEOUT_MS, describeValue } from '../options.ts'

/**
 * `prefer`: the extension where the peer has it, SHS1 where it does not. `require`: the
 * extension or no connection.
 */
export type RekeyMode = 'prefer' | 'require'

export interface RekeyOptions {
  /** Default `prefer`. */
  mode?: RekeyMode
  /** Take fresh keys after this many bytes sent (default 1 GiB; at least 1 MiB). */
  afterBytes?: number
  /** Take fresh keys after this many milliseconds (default 120 000, WireGuard's REKEY_AFTER_TIME). */
  afterMs?: number
  /** A rekey the peer does not complete within this many milliseconds ends the connection (default 60 000). */
  timeout?: number
}

/** What a connecting or listening call takes: a mode, the options, or nothing (SHS1 only). */
export type RekeyOption = RekeyMode | RekeyOptions | false | undefined

/** The checked settings, carried by the handshake into the session it hands over. */
export interface RekeySettings {
  readonly mode: RekeyMode
  readonly afterBytes: number
  readonly afterMs: number
  readonly timeout: number
}

/** Why these defaults: docs/REKEY.md, "Defaults". */
export const DEFAULT_REKEY_AFTER_BYTES = 2 ** 30
export const DEFAULT_REKEY_AFTER_MS = 120_000
export const DEFAULT_REKEY_TIMEOUT_MS = 60_000
/** Below this a rekey would cost more than the data it protects (and nearly meet the peer's rate cap). */
export const MIN_REKEY_AFTER_BYTES = 2 ** 20
/** A rekey needs a round trip: more often than once a second is no extra protection. */
export const MIN_REKEY_AFTER_MS = 1000

/** The label of the extension's network key: `K' = hmac_K("shs-rekey/1")` (docs/REKEY.md, "Negotiation"). */
export const REKEY_LABEL = 'shs-rekey/1'

/** The network key an extension handshake runs under. */
export function rekeyNetworkKey (networkKey: NetworkKey): NetworkKey {
  return hmac(networkKey, new TextEncoder().encode(REKEY_LABEL)) as NetworkKey
}

/** The `rekey` option of any entry point; `undefined` when the connection speaks plain SHS1. */
export function checkRekeyOption (value: unknown, name = 'rekey'): RekeySettings | undefined {
  if (value === undefined || value === false) return undefined
  if (value === 'prefer' || value === 'require') return { ...DEFAULTS, mode: value }
  if (value === true) return DEFAULTS
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(name, `${name} must be 'prefer', 'require', false or an object of rekey options ` +
      `({ mode, afterBytes, afterMs, timeout }), got ${describeValue(value)}`)
  }
  const given = value as Record<string, unknown>
  // Only an absent mode means the default: null is a wrong value, as for every other option.
  const mode = given.mode === undefined ? 'prefer' : given.mode
  if (mode !== 'prefer' && mode !== 'require') {
    throw new InvalidOptionError(`${name}.mode`, `${name}.mode must be 'prefer' or 'require', got ${describeValue(mode)}`)
  }
  return {
    mode,
    afterBytes: whole(given.afterBytes, `${name}.afterBytes`, DEFAULT_REKEY_AFTER_BYTES, MIN_REKEY_AFTER_BYTES, Number.MAX_SAFE_INTEGER, 'bytes'),
    afterMs: whole(given.afterMs, `${name}.afterMs`, DEFAULT_REKEY_AFTER_MS, MIN_REKEY_AFTER_MS, MAX_TIMEOUT_MS, 'milliseconds'),
    timeout: whole(given.timeout, `${name}.timeout`, DEFAULT_REKEY_TIMEOUT_MS, 1, MAX_TIMEOUT_MS, 'milliseconds')
  }
}

const DEFAULTS: RekeySettings = Object.freeze({
  mode: 'prefer',
  afterBytes: DEFAULT_REKEY_AFTER_BYTES,
  afterMs: DEFAULT_REKEY_AFTER_MS,
  timeout: DEFAULT_REKEY_TIMEOUT_MS
})

function whole (value: unknown, name: string, fallback: number, min: number, max: number, unit: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `${name} must be a whole number of ${unit} from ${min} to ${max}, got ${describeValue(value)}`)
  }
  return value
}
