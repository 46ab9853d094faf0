/**
 * What a command under test learns from us, in SHS_CONFORMANCE_* variables: where to listen or
 * connect, the keys to use, and the network key. The runner makes every key, so it knows which
 * identity to expect on the other side.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toString } from 'uint8arrays/to-string'
import type { KeyPair } from '../crypto/keys.ts'
import { formatSecretFile } from '../ssb/keys.ts'

/** Every variable a command under test gets, and what it holds. */
export const COMMAND_ENVIRONMENT: ReadonlyArray<{ readonly name: string, readonly meaning: string }> = [
  { name: 'SHS_CONFORMANCE_HOST', meaning: '127.0.0.1' },
  { name: 'SHS_CONFORMANCE_PORT', meaning: 'the port to listen on (server role) or to connect to (client role)' },
  { name: 'SHS_CONFORMANCE_ADDRESS', meaning: 'net:HOST:PORT~shs:SERVER_KEY' },
  { name: 'SHS_CONFORMANCE_SERVER_KEY', meaning: 'the server\'s public key, base64 (32 bytes)' },
  { name: 'SHS_CONFORMANCE_NETWORK_KEY', meaning: 'the network key, base64 (32 bytes)' },
  { name: 'SHS_CONFORMANCE_SECRET', meaning: 'base64 of the 64-byte secret key CMD must use: the server\'s (server role) or the client\'s (client role)' },
  { name: 'SHS_CONFORMANCE_KEYS_FILE', meaning: 'the same secret as an ssb-keys file (for shs --keys)' }
]

/** Loopback only: the commands under test listen and connect here, and nowhere else. */
export const LOOPBACK = '127.0.0.1'

export interface CommandEnvironment {
  readonly port: number
  /** The key CMD plays with (server role: the server's; client role: the client's). */
  readonly keys: KeyPair
  readonly serverKey: Uint8Array
  readonly networkKey: Uint8Array
}

const base64 = (bytes: Uint8Array): string => toString(bytes, 'base64pad')

/** A private folder for the keys file; `remove()` when the run is over. */
export class KeysFolder {
  readonly #dir: string

  private constructor (dir: string) {
    this.#dir = dir
  }

  static async create (): Promise<KeysFolder> {
    return new KeysFolder(await mkdtemp(join(tmpdir(), 'shs-conformance-')))
  }

  async write (keys: KeyPair): Promise<string> {
    const path = join(this.#dir, `${toString(keys.publicKey, 'base16').slice(0, 16)}.secret`)
    await writeFile(path, formatSecretFile(keys), { mode: 0o600 })
    return path
  }

  async remove (): Promise<void> {
    await rm(this.#dir, { recursive: true, force: true })
  }
}

export function commandEnvironment (spec: CommandEnvironment, keysFile: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SHS_CONFORMANCE_HOST: LOOPBACK,
    SHS_CONFORMANCE_PORT: String(spec.port),
    SHS_CONFORMANCE_ADDRESS: `net:${LOOPBACK}:${spec.port}~shs:${base64(spec.serverKey)}`,
    SHS_CONFORMANCE_SERVER_KEY: base64(spec.serverKey),
    SHS_CONFORMANCE_NETWORK_KEY: base64(spec.networkKey),
    SHS_CONFORMANCE_SECRET: base64(spec.keys.secretKey),
    SHS_CONFORMANCE_KEYS_FILE: keysFile
  }
}
