/**
 * The alternatives of a multiserver address (`net:…~shs:KEY;ws://…~shs:KEY`), tried in order
 * until one completes the handshake: the loop that Node's and the browser's `connect()` share,
 * each with its own way to dial one alternative.
 */
import { asKeyPair, asNetworkKey } from '../crypto/keys.ts'
import { checkEarlyData } from '../handshake/early-data.ts'
import { checkRekeyOption } from '../handshake/rekey-options.ts'
import { AbortError, ConnectionError, InvalidOptionError, ShsError } from '../errors.ts'
import { checkCallback, checkSignal, checkTimeout, describeValue, optionalDuration } from '../options.ts'
import type { SecureStream } from '../driver/types.ts'
import type { AddressConnectOptions } from './connect-options.ts'
import { resolveAddress, type ShsEndpoint } from './endpoint.ts'
import { type AddressAttempt, AllAddressesFailedError, InvalidAddressError } from './errors.ts'

/**
 * The most alternatives one address may list. Real ones have a few (net, ws, onion); each costs a
 * dial and a line in the error, so a longer list is refused instead of tried.
 */
export const MAX_ADDRESS_ALTERNATIVES = 16

/**
 * The options of `connect({ address })` that every build takes, checked before anything is
 * dialled, so misuse fails fast and locally; each build then checks its own (`ca`, pings).
 */
export function checkAddressOptions (options: AddressConnectOptions): void {
  if (typeof options.address !== 'string') {
    throw new InvalidOptionError('address', `address must be a multiserver address (net:HOST:PORT~shs:KEY), got ${describeValue(options.address)}`)
  }
  asKeyPair(options.keys)
  asNetworkKey(options.networkKey)
  checkTimeout(options.timeout)
  checkSignal(options.signal)
  checkCallback(options.onHandshakeProgress, 'onHandshakeProgress')
  optionalDuration(options.idleTimeout, 'idleTimeout')
  checkEarlyData(options.earlyData)
  checkRekeyOption(options.rekey)
}

/**
 * Dials each alternative with `dial` until one works. One alternative that fails throws its own
 * error; several throw an AllAddressesFailedError naming each. An AbortError stops the list.
 */
export async function dialAlternatives (address: string, dial: (endpoint: ShsEndpoint) => Promise<SecureStream>): Promise<SecureStream> {
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
      return await dial(alternative.endpoint)
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
