/**
 * shs-transport: Secure Scuttlebutt's secret handshake (SHS1) and box stream.
 * The core (handshake, boxstream) is sans-IO; the exports below are its adapters.
 */
export {
  generateKeyPair, asKeyPair, asPublicKey, type KeyPair, type CheckedKeyPair, type Ed25519PublicKey, type Branded
} from './crypto/keys.ts'
export { PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, NETWORK_KEY_BYTES } from './crypto/primitives.ts'
export { SSB_NETWORK_KEY, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './constants.ts'
export type { ConnectOptions as HostConnectOptions } from './net/connect.ts'
export { listen, type ListenOptions, type Listener, type RemoteAddress } from './net/listen.ts'
export {
  Admission, DEFAULT_MAX_PENDING_HANDSHAKES, DEFAULT_MAX_PENDING_PER_SOURCE, type AdmissionEnvironment, type AdmissionOptions,
  type AdmissionTicket, type PenaltyOptions
} from './net/admission.ts'
export { sourceOf, type SourcePrefixes } from './net/source.ts'
export { DEFAULT_HELLO_TIMEOUT_MS, type GuardOptions } from './net/listen-guard.ts'
export type { ConnectionLimitOptions } from './net/connection-limits.ts'
export { openTcpSocket, type TcpTarget } from './net/tcp.ts'
export { formatHostPort } from './net/address.ts'
export { MAX_TIMEOUT_MS } from './options.ts'
export type { OnStream } from './net/server-callbacks.ts'
export { clientHandshake, serverHandshake } from './stream/handshake.ts'
export { toNodeDuplex } from './stream/node-duplex.ts'
export type {
  Authorize, ByteDuplex, ClientHandshakeOptions, HandshakeProgress, SecureStream, ServerHandshakeOptions
} from './stream/types.ts'
export type { MessageName } from './handshake/explain.ts'
export {
  SecretHandshake, type ClientHandshakeInit, type HandshakeAction, type HandshakeRole, type ServerHandshakeInit
} from './handshake/machine.ts'
export { type SessionKeys, sessionOutcome, wipeSession } from './handshake/session.ts'
export { BoxStreamEncoder } from './boxstream/encoder.ts'
export { BoxStreamDecoder } from './boxstream/decoder.ts'
export { MAX_BODY_BYTES, HEADER_BYTES } from './boxstream/constants.ts'
export {
  ShsError, InvalidKeyError, HandshakeError, HandshakeTimeoutError, AbortError, ConnectionError,
  BoxStreamError, InvalidOptionError, CallbackError, type ShsErrorCode
} from './errors.ts'
export * from './ssb/index.ts'
export { connectWebSocket, type WebSocketConnectOptions } from './ws/connect.ts'
export {
  listenWebSocket, type WebSocketListenOptions, type WebSocketListener, type WebSocketRemote
} from './ws/listen.ts'
export { type WebSocketDuplexOptions, webSocketDuplex } from './ws/duplex.ts'
