/**
 * Scuttlebutt's textual form of a public key: the id `@<base64>.ed25519` that feeds, configs and
 * multiserver addresses carry (the latter without the `@` and the suffix).
 */
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import { type Ed25519PublicKey, asPublicKey } from '../crypto/keys.ts'
import { InvalidKeyError } from '../errors.ts'

const ID_PREFIX = '@'
export const ED25519_SUFFIX = '.ed25519'
/** A 32-byte key is 44 base64 characters with padding; ids always carry the padding. */
const BASE64_KEY_PATTERN = /^[A-Za-z0-9+/]{43}=$/
const MAX_SHOWN = 60

/** `@<base64>.ed25519`, the form ssb-keys writes in `id` and secret-stack in `api.id`. */
export function formatId (publicKey: Uint8Array): string {
  return `${ID_PREFIX}${formatKey(publicKey)}${ED25519_SUFFIX}`
}

/** Plain padded base64, the form multiserver addresses carry after `shs:`. */
export function formatKey (publicKey: Uint8Array): string {
  return toString(publicKey, 'base64pad')
}

/**
 * Reads `@<base64>.ed25519`, `<base64>.ed25519` or bare base64 (as in multiserver addresses) and
 * checks that it is a usable Ed25519 public key; `what` names the input in the error message.
 */
export function parseId (text: string, what = 'id'): Ed25519PublicKey {
  const trimmed = text.trim()
  const base64 = trimmed.replace(/^@/, '').replace(/\.ed25519$/, '')
  if (!BASE64_KEY_PATTERN.test(base64)) {
    throw new InvalidKeyError(
      `${what} is not a Scuttlebutt id: expected @<44 base64 characters>.ed25519, got "${shorten(trimmed)}"`)
  }
  try {
    return asPublicKey(fromString(base64, 'base64pad'), what)
  } catch (err) {
    if (!(err instanceof InvalidKeyError)) throw err
    throw new InvalidKeyError(`${what} is not a valid Ed25519 public key: check that it was copied whole`)
  }
}

export function shorten (text: string): string {
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text
}
