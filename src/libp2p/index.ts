/**
 * `shs-transport/libp2p`: Secure Scuttlebutt's secret handshake (SHS1) and box stream as a
 * js-libp2p 3 connection encrypter.
 *
 * ```ts
 * createLibp2p({ transports: [tcp()], connectionEncrypters: [shs({ networkKey })], streamMuxers: [yamux()] })
 * ```
 *
 * With the rekey extension: `connectionEncrypters: shsEncrypters({ networkKey, rekey: 'prefer' })`.
 *
 * Dial addresses must end in `/p2p/<peer id>`: SHS only answers callers that already know the
 * server's public key. This module is the only part of shs-transport that loads libp2p.
 */
import type { ConnectionEncrypter } from '@libp2p/interface'
import { InvalidOptionError } from '../errors.ts'
import { type ShsComponents, ShsEncrypter, type ShsInit, checkShsInit } from './encrypter.ts'

export { ShsEncrypter, type ShsComponents, type ShsInit, type ShsSecured } from './encrypter.ts'
export {
  SHS_PROTOCOL, SHS_MUXER_PROTOCOL, SHS_REKEY_PROTOCOL, SHS_REKEY_MUXER_PROTOCOL, DEFAULT_LIBP2P_NETWORK_KEY
} from './constants.ts'
export { RemotePeerRequiredError, UnsupportedPeerKeyError } from './errors.ts'
export type { ShsMessageStream } from './message-stream.ts'
export { shsAdmission, type ShsAdmission, type ShsAdmissionInit } from './admission.ts'
export type { RekeyMode, RekeyOption, RekeyOptions } from '../handshake/rekey-options.ts'

/** What `connectionEncrypters` lists: a factory libp2p calls with the node's components. */
export type ShsFactory = (components: ShsComponents) => ConnectionEncrypter

/**
 * The connection encrypter factory for `createLibp2p({ connectionEncrypters: [shs()] })`: one
 * encrypter, one protocol id. With `rekey` it speaks only the extension's id, which is what
 * `'require'` means; `'prefer'` needs the plain id listed after it: `shsEncrypters()`.
 */
export function shs (init: ShsInit = {}): ShsFactory {
  // A bad option fails here, where the node's config is written, not at node creation.
  const checked = checkShsInit(init)
  if (checked.rekey?.mode === 'prefer') {
    throw new InvalidOptionError('rekey', 'shs() makes one encrypter with one protocol id, so it cannot fall back ' +
      'to plain SHS1 by itself: for rekey \'prefer\' write connectionEncrypters: shsEncrypters({ rekey: \'prefer\' }) ' +
      '(the extension\'s id, then the plain one); for the extension alone, rekey: \'require\' (or { mode: \'require\' })')
  }
  return (components) => new ShsEncrypter(components, init)
}

/**
 * The encrypters for `createLibp2p({ connectionEncrypters: shsEncrypters({ rekey }) })`, in
 * multistream-select's order: the rekey extension's id first, so two nodes that have it agree
 * on it, then (unless `'require'`) the plain id, which a node without it answers. Without
 * `rekey`, just `[shs(init)]`. Spread it to list other encrypters after it.
 */
export function shsEncrypters (init: ShsInit = {}): ShsFactory[] {
  const { rekey } = checkShsInit(init)
  if (rekey === undefined) return [shs(init)]
  const extension: ShsFactory = (components) => new ShsEncrypter(components, init)
  if (rekey.mode === 'require') return [extension]
  return [extension, shs({ ...init, rekey: false })]
}
