/**
 * `connect()` for whatever Scuttlebutt code holds: a host, port and key, or a multiserver address
 * (`net:HOST:PORT~shs:KEY;ws://HOST:PORT~shs:KEY`) whose alternatives are tried in order until
 * one completes the handshake.
 */
import { generateKeyPair } from '../crypto/keys.ts'
import { connect as connectTcp } from '../net/connect.ts'
import { checkOptions } from '../options.ts'
import type { SecureStream } from '../driver/types.ts'
import { checkCa, connectWebSocket } from '../ws/connect.ts'
import { checkWebSocketOptions } from '../ws/node-socket.ts'
import { checkAddressOptions, dialAlternatives } from './alternatives.ts'
import type { AddressConnectOptions, ConnectOptions } from './connect-options.ts'
import type { ShsEndpoint } from './endpoint.ts'

export type { AddressConnectOptions, ConnectOptions } from './connect-options.ts'

/** Connects to an SHS server over TCP (`host`, `port`, `remotePublicKey`) or at a multiserver `address`. */
export async function connect (options: ConnectOptions): Promise<SecureStream> {
  checkOptions(options)
  if (!('address' in options)) return await connectTcp(options)
  const { address, ...rest } = options
  // Misuse fails fast and locally, before any alternative is tried.
  checkAddressOptions(options)
  checkWebSocketOptions(rest)
  checkCa(rest.ca)
  return await dialAlternatives(address, async (endpoint) => await connectEndpoint(endpoint, rest))
}

/** One alternative; `shs:KEY:SEED` means: authenticate as the key pair grown from SEED. */
export async function connectEndpoint (endpoint: ShsEndpoint, options: Omit<AddressConnectOptions, 'address'>): Promise<SecureStream> {
  const { ca, pingInterval, ...handshake } = options
  const keys = endpoint.seed === undefined ? options.keys : generateKeyPair(endpoint.seed)
  const { remotePublicKey } = endpoint
  if (endpoint.transport === 'net') {
    return await connectTcp({ ...handshake, keys, remotePublicKey, host: endpoint.host, port: endpoint.port })
  }
  return await connectWebSocket({ ...handshake, keys, remotePublicKey, url: endpoint.url, ca, pingInterval })
}
