/**
 * ssb-keys identities: the `{ curve, public, private, id }` objects Scuttlebutt code passes
 * around, and the secret files (`~/.ssb/secret`) that hold one between `#` comment lines. Files
 * written here load in ssb-keys, and files ssb-keys wrote load here.
 */
import { fromString } from 'uint8arrays/from-string'
import { type KeyPair, asKeyPair } from '../crypto/keys.ts'
import { PUBLIC_KEY_BYTES, SECRET_KEY_BYTES } from '../crypto/primitives.ts'
import { InvalidKeyError } from '../errors.ts'
import { ED25519_SUFFIX, formatId, formatKey } from './id.ts'

const CURVE = 'ed25519'

/** What ssb-keys' `generate()` and `loadOrCreateSync()` return. */
export interface SsbKeys {
  curve: string
  /** `<base64>.ed25519` */
  public: string
  /** `<base64>.ed25519`: the 64-byte secret key (seed ‖ public key). */
  private: string
  /** `@<base64>.ed25519` */
  id: string
}

export function toSsbKeys (keys: KeyPair): SsbKeys {
  const checked = asKeyPair(keys)
  return {
    curve: CURVE,
    public: `${formatKey(checked.publicKey)}${ED25519_SUFFIX}`,
    private: `${formatKey(checked.secretKey)}${ED25519_SUFFIX}`,
    id: formatId(checked.publicKey)
  }
}

/** Our key pair from an ssb-keys object; `public` may be missing (it is the private key's second half). */
export function fromSsbKeys (ssbKeys: Partial<SsbKeys>, option = 'keys'): KeyPair {
  try {
    if (typeof ssbKeys !== 'object' || ssbKeys === null) throw unusable('it is not an object')
    const { curve, private: secretText, public: publicText } = ssbKeys
    if (curve !== undefined && curve !== CURVE) throw unusable(`its curve is "${String(curve)}", and SHS needs ${CURVE}`)
    if (typeof secretText !== 'string') throw unusable('it has no "private" key')
    const secretKey = decodeKey(secretText, SECRET_KEY_BYTES, 'private')
    const publicKey = typeof publicText === 'string'
      ? decodeKey(publicText, PUBLIC_KEY_BYTES, 'public')
      : secretKey.slice(PUBLIC_KEY_BYTES)
    return checkPair({ publicKey, secretKey })
  } catch (err) {
    // The same error, naming the option the keys came in.
    if (err instanceof InvalidKeyError && err.option !== option) throw new InvalidKeyError(err.message, err.code as 'ERR_SHS_INVALID_KEY', option)
    throw err
  }
}

/** The text of a secret file, with comments that warn whoever opens it. */
export function formatSecretFile (keys: KeyPair): string {
  const json = toSsbKeys(keys)
  return [
    '# SECRET KEY for Secure Scuttlebutt (secret handshake). Never share this file.',
    '# Whoever has it can pretend to be you. Keep it readable by you alone (mode 0600).',
    '#',
    JSON.stringify(json, null, 2),
    '#',
    '# Your public id, the only part that is safe to share:',
    '#',
    `#   ${json.id}`,
    ''
  ].join('\n')
}

/** Reads a secret file: JSON between `#` comments, or ssb-keys' legacy form (just the private key). */
export function parseSecretFile (text: string): KeyPair {
  const body = text.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n').trim()
  if (body === '') throw unusable('it holds only comments')
  if (!body.startsWith('{')) {
    const secretKey = decodeKey(body, SECRET_KEY_BYTES, 'private')
    return checkPair({ publicKey: secretKey.slice(PUBLIC_KEY_BYTES), secretKey })
  }
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    throw unusable('its JSON does not parse')
  }
  if (typeof json !== 'object' || json === null) throw unusable('it is not a JSON object')
  return fromSsbKeys(json as Partial<SsbKeys>)
}

function decodeKey (text: string, length: number, field: string): Uint8Array {
  const base64 = text.trim().replace(/^@/, '').replace(/\.ed25519$/, '')
  let bytes: Uint8Array
  try {
    bytes = fromString(base64, 'base64pad')
  } catch {
    throw unusable(`its "${field}" key is not base64`)
  }
  if (bytes.byteLength !== length) throw unusable(`its "${field}" key is ${bytes.byteLength} bytes, expected ${length}`)
  return bytes
}

function checkPair (keys: KeyPair): KeyPair {
  try {
    asKeyPair(keys)
  } catch (err) {
    if (!(err instanceof InvalidKeyError)) throw err
    throw unusable('its public and private keys do not belong together')
  }
  return keys
}

function unusable (why: string): InvalidKeyError {
  return new InvalidKeyError(`not a usable ssb-keys secret: ${why}`, undefined, 'keys')
}
