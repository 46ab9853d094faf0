/**
 * `connect()` for whatever Scuttlebutt code holds: a host, port and key, or a multiserver address
 * (`net:HOST:PORT~shs:KEY;ws://HOST:PORT~shs:KEY`) whose alternatives are tried in order until
 * one completes the handshake.
 */
import { asKeyPair, asNetworkKey, generateKeyPair } from '../crypto/keys.ts'
import { AbortError, ConnectionError, InvalidOptionError, ShsError } from '../errors.ts'
import { type ConnectOptions as HostConnectOptions, connect as connectTcp } from '../net/connect.ts'
import { checkIdleTimeout } from '../net/idle.ts'
import { checkCallback, checkOptions, checkSignal, checkTimeout, describeValue } from '../options.ts'
import type { ClientHandshakeOptions, SecureStream } from '../stream/types.ts'
import { type WebSocketConnectOptions, checkCa, connectWebSocket } from '../ws/connect.ts'
import { checkWebSocketDuplexOptions } from '../ws/duplex.ts'
import { resolveAddress, type ShsEndpoint } from './endpoint.ts'
import { type AddressAttempt, AllAddressesFailedError, InvalidAddressError } from './errors.ts'

export interface AddressConnectOptions extends Omit<ClientHandshakeOptions, 'remotePublicKey'>,
  Pick<WebSocketConnectOptions, 'ca' | 'pingInterval' | 'idleTimeout'> {
  /**
   * A multiserver address; the server key comes from its `~shs:KEY`. With several alternatives
   * (`;`), each is tried in turn, each with the whole `timeout`, until one completes the handshake.
   */
  address: string
}

export type ConnectOptions = HostConnectOptions | AddressConnectOptions

/**
 * The most alternatives one address may list. Real ones have a few (net, ws, onion); each costs a
 * dial and a line in the error, so a longer list is refused instead of tried.
 */
export const MAX_ADDRESS_ALTERNATIVES = 16

/** Connects to an SHS server over TCP (`host`, `port`, `remotePublicKey`) or at a multiserver `address`. */
export async function connect (options: ConnectOptions): Promise<SecureStream> {
  checkOptions(options)
  if (!('address' in options)) return await connectTcp(options)
  const { address, ...rest } = options
  // Misuse fails fast and locally, before any alternative is tried.
  if (typeof address !== 'string') {
    throw new InvalidOptionError('address', `address must be a multiserver address (net:HOST:PORT~shs:KEY), got ${describeValue(address)}`)
  }
  asKeyPair(rest.keys)
  asNetworkKey(rest.networkKey)
  checkTimeout(rest.timeout)
  checkSignal(rest.signal)
  checkCallback(rest.onHandshakeProgress, 'onHandshakeProgress')
  checkIdleTimeout(rest.idleTimeout)
  checkWebSocketDuplexOptions(rest)
  checkCa(rest.ca)
  const resolved = resolveAddress(address)
  if (resolved.length > MAX_ADDRESS_ALTERNATIVES) {
    throw new InvalidAddressError(`the address lists ${resolved.length} alternatives; at most ${MAX_ADDRESS_ALTERNATIVES} are tried: ` +
      'check where it came from')
  }
  const attempts: AddressAttempt[] = []
  for (const alternative of resolved) {
    if ('unusable' in alternative) {
      attempts.push({ address: alternative.text, error: new InvalidAddressError(alternative.unusable) })
      continue
    }
    try {
      return await connectEndpoint(alternative.endpoint, rest)
    } catch (err) {
      const error = err instanceof ShsError ? err : new ConnectionError(String(err), { cause: err })
      // The caller gave up: trying the next address would ignore their wish.
      if (error instanceof AbortError) throw error
      attempts.push({ address: alternative.text, error })
    }
  }
  // One alternative: its own error says it best.
  if (attempts.length === 1) throw (attempts[0] as AddressAttempt).error
  throw new AllAddressesFailedError(attempts)
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
