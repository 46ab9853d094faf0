/**
 * A multiserver transform plugin that takes the place of `multiserver/plugins/shs`: the same
 * options, the same `{ name, create, parse, stringify, publicKey }`, the same streams (pull-stream
 * duplexes with `.remote`, `.auth` and `.address`), with this library's handshake and box stream
 * in place of the reference secret-handshake.
 */
import { toString } from 'uint8arrays/to-string'
import { type KeyPair, asKeyPair, generateKeyPair } from '../crypto/keys.ts'
import { NETWORK_KEY_BYTES, PUBLIC_KEY_BYTES, SEED_BYTES } from '../crypto/primitives.ts'
import { InvalidOptionError, ShsError } from '../errors.ts'
import { checkCallback, checkOptions, checkTimeout, describeValue } from '../options.ts'
import { clientHandshake, serverHandshake } from '../duplex/handshake.ts'
import type { SecureStream } from '../driver/types.ts'
import { type RekeyView, withRekeyView } from '../driver/rekey-view.ts'
import { type RekeyOption, type RekeySettings, checkRekeyOption } from '../handshake/rekey-options.ts'
import { fromSsbKeys, type SsbKeys } from '../ssb/keys.ts'
import type { PullDuplex } from './pull.ts'
import { pullDuplexOf } from './secure-pull.ts'
import { PluginAdmission, type PluginAdmissionOptions, admittedHandshake } from './admission.ts'
import { pullToByteDuplex } from './transport.ts'

/** What multiserver's shs plugin is given. */
export interface ShsPluginOptions {
  /** `{ publicKey, secretKey }` (Buffers, as sodium returns them), or an ssb-keys object. */
  keys?: KeyPair | SsbKeys
  /** A 32-byte seed to grow the key pair from, when `keys` is not given. */
  seed?: Uint8Array
  /** The network key (caps.shs): 32 bytes, or their base64. */
  appKey: Uint8Array | string
  /** Decides on each client: `cb(err)` refuses with an error, `cb(null, falsy)` refuses, anything else accepts and becomes `stream.auth`. */
  auth?: AuthCallback
  /** Another name for `auth`, as secret-stack passes it. */
  authenticate?: AuthCallback
  /** Milliseconds for the handshake (default 5000, as the reference's pull-handshake). */
  timeout?: number
  /**
   * The rekey extension (docs/REKEY.md). Accepting, `'prefer'` serves clients that ask for it and
   * plain SHS1 clients alike, `'require'` only the former. Dialing, only `'require'` asks for it: a
   * transform runs on the connection multiserver made and cannot connect again to fall back, so
   * under `'prefer'` it dials with plain SHS1. Default: plain SHS1 both ways.
   */
  rekey?: RekeyOption
  /**
   * What the server side lets in under hostile load, as listen() does: per-source caps, random
   * early drop, the pending-handshake cap and the hello deadline (docs/HOSTILE-LOAD.md). On by
   * default, with listen()'s defaults.
   */
  admission?: PluginAdmissionOptions
}

export type AuthCallback = (publicKey: Buffer, cb: (err?: Error | null, auth?: unknown) => void) => void

/**
 * The stream multiserver hands the application: a pull duplex of Buffers, what the handshake
 * proved, and the rekey extension's state (`rekeying`, `rekeys`, `rekey()`).
 */
export interface ShsPullStream extends PullDuplex<Buffer>, RekeyView {
  /** The peer's long-term public key. */
  remote: Buffer
  /** On the server: what `auth` called back with. */
  auth?: unknown
  /** `shs:<base64 key of the peer>` */
  address: string
  /** The rekey state again, where secret-stack passes it on to the application (`rpc.meta`). */
  meta: ShsStreamMeta
}

/** `stream.meta`: the rekey state, and what the transport's stream had as `meta`, if anything. */
export interface ShsStreamMeta extends RekeyView {
  transport?: unknown
}

/** What `parse('shs:KEY[:SEED]')` returns, as multiserver's shs plugin returns it. */
export interface ShsAddress {
  key: Buffer
  seed?: Buffer | undefined
}

export interface ShsPlugin {
  name: 'shs'
  create (address?: ShsAddress | null): (stream: PullDuplex<Buffer> & { address?: string, meta?: unknown }, cb: (err: (Error & { address?: string }) | null, stream?: ShsPullStream) => void) => void
  parse (text: string): ShsAddress | null
  stringify (): string | undefined
  publicKey: Buffer | undefined
  /** The server side's admission, shared by every stream of this plugin: `pending` handshakes now. */
  admission: { readonly pending: number }
}

const DEFAULT_TIMEOUT_MS = 5000

export default function shs (options: ShsPluginOptions): ShsPlugin {
  // Everything is checked here, when the plugin is made: a bad option would otherwise fail every
  // connection later, far from the config that caused it.
  checkOptions(options)
  const keys = toKeyPair(options)
  const networkKey = toNetworkKey(options.appKey)
  const authenticate = checkCallback(options.authenticate, 'authenticate')
  const auth = checkCallback(options.auth, 'auth') ?? authenticate
  const timeout = options.timeout === undefined ? DEFAULT_TIMEOUT_MS : checkTimeout(options.timeout)
  const rekey = checkRekeyOption(options.rekey)
  const dialRekey = dialingRekey(rekey)
  const publicKey = keys === undefined ? undefined : Buffer.from(keys.publicKey)
  const admission = new PluginAdmission(options.admission, 'admission')

  function create (address?: ShsAddress | null): ReturnType<ShsPlugin['create']> {
    return function shsTransform (stream, cb) {
      const duplex = pullToByteDuplex(stream)
      let authValue: unknown
      const askAuth = async (remote: Uint8Array): Promise<boolean> => await new Promise<boolean>((resolve, reject) => {
        auth?.(Buffer.from(remote), (err, value) => {
          if (err !== null && err !== undefined) { reject(err); return }
          authValue = value
          // Any falsy value refuses, as in the reference.
          resolve(Boolean(value))
        })
      })
      // Missing keys and the like reject here rather than throw into multiserver.
      const secured = Promise.resolve().then(async () => address?.key !== undefined
        ? clientHandshake(duplex, {
            keys: address.seed === undefined ? requireKeys(keys) : generateKeyPair(address.seed),
            networkKey,
            remotePublicKey: address.key,
            timeout,
            rekey: dialRekey
          })
        : admittedHandshake(admission, stream.address, timeout, (guard) => serverHandshake(duplex, {
            keys: requireKeys(keys),
            networkKey,
            timeout,
            rekey,
            signal: guard.signal,
            onHandshakeProgress: guard.onHandshakeProgress,
            authorize: guard.authorize(auth === undefined ? undefined : askAuth)
          })))
      secured.then(
        (secure) => { cb(null, toPullStream(secure, authValue, stream.meta)) },
        (err: unknown) => {
          // As the reference: a failed handshake does not say who it was with.
          const error = (err instanceof Error ? err : new Error(String(err))) as Error & { address?: string }
          error.address = 'shs:'
          // The handshake has released the transport already, unless it never started.
          duplex.abort?.(error)
          cb(error)
        })
    }
  }

  return {
    name: 'shs',
    create,
    parse,
    stringify: () => publicKey === undefined ? undefined : `shs:${publicKey.toString('base64')}`,
    publicKey,
    admission
  }
}

/** `shs:KEY` or `shs:KEY:SEED` (base64, 32 bytes each); null for anything else, as the reference. */
export function parse (text: string): ShsAddress | null {
  const [name, key, seed] = text.split(':')
  if (name !== 'shs' || key === undefined) return null
  const keyBytes = decode(key, PUBLIC_KEY_BYTES)
  if (keyBytes === undefined) return null
  if (seed === undefined) return { key: keyBytes, seed: undefined }
  const seedBytes = decode(seed, SEED_BYTES)
  return seedBytes === undefined ? null : { key: keyBytes, seed: seedBytes }
}

function decode (base64: string, length: number): Buffer | undefined {
  const bytes = Buffer.from(base64, 'base64')
  return bytes.byteLength === length ? bytes : undefined
}

function toKeyPair (options: ShsPluginOptions): KeyPair | undefined {
  const { keys, seed } = options
  // A seed is checked even beside keys (which win, as in the reference): a bad one is a config error.
  const fromSeed = seed === undefined ? undefined : generateKeyPair(checkSeed(seed))
  if (keys === undefined) return fromSeed
  if (typeof (keys as SsbKeys | null)?.private === 'string') return fromSsbKeys(keys as SsbKeys)
  return asKeyPair(keys, 'keys')
}

function checkSeed (seed: unknown): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.byteLength !== SEED_BYTES) {
    throw new InvalidOptionError('seed', `seed must be ${SEED_BYTES} bytes (a Buffer), got ${describeValue(seed)}`)
  }
  return seed
}

/** caps.shs: 32 bytes, or their base64. */
function toNetworkKey (appKey: unknown): Uint8Array {
  const bytes = typeof appKey === 'string' ? decode(appKey, NETWORK_KEY_BYTES) : appKey
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== NETWORK_KEY_BYTES) {
    throw new InvalidOptionError('appKey', `appKey (the network key, caps.shs) must be ${NETWORK_KEY_BYTES} bytes or their base64, got ${describeValue(appKey)}`)
  }
  return bytes
}

function requireKeys (keys: KeyPair | undefined): KeyPair {
  if (keys === undefined) throw new ShsError('ERR_SHS_INVALID_KEY', 'the shs plugin needs keys or a seed to accept or make connections')
  return keys
}

/**
 * What the dialing side asks for: only `require` (a transform cannot connect again, so `prefer`
 * could not fall back to SHS1 on a server without the extension: it dials plain SHS1).
 */
function dialingRekey (rekey: RekeySettings | undefined): RekeySettings | undefined {
  return rekey?.mode === 'require' ? rekey : undefined
}

/** The secure stream as multiserver's shs streams look: Buffers both ways, the peer's key and address on it. */
function toPullStream (secure: SecureStream, auth: unknown, transportMeta: unknown): ShsPullStream {
  const remote = Buffer.from(secure.remotePublicKey)
  const { source, sink } = pullDuplexOf(secure, asBuffer)
  const meta = withRekeyView(transportMeta === undefined ? {} : { transport: transportMeta }, secure)
  return withRekeyView({ source, sink, remote, auth, address: `shs:${toString(remote, 'base64pad')}`, meta }, secure)
}

function asBuffer (chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}
