/**
 * `shs-transport/multiserver`: `require('shs-transport/multiserver')` (CommonJS, through Node's require(esm))
 * and `import shs from 'shs-transport/multiserver'` both give the plugin function, so replacing
 * `require('multiserver/plugins/shs')` is the whole migration.
 */
import shs from './shs.ts'

export default shs
export { shs as 'module.exports' }
export { parse, type AuthCallback, type ShsAddress, type ShsPlugin, type ShsPluginOptions, type ShsPullStream, type ShsStreamMeta } from './shs.ts'
export type { PluginAdmissionOptions } from './admission.ts'
export type { PullCallback, PullDuplex, PullEnd, PullSink, PullSource } from './pull.ts'
export { PeerGoneError } from './network-errors.ts'
