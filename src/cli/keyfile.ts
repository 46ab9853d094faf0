/**
 * Secret key files in the ssb-keys format: a JSON object with `curve`, `public`, `private` and
 * `id`, surrounded by `#` comment lines, so files written here load in ssb-keys and files that
 * ssb-keys (or any Scuttlebutt client) wrote load here.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import { InvalidKeyError, type KeyPair, PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, asKeyPair, generateKeyPair } from '../index.ts'
import { CliError } from './errors/cli-error.ts'
import { EXIT } from './exit-codes.ts'
import { formatId } from './identity.ts'

const CURVE = 'ed25519'
const SECRET_FILE_MODE = 0o600
const SECRET_DIR_MODE = 0o700
/** Bits that let anyone but the owner read or write the file. */
const GROUP_OTHER_BITS = 0o077

export interface KeyFileJson {
  curve: string
  public: string
  private: string
  id: string
}

export function toKeyFileJson (keys: KeyPair): KeyFileJson {
  return {
    curve: CURVE,
    public: `${toString(keys.publicKey, 'base64pad')}.${CURVE}`,
    private: `${toString(keys.secretKey, 'base64pad')}.${CURVE}`,
    id: formatId(keys.publicKey)
  }
}

export function serializeKeyFile (keys: KeyPair): string {
  const json = toKeyFileJson(keys)
  return [
    '# SECRET KEY for shs (Secure Scuttlebutt secret handshake). Never share this file.',
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

/** Writes a fresh identity; refuses to replace an existing file unless `force`. */
export async function writeNewKeyFile (path: string, force: boolean): Promise<KeyPair> {
  const keys = generateKeyPair()
  const text = serializeKeyFile(keys)
  await mkdir(dirname(path), { recursive: true, mode: SECRET_DIR_MODE })
    .catch((err: unknown) => { throw explainWriteError(err, path) })
  if (!force) {
    await writeExclusive(path, text).catch((err: unknown) => { throw explainWriteError(err, path) })
    return keys
  }
  // Write beside the target and rename over it: a crash never leaves a half-written secret,
  // and the new file gets mode 0600 even if the old one was more open.
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeExclusive(temporary, text)
    await rename(temporary, path)
  } catch (err) {
    await unlink(temporary).catch((cleanupError: unknown) => {
      if ((cleanupError as NodeJS.ErrnoException).code !== 'ENOENT') throw cleanupError
    })
    throw explainWriteError(err, path)
  }
  return keys
}

async function writeExclusive (path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx', SECRET_FILE_MODE)
  try {
    await handle.writeFile(text, 'utf8')
  } finally {
    await handle.close()
  }
}

export interface LoadedKeys {
  keys: KeyPair
  path: string
}

/** Loads a key file; `warn` hears about files that others can read (like ssh, but not fatal). */
export async function loadKeyFile (path: string, warn: (message: string) => void): Promise<LoadedKeys> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw explainReadError(err, path)
  }
  const keys = parseKeyFile(text, path)
  if (process.platform !== 'win32') {
    const { mode } = await stat(path)
    if ((mode & GROUP_OTHER_BITS) !== 0) {
      warn(`${path} is readable by other users (mode ${(mode & 0o777).toString(8)}): run "chmod 600 ${path}"`)
    }
  }
  return { keys, path }
}

export function parseKeyFile (text: string, path: string): KeyPair {
  // ssb-keys files wrap the JSON in '#' comment lines; drop them before parsing.
  const body = text.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n').trim()
  if (body === '') throw malformed(path, 'it holds only comments')
  if (!body.startsWith('{')) return fromLegacyKeyFile(body, path)
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    throw malformed(path, 'its JSON does not parse')
  }
  if (typeof json !== 'object' || json === null) throw malformed(path, 'it is not a JSON object')
  const { curve, private: secretText, public: publicText } = json as Partial<Record<keyof KeyFileJson, unknown>>
  if (curve !== undefined && curve !== CURVE) {
    throw malformed(path, `its curve is "${String(curve)}", and SHS needs ${CURVE}`)
  }
  if (typeof secretText !== 'string') throw malformed(path, 'it has no "private" key')
  const secretKey = decodeKey(secretText, SECRET_KEY_BYTES, path, 'private')
  const publicKey = typeof publicText === 'string'
    ? decodeKey(publicText, PUBLIC_KEY_BYTES, path, 'public')
    : secretKey.slice(PUBLIC_KEY_BYTES)
  return checkPair({ publicKey, secretKey }, path)
}

/** ssb-keys' "legacy" files hold just the private key: the public key is its second half. */
function fromLegacyKeyFile (body: string, path: string): KeyPair {
  const secretKey = decodeKey(body, SECRET_KEY_BYTES, path, 'private')
  return checkPair({ publicKey: secretKey.slice(PUBLIC_KEY_BYTES), secretKey }, path)
}

function decodeKey (text: string, length: number, path: string, field: string): Uint8Array {
  const base64 = text.trim().replace(/^@/, '').replace(/\.ed25519$/, '')
  let bytes: Uint8Array
  try {
    bytes = fromString(base64, 'base64pad')
  } catch {
    throw malformed(path, `its "${field}" key is not base64`)
  }
  if (bytes.byteLength !== length) {
    throw malformed(path, `its "${field}" key is ${bytes.byteLength} bytes, expected ${length}`)
  }
  return bytes
}

function checkPair (keys: KeyPair, path: string): KeyPair {
  try {
    asKeyPair(keys)
  } catch (err) {
    if (!(err instanceof InvalidKeyError)) throw err
    throw malformed(path, 'its public and private keys do not belong together')
  }
  return keys
}

function malformed (path: string, why: string): CliError {
  return new CliError(EXIT.KEYS, `${path} is not a usable secret key file: ${why}; ` +
    'restore it from a backup, or make a new identity with "shs keygen --out FILE"')
}

function explainReadError (err: unknown, path: string): CliError {
  const code = (err as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOENT':
      return new CliError(EXIT.KEYS, `no secret key file at ${path}: create one with "shs keygen" or pass --keys FILE`, { cause: err })
    case 'EACCES': case 'EPERM':
      return new CliError(EXIT.KEYS, `cannot read ${path} (permission denied): run shs as the file's owner`, { cause: err })
    case 'EISDIR':
      return new CliError(EXIT.KEYS, `${path} is a directory: pass the secret file itself with --keys FILE`, { cause: err })
    default:
      return new CliError(EXIT.KEYS, `cannot read ${path} (${code ?? String(err)}): check the path given to --keys`, { cause: err })
  }
}

function explainWriteError (err: unknown, path: string): CliError {
  const code = (err as NodeJS.ErrnoException).code
  switch (code) {
    case 'EEXIST':
      return new CliError(EXIT.KEYS, `${path} already exists and keygen never overwrites a secret key: ` +
        'pass --force to replace it (the old identity is lost for good) or choose another --out FILE', { cause: err })
    case 'EACCES': case 'EPERM':
      return new CliError(EXIT.KEYS, `cannot write ${path} (permission denied): choose another --out FILE`, { cause: err })
    default:
      return new CliError(EXIT.KEYS, `cannot write ${path} (${code ?? String(err)}): choose another --out FILE`, { cause: err })
  }
}
