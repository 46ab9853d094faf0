/**
 * A secret-stack 6, 7 or 8 plugin that takes the place of `secret-stack/plugins/shs`: it reads the same
 * config (`caps.shs` or `appKey`, `keys`, `seed`, `timers.handshake`, `timeout`,
 * `multiserverShs`), sets the same `api.id`, `api.publicKey` and `api.shs`, asks `api.auth` about
 * each client, and registers the `shs` transform with `identify`, all on this library's handshake.
 */
import { fromString } from 'uint8arrays/from-string'
import { formatKey } from '../ssb/id.ts'
import shs, { type ShsPluginOptions } from '../multiserver/shs.ts'
import { inVersion8Layout } from './config.ts'

/** The parts of secret-stack's config this plugin reads. */
export interface SecretStackShsConfig {
  global: {
    caps?: { shs?: string | Uint8Array }
    appKey?: string | Uint8Array
    keys?: { public?: string, private?: string, publicKey?: Uint8Array, secretKey?: Uint8Array }
    seed?: Uint8Array
    timers?: { handshake?: number }
    timeout?: number
  }
  multiserverShs?: { cap?: string | Uint8Array, seed?: Uint8Array }
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
  const config = inVersion8Layout(given)
  const global = config.global
  let timeout = typeof global.timers?.handshake === 'number' && global.timers.handshake > 0
    ? global.timers.handshake
    : global.timers !== undefined ? HANDSHAKE_TIMEOUT_WITH_TIMERS_MS : HANDSHAKE_TIMEOUT_DEFAULT_MS
  if (typeof global.timeout === 'number' && global.timeout > 0) timeout = global.timeout

  const cap = config.multiserverShs?.cap ?? global.caps?.shs ?? global.appKey
  if (cap === undefined || cap === '') throw new Error('shs-transport/secret-stack must have caps.shs configured')
  const seed = config.multiserverShs?.seed ?? global.seed

  const plugin = shs({
    keys: global.keys === undefined ? undefined : toKeys(global.keys),
    seed,
    appKey: toBytes(cap),
    timeout,
    authenticate (publicKey, cb) {
      api.auth(`@${formatKey(publicKey)}.ed25519`, (err, auth) => {
        if (err !== null && err !== undefined) cb(err)
        else cb(null, auth ?? true)
      })
    }
  })
  if (plugin.publicKey === undefined) throw new Error('shs-transport/secret-stack needs config.keys or config.seed')

  const id = `@${formatKey(plugin.publicKey)}.ed25519`
  api.id = id
  api.publicKey = id
  const identified = identify(plugin.publicKey)
  Object.defineProperty(api, 'shs', { get: () => identified })
  api.multiserver.transform({ name: 'shs', create: () => plugin, identify })
}

/** What secret-stack's core puts on each connection under the transform's name (`rpc.shs.pubkey`). */
export function identify (publicKey: Uint8Array): { readonly pubkey: string } {
  const pubkey = formatKey(publicKey)
  return { get pubkey () { return pubkey } }
}

/** `<base64>` or `<base64>.ed25519` (the form ssb-keys writes), or bytes. */
function toBytes (value: string | Uint8Array): Uint8Array {
  if (typeof value !== 'string') return value
  const dot = value.indexOf('.')
  return fromString(dot === -1 ? value : value.slice(0, dot), 'base64pad')
}

function toKeys (keys: NonNullable<SecretStackShsConfig['global']['keys']>): ShsPluginOptions['keys'] {
  if (typeof keys.public === 'string' && typeof keys.private === 'string') {
    return { publicKey: toBytes(keys.public), secretKey: toBytes(keys.private) }
  }
  return keys as ShsPluginOptions['keys']
}
