/**
 * shs-transport for browsers (the `browser` export condition picks this entry): everything every
 * build has (`portable.ts`) and the WebSocket client on the browser's own `WebSocket`. No TCP, no
 * listening, no Node streams: a page can do none of it.
 */
export * from './portable.ts'
export {
  MAX_UNREAD_BYTES, type WebSocketConnectOptions, browserWebSocketDuplex, connectWebSocket
} from './ws/browser.ts'
