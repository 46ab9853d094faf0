/**
 * shs-transport: Secure Scuttlebutt's secret handshake (SHS1) and box stream.
 * The core (handshake, boxstream) is sans-IO; `portable.ts` is what every build exports, and the
 * exports below add Node's transports: TCP, Node streams and WebSocket servers and clients.
 */
export * from './portable.ts'
export type { ConnectOptions as HostConnectOptions } from './net/connect.ts'
export { listen, NO_REMOTE, type ListenOptions, type Listener, type ListenerStats, type RemoteAddress } from './net/listen.ts'
export { AcceptError } from './errors.ts'
export { ACCEPT_PROBE_INTERVAL_MS } from './net/accept-errors.ts'
export {
  Admission, DEFAULT_MAX_PENDING_HANDSHAKES, DEFAULT_MAX_PENDING_PER_SOURCE, type AdmissionEnvironment, type AdmissionOptions,
  type AdmissionTicket, type PenaltyOptions
} from './net/admission.ts'
export { sourceOf, type SourcePrefixes } from './net/source.ts'
export { DEFAULT_HELLO_TIMEOUT_MS, type GuardOptions } from './net/listen-guard.ts'
export type { ConnectionLimitOptions } from './net/connection-limits.ts'
export { openTcpSocket, type TcpTarget } from './net/tcp.ts'
export { formatHostPort } from './net/address.ts'
export type { OnStream, ServerCallbacks, ServerOptions } from './net/server-callbacks.ts'
export { type SecureNodeDuplex, toNodeDuplex } from './node-stream/node-duplex.ts'
export { type AddressConnectOptions, type ConnectOptions, connect, connectEndpoint } from './ssb/dial.ts'
export { connectWebSocket, type Pem, type WebSocketConnectOptions } from './ws/connect.ts'
export {
  listenWebSocket, type WebSocketListenOptions, type WebSocketListener, type WebSocketRemote
} from './ws/listen.ts'
export { type AcceptWebSocketOptions, acceptWebSocket } from './ws/accept.ts'
export type { WebSocketOptions } from './ws/node-socket.ts'
