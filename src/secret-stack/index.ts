/**
 * `shs-transport/secret-stack`: `.use(require('shs-transport/secret-stack'))` (CommonJS, through
 * Node's require(esm)) or `.use(plugin)` after `import plugin from 'shs-transport/secret-stack'`, where
 * `secret-stack/plugins/shs` used to be.
 */
import { init, name, version } from './plugin.ts'

const plugin = { name, version, init }

export default plugin
export { plugin as 'module.exports' }
export { identify, type SecretStackShsConfig } from './plugin.ts'
export { PeerGoneError } from '../multiserver/network-errors.ts'
