/**
 * shs-transport: Secure Scuttlebutt's secret handshake (SHS1) and box stream.
 * The core (handshake, boxstream) is sans-IO; the exports below are its adapters.
 */
export { generateKeyPair, asKeyPair, asPublicKey, type KeyPair } from './crypto/keys.ts'
export { PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, NETWORK_KEY_BYTES } from './crypto/primitives.ts'
export { SSB_NETWORK_KEY, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './constants.ts'
export { connect, type ConnectOptions } from './net/connect.ts'
export { openTcpSocket, type TcpTarget } from './net/tcp.ts'
export { formatHostPort } from './net/address.ts'
export { listen, DEFAULT_MAX_PENDING_HANDSHAKES, type ListenOptions, type Listener, type RemoteAddress } from './net/listen.ts'
export { MAX_TIMEOUT_MS } from './options.ts'
export { clientHandshake, serverHandshake } from './stream/handshake.ts'
export { toNodeDuplex } from './stream/node-duplex.ts'
export type {
  Authorize, ByteDuplex, ClientHandshakeOptions, HandshakeProgress, SecureStream, ServerHandshakeOptions
} from './stream/types.ts'
export type { MessageName } from './handshake/explain.ts'
export { SecretHandshake, type HandshakeAction, type HandshakeRole } from './handshake/machine.ts'
export { type SessionKeys, sessionOutcome, wipeSession } from './handshake/session.ts'
export { BoxStreamEncoder } from './boxstream/encoder.ts'
export { BoxStreamDecoder } from './boxstream/decoder.ts'
export { MAX_BODY_BYTES, HEADER_BYTES } from './boxstream/constants.ts'
export {
  ShsError, InvalidKeyError, HandshakeError, HandshakeTimeoutError, AbortError, ConnectionError,
  BoxStreamError, InvalidOptionError, CallbackError, type ShsErrorCode
} from './errors.ts'
