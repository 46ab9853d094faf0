/** The WebSocket URL a client dials, checked at the call (Node's and the browser's client alike). */
import { InvalidOptionError } from '../errors.ts'
import { describeValue } from '../options.ts'

export function checkWebSocketUrl (value: unknown): string {
  let url: URL | undefined
  if (typeof value === 'string') {
    try {
      url = new URL(value)
    } catch {
      url = undefined
    }
  }
  if (url === undefined || (url.protocol !== 'ws:' && url.protocol !== 'wss:')) {
    throw new InvalidOptionError('url', `url must be a ws:// or wss:// URL (ws://HOST:PORT, the part of a multiserver address before ~shs:), got ${describeValue(value)}`)
  }
  return value as string
}
