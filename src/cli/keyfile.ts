/**
 * Reading and writing secret key files (the ssb-keys format the library parses and formats):
 * never overwrite by accident, mode 0600, and error messages that name the file and the flag.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { InvalidKeyError, type KeyPair, formatSecretFile, generateKeyPair, parseSecretFile } from '../index.ts'
import { CliError } from './errors/cli-error.ts'
import { EXIT } from './exit-codes.ts'

const SECRET_FILE_MODE = 0o600
const SECRET_DIR_MODE = 0o700
/** Bits that let anyone but the owner read or write the file. */
const GROUP_OTHER_BITS = 0o077

/** Writes a fresh identity; refuses to replace an existing file unless `force`. */
export async function writeNewKeyFile (path: string, force: boolean): Promise<KeyPair> {
  const keys = generateKeyPair()
  const text = formatSecretFile(keys)
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
  try {
    return parseSecretFile(text)
  } catch (err) {
    if (!(err instanceof InvalidKeyError)) throw err
    throw new CliError(EXIT.KEYS, `${path} is not a usable secret key file (${err.message}); ` +
      'restore it from a backup, or make a new identity with "shs keygen --out FILE"', { cause: err })
  }
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
