/**
 * What `connect()` takes, the same in Node and in a web page, so code written against it
 * compiles in both. Only portable types here: a page's build must not need Node's or `ws`'s.
 */
import type { ConnectOptions as HostConnectOptions } from '../net/connect.ts'
import type { ClientHandshakeOptions } from '../driver/types.ts'

export interface AddressConnectOptions extends Omit<ClientHandshakeOptions, 'remotePublicKey'> {
  /**
   * A multiserver address; the server key comes from its `~shs:KEY`. With several alternatives
   * (`;`), each is tried in turn, each with the whole `timeout`, until one completes the handshake.
   */
  address: string
  /** Node only, for `wss:`: certificate authorities to trust besides the system's (PEM). */
  ca?: string | Uint8Array | Array<string | Uint8Array>
  /** Node only: milliseconds between WebSocket pings (default: none). */
  pingInterval?: number | undefined
  /** Milliseconds the established connection may go without a byte either way (default: no limit). */
  idleTimeout?: number | undefined
}

export type ConnectOptions = HostConnectOptions | AddressConnectOptions
