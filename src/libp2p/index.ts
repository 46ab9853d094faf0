/**
 * `shs-transport/libp2p`: Secure Scuttlebutt's secret handshake (SHS1) and box stream as a
 * js-libp2p 3 connection encrypter.
 *
 * ```ts
 * createLibp2p({ transports: [tcp()], connectionEncrypters: [shs({ networkKey })], streamMuxers: [yamux()] })
 * ```
 *
 * Dial addresses must end in `/p2p/<peer id>`: SHS only answers callers that already know the
 * server's public key. This module is the only part of shs-transport that loads libp2p.
 */
import type { ConnectionEncrypter } from '@libp2p/interface'
import { type ShsComponents, ShsEncrypter, type ShsInit, checkShsInit } from './encrypter.ts'

export { ShsEncrypter, type ShsComponents, type ShsInit } from './encrypter.ts'
export { SHS_PROTOCOL, SHS_MUXER_PROTOCOL, DEFAULT_LIBP2P_NETWORK_KEY } from './constants.ts'
export { RemotePeerRequiredError, UnsupportedPeerKeyError } from './errors.ts'
export type { ShsMessageStream } from './message-stream.ts'
export { shsAdmission, type ShsAdmission, type ShsAdmissionInit } from './admission.ts'

/** The connection encrypter factory for `createLibp2p({ connectionEncrypters: [shs()] })`. */
export function shs (init: ShsInit = {}): (components: ShsComponents) => ConnectionEncrypter {
  // A bad option fails here, where the node's config is written, not at node creation.
  checkShsInit(init)
  return (components) => new ShsEncrypter(components, init)
}
