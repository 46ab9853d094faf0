/**
 * shs-transport for browsers (the `browser` export condition picks this entry): everything every
 * build has (`portable.ts`), the WebSocket client on the browser's own `WebSocket`, and
 * `connect()` with Node's options, dialling the ws:/wss: alternatives of an address. No TCP, no
 * listening, no Node streams: a page can do none of it.
 */
export * from './portable.ts'
export type { ConnectOptions as HostConnectOptions } from './net/connect.ts'
export type { AddressConnectOptions, ConnectOptions } from './ssb/connect-options.ts'
export { connect, connectEndpoint } from './ssb/browser-dial.ts'
export {
  MAX_UNREAD_BYTES, type WebSocketConnectOptions, connectWebSocket
} from './ws/browser.ts'
