/**
 * What every build of shs-transport exports, Node's and the browser's alike: the sans-IO core,
 * the handshakes over any it-pipe duplex, the errors, and Scuttlebutt's key and address formats.
 * `index.ts` (Node) and `browser.ts` add their own transports to it.
 */
export {
  generateKeyPair, asKeyPair, asPublicKey, type KeyPair, type CheckedKeyPair, type Ed25519PublicKey, type Branded
} from './crypto/keys.ts'
export { PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, NETWORK_KEY_BYTES } from './crypto/primitives.ts'
export { SSB_NETWORK_KEY, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './constants.ts'
export { MAX_TIMEOUT_MS } from './options.ts'
export { clientHandshake, serverHandshake } from './duplex/handshake.ts'
export type {
  Authorize, ByteDuplex, ClientHandshakeOptions, HandshakeProgress, SecureStream, ServerHandshakeOptions
} from './driver/types.ts'
export type { RekeyView } from './driver/rekey-view.ts'
export type { MessageName } from './handshake/explain.ts'
export {
  SecretHandshake, type ClientHandshakeInit, type HandshakeAction, type HandshakeRole, type ServerHandshakeInit
} from './handshake/machine.ts'
export { type SessionKeys, type SessionRekey, sessionOutcome, wipeSession } from './handshake/session.ts'
export {
  DEFAULT_REKEY_AFTER_BYTES, DEFAULT_REKEY_AFTER_MS, DEFAULT_REKEY_TIMEOUT_MS, MIN_REKEY_AFTER_BYTES, MIN_REKEY_AFTER_MS,
  type RekeyMode, type RekeyOption, type RekeyOptions, type RekeySettings
} from './handshake/rekey-options.ts'
export { PEER_REKEY_BURST, PEER_REKEY_INTERVAL_MS, LOCAL_REKEY_BURST, LOCAL_REKEY_INTERVAL_MS } from './connection/rekey.ts'
export { BoxStream, type BoxStreamEvent, type BoxStreamOptions, type DirectionState, type Goodbye } from './connection/box-stream.ts'
export { BoxStreamEncoder, type NextKey } from './boxstream/encoder.ts'
export { BoxStreamDecoder, type ControlHandler, type PushOptions } from './boxstream/decoder.ts'
export { MAX_BODY_BYTES, HEADER_BYTES } from './boxstream/constants.ts'
export {
  ShsError, InvalidKeyError, HandshakeError, HandshakeTimeoutError, AbortError, ConnectionError,
  BoxStreamError, InvalidOptionError, CallbackError, type ShsErrorCode
} from './errors.ts'
export { formatId, formatKey, parseId } from './ssb/id.ts'
export { type SsbKeys, fromSsbKeys, toSsbKeys, formatSecretFile, parseSecretFile } from './ssb/keys.ts'
export {
  type MultiserverAddress, type MultiserverProtocol, formatMultiserverAddress, parseMultiserverAddress
} from './ssb/address.ts'
export {
  type NetEndpoint, type ResolvedAlternative, type ShsEndpoint, type WsEndpoint,
  formatNetAddress, formatWsAddress, parseEndpoints, resolveAddress
} from './ssb/endpoint.ts'
export { type AddressAttempt, AllAddressesFailedError, InvalidAddressError, TcpUnavailableError } from './ssb/errors.ts'
export { MAX_ADDRESS_ALTERNATIVES } from './ssb/alternatives.ts'
