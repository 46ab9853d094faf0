/**
 * Scuttlebutt's id `@<base64>.ed25519` (from the library) with the CLI's usage errors, and a
 * numeric fingerprint two people can read aloud to each other to compare keys.
 */
import { createHash } from 'node:crypto'
import { InvalidKeyError, formatId, parseId as parseIdText } from '../index.ts'
import { CliError } from './errors/cli-error.ts'
import { EXIT } from './exit-codes.ts'

export { formatId }

/** The fingerprint is 8 groups of 5 digits (~133 bits), like Signal's safety numbers. */
const FINGERPRINT_GROUPS = 8
const FINGERPRINT_GROUP_BYTES = 5
const FINGERPRINT_GROUP_MODULUS = 100_000n
/** Domain-separates the fingerprint hash so it never equals a hash computed for another purpose. */
const FINGERPRINT_CONTEXT = 'shs-transport fingerprint v1\n'

/** `@<base64>.ed25519`, `<base64>.ed25519` or bare base64 (as in multiserver addresses); a bad one is a usage error. */
export function parseId (text: string, what: string): Uint8Array {
  try {
    return parseIdText(text, what)
  } catch (err) {
    if (!(err instanceof InvalidKeyError)) throw err
    throw new CliError(EXIT.USAGE, err.message, { cause: err })
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
