/** Scuttlebutt's ways of writing peers down: ids, ssb-keys secrets and multiserver addresses. */
export { formatId, formatKey, parseId } from './id.ts'
export { type SsbKeys, fromSsbKeys, toSsbKeys, formatSecretFile, parseSecretFile } from './keys.ts'
export {
  type MultiserverAddress, type MultiserverProtocol, formatMultiserverAddress, parseMultiserverAddress
} from './address.ts'
export {
  type NetEndpoint, type ResolvedAlternative, type ShsEndpoint, type WsEndpoint,
  formatNetAddress, formatWsAddress, parseEndpoints, resolveAddress
} from './endpoint.ts'
export { type AddressAttempt, AllAddressesFailedError, InvalidAddressError } from './errors.ts'
export { type AddressConnectOptions, type ConnectOptions, connect, connectEndpoint } from './dial.ts'
