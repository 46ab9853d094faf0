/**
 * `connect()` in a web page, with the options of Node's (./dial.ts): the `ws:` and `wss:`
 * alternatives of a multiserver address, dialled in order on the browser's own WebSocket. A page
 * cannot open TCP, so a `net:` alternative fails with a TcpUnavailableError (the next one is
 * tried, as Node does with an alternative it cannot dial), and so does the host-and-port form.
 * `ca` and `pingInterval` are the browser's to decide: given, they are refused.
 */
import { generateKeyPair } from '../crypto/keys.ts'
import { InvalidOptionError } from '../errors.ts'
import { checkOptions } from '../options.ts'
import type { SecureStream } from '../driver/types.ts'
import { connectWebSocket } from '../ws/browser.ts'
import { checkAddressOptions, dialAlternatives } from './alternatives.ts'
import type { AddressConnectOptions, ConnectOptions } from './connect-options.ts'
import type { ShsEndpoint } from './endpoint.ts'
import { TcpUnavailableError } from './errors.ts'

/** Why a page cannot take each Node-only option. */
const BROWSER_DECIDES = {
  ca: 'the browser alone decides which certificates wss: trusts: install the CA in the browser, or use a certificate it trusts',
  pingInterval: 'the browser alone decides when to ping a WebSocket: pass pingInterval only in Node'
} as const

export async function connect (options: ConnectOptions): Promise<SecureStream> {
  checkOptions(options)
  if (!('address' in options)) throw new TcpUnavailableError('connect({ host, port })')
  const { address, ...rest } = options
  // Misuse fails fast and locally, before any alternative is tried, as in Node.
  checkAddressOptions(options)
  refuseNodeOnly(rest)
  return await dialAlternatives(address, async (endpoint) => await connectEndpoint(endpoint, rest))
}

/** One alternative; `shs:KEY:SEED` means: authenticate as the key pair grown from SEED. */
export async function connectEndpoint (endpoint: ShsEndpoint, options: Omit<AddressConnectOptions, 'address'>): Promise<SecureStream> {
  refuseNodeOnly(options)
  if (endpoint.transport === 'net') throw new TcpUnavailableError('net: addresses')
  const { networkKey, timeout, signal, onHandshakeProgress, idleTimeout, earlyData, rekey } = options
  const keys = endpoint.seed === undefined ? options.keys : generateKeyPair(endpoint.seed)
  return await connectWebSocket({
    keys, networkKey, timeout, signal, onHandshakeProgress, idleTimeout, earlyData, rekey, remotePublicKey: endpoint.remotePublicKey, url: endpoint.url
  })
}

function refuseNodeOnly (options: Pick<AddressConnectOptions, 'ca' | 'pingInterval'>): void {
  for (const option of ['ca', 'pingInterval'] as const) {
    if (options[option] !== undefined) throw new InvalidOptionError(option, `${option} does not work in a web page: ${BROWSER_DECIDES[option]}`)
  }
}
