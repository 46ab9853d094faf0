/**
 * Scuttlebutt's textual forms of a public key: the id `@<base64>.ed25519` people pass around,
 * and a numeric fingerprint two people can read aloud to each other to compare keys.
 */
import { createHash } from 'node:crypto'
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import { InvalidKeyError, PUBLIC_KEY_BYTES, asPublicKey } from '../index.ts'
import { CliError } from './errors/cli-error.ts'
import { EXIT } from './exit-codes.ts'

const ID_SUFFIX = '.ed25519'
/** A 32-byte key is 44 base64 characters with padding; ids always carry the padding. */
const BASE64_KEY_PATTERN = /^[A-Za-z0-9+/]{43}=$/

/** The fingerprint is 8 groups of 5 digits (~133 bits), like Signal's safety numbers. */
const FINGERPRINT_GROUPS = 8
const FINGERPRINT_GROUP_BYTES = 5
const FINGERPRINT_GROUP_MODULUS = 100_000n
/** Domain-separates the fingerprint hash so it never equals a hash computed for another purpose. */
const FINGERPRINT_CONTEXT = 'shs-transport fingerprint v1\n'

export function formatId (publicKey: Uint8Array): string {
  return `@${toString(publicKey, 'base64pad')}${ID_SUFFIX}`
}

/** `@<base64>.ed25519`, `<base64>.ed25519` or bare base64 (as in multiserver addresses). */
export function parseId (text: string, what: string): Uint8Array {
  const trimmed = text.trim()
  const base64 = trimmed.replace(/^@/, '').replace(/\.ed25519$/, '')
  if (!BASE64_KEY_PATTERN.test(base64)) {
    throw new CliError(EXIT.USAGE,
      `${what} is not a Scuttlebutt id: expected @<44 base64 characters>.ed25519, got "${shorten(trimmed)}"`)
  }
  const bytes = fromString(base64, 'base64pad')
  if (bytes.byteLength !== PUBLIC_KEY_BYTES) {
    throw new CliError(EXIT.USAGE, `${what} does not hold a ${PUBLIC_KEY_BYTES}-byte key: check that it was copied whole`)
  }
  try {
    return asPublicKey(bytes, what)
  } catch (err) {
    if (!(err instanceof InvalidKeyError)) throw err
    throw new CliError(EXIT.USAGE, `${what} is not a valid Ed25519 public key: check that it was copied whole`, { cause: err })
  }
}

/** Digits, not letters: they survive being read over the phone without spelling out case. */
export function fingerprint (publicKey: Uint8Array): string {
  const digest = createHash('sha512').update(FINGERPRINT_CONTEXT).update(publicKey).digest()
  const groups: string[] = []
  for (let i = 0; i < FINGERPRINT_GROUPS; i++) {
    const chunk = digest.subarray(i * FINGERPRINT_GROUP_BYTES, (i + 1) * FINGERPRINT_GROUP_BYTES)
    const value = BigInt(`0x${chunk.toString('hex')}`) % FINGERPRINT_GROUP_MODULUS
    groups.push(value.toString().padStart(5, '0'))
  }
  return groups.join(' ')
}

function shorten (text: string): string {
  const MAX_SHOWN = 60
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text
}
