/**
 * A secret-stack 6, 7 or 8 plugin that takes the place of `secret-stack/plugins/shs`: it reads the same
 * config (`caps.shs` or `appKey`, `keys`, `seed`, `timers.handshake`, `timeout`,
 * `multiserverShs`), sets the same `api.id`, `api.publicKey` and `api.shs`, asks `api.auth` about
 * each client, and registers the `shs` transform with `identify`, all on this library's handshake.
 * `multiserverShs.rekey` (ours alone) turns on the rekey extension (docs/REKEY.md) as the
 * multiserver plugin's `rekey` does; each connection's `rpc.meta` tells what was agreed.
 */
import { fromString } from 'uint8arrays/from-string'
import { asKeyPair } from '../crypto/keys.ts'
import { NETWORK_KEY_BYTES, SEED_BYTES } from '../crypto/primitives.ts'
import { InvalidOptionError } from '../errors.ts'
import { type RekeyOption, checkRekeyOption } from '../handshake/rekey-options.ts'
import { checkGroup, checkOptions, checkTimeout, describeValue } from '../options.ts'
import { formatKey } from '../ssb/id.ts'
import { fromSsbKeys } from '../ssb/keys.ts'
import shs, { type ShsPluginOptions } from '../multiserver/shs.ts'
import { type PluginAdmissionOptions, checkPluginAdmission } from '../multiserver/admission.ts'
import { inVersion8Layout } from './config.ts'

type KeyText = string | Uint8Array

/** The parts of secret-stack's config this plugin reads. */
export interface SecretStackShsConfig {
  global: {
    caps?: { shs?: KeyText }
    appKey?: KeyText
    keys?: { public?: string, private?: string, publicKey?: Uint8Array, secretKey?: Uint8Array }
    seed?: Uint8Array
    timers?: { handshake?: number }
    timeout?: number
  }
  multiserverShs?: {
    cap?: KeyText
    seed?: Uint8Array
    /** The rekey extension, as the multiserver plugin's `rekey` (accepting: `prefer` or `require`; dialing: only `require` asks for it). */
    rekey?: RekeyOption
    /** The server side's admission under hostile load (docs/HOSTILE-LOAD.md); listen()'s defaults. */
    admission?: PluginAdmissionOptions
  }
}

interface SecretStackApi {
  id: string
  publicKey: string
  auth: (id: string, cb: (err: Error | null | undefined, auth?: unknown) => void) => void
  multiserver: { transform: (transform: { name: string, create: () => unknown, identify: (publicKey: Uint8Array) => unknown }) => unknown }
}

/** secret-stack's defaults: 15 s when the app configures timers, 5 s (its test setting) otherwise. */
const HANDSHAKE_TIMEOUT_WITH_TIMERS_MS = 15_000
const HANDSHAKE_TIMEOUT_DEFAULT_MS = 5_000

export const name = 'multiserver-shs'
export const version = '1.0.0'

/** `config` is secret-stack 8's (`{ global, multiserverShs }`) or the flat one of versions 6 and 7. */
export function init (api: SecretStackApi, given: SecretStackShsConfig | SecretStackShsConfig['global']): void {
  const checked = checkOptions(given, 'config')
  const config = inVersion8Layout(checked)
  // The whole config is checked here, at startup, naming each bad field by its path.
  const global = checkGroup(config.global, 'global') ?? {}
  const ours = checkGroup(config.multiserverShs, 'multiserverShs') ?? {}
  const flat = flatSection(checked)
  const rekey = checkRekeyOption(ours.rekey === undefined ? flat?.rekey : ours.rekey, 'multiserverShs.rekey')
  const admission = checkPluginAdmission(ours.admission === undefined ? flat?.admission : ours.admission, 'multiserverShs.admission')
  const timers = checkGroup(global.timers, 'global.timers')
  let timeout = timers?.handshake !== undefined
    ? checkTimeout(timers.handshake, 'global.timers.handshake')
    : timers !== undefined ? HANDSHAKE_TIMEOUT_WITH_TIMERS_MS : HANDSHAKE_TIMEOUT_DEFAULT_MS
  if (global.timeout !== undefined) timeout = checkTimeout(global.timeout, 'global.timeout')

  const caps = checkGroup(global.caps, 'global.caps')
  const capsShs = optionalKey(caps?.shs, 'global.caps.shs', NETWORK_KEY_BYTES)
  const appKey = optionalKey(global.appKey, 'global.appKey', NETWORK_KEY_BYTES)
  const cap = optionalKey(ours.cap, 'multiserverShs.cap', NETWORK_KEY_BYTES) ?? capsShs ?? appKey
  if (cap === undefined) {
    throw new InvalidOptionError('global.caps.shs', 'shs-transport/secret-stack must have caps.shs configured (the 32-byte network key, base64)')
  }
  const globalSeed = optionalSeed(global.seed, 'global.seed')
  const seed = optionalSeed(ours.seed, 'multiserverShs.seed') ?? globalSeed
  const keys = global.keys === undefined ? undefined : toKeys(global.keys)
  if (keys === undefined && seed === undefined) {
    throw new InvalidOptionError('global.keys', 'shs-transport/secret-stack needs config.keys (an ssb-keys object) or config.seed')
  }

  const plugin = shs({
    keys,
    seed,
    appKey: cap,
    timeout,
    rekey,
    admission,
    authenticate (publicKey, cb) {
      api.auth(`@${formatKey(publicKey)}.ed25519`, (err, auth) => {
        if (err !== null && err !== undefined) cb(err)
        else cb(null, auth ?? true)
      })
    }
  })
  const publicKey = plugin.publicKey as Buffer

  const id = `@${formatKey(publicKey)}.ed25519`
  api.id = id
  api.publicKey = id
  const identified = identify(publicKey)
  Object.defineProperty(api, 'shs', { get: () => identified })
  api.multiserver.transform({ name: 'shs', create: () => plugin, identify })
}

/**
 * A flat config (secret-stack 6 and 7) has no plugin sections for the stock plugin's settings,
 * but `multiserverShs.rekey` and `multiserverShs.admission` are ours alone: they are read there
 * too, so those versions can use them.
 */
function flatSection (given: SecretStackShsConfig | SecretStackShsConfig['global']): SecretStackShsConfig['multiserverShs'] {
  if ('global' in given) return undefined
  const flat = given as { multiserverShs?: SecretStackShsConfig['multiserverShs'] }
  return checkGroup(flat.multiserverShs, 'multiserverShs')
}

/** What secret-stack's core puts on each connection under the transform's name (`rpc.shs.pubkey`). */
export function identify (publicKey: Uint8Array): { readonly pubkey: string } {
  const pubkey = formatKey(publicKey)
  return { get pubkey () { return pubkey } }
}

/** `<base64>` or `<base64>.ed25519` (the form ssb-keys writes), or bytes, of `length` bytes; undefined if absent. */
function optionalKey (value: unknown, path: string, length: number): Uint8Array | undefined {
  if (value === undefined) return undefined
  let bytes: Uint8Array | undefined
  if (value instanceof Uint8Array) bytes = value
  else if (typeof value === 'string' && value !== '') bytes = decodeBase64(value)
  if (bytes?.byteLength !== length) {
    throw new InvalidOptionError(path, `${path} must be ${length} bytes, or their base64, got ${describeValue(value)}`)
  }
  return bytes
}

function optionalSeed (value: unknown, path: string): Uint8Array | undefined {
  if (value === undefined) return undefined
  if (!(value instanceof Uint8Array) || value.byteLength !== SEED_BYTES) {
    throw new InvalidOptionError(path, `${path} must be ${SEED_BYTES} bytes, got ${describeValue(value)}`)
  }
  return value
}

function decodeBase64 (text: string): Uint8Array | undefined {
  const dot = text.indexOf('.')
  try {
    return fromString(dot === -1 ? text : text.slice(0, dot), 'base64pad')
  } catch {
    return undefined
  }
}

function toKeys (keys: unknown): ShsPluginOptions['keys'] {
  const given = keys as NonNullable<SecretStackShsConfig['global']['keys']> | null
  if (typeof keys !== 'object' || given === null) {
    throw new InvalidOptionError('global.keys', `global.keys must be an ssb-keys object ({ public, private }), got ${describeValue(keys)}`)
  }
  if (typeof given.private === 'string') return fromSsbKeys({ public: given.public, private: given.private }, 'global.keys')
  return asKeyPair(given, 'global.keys')
}
