/** Errors of the Scuttlebutt layer that the core does not know about. */
import { ShsError } from '../errors.ts'

/** A multiserver address that does not parse, or that names nothing we can dial. */
export class InvalidAddressError extends ShsError {
  /** The option an address comes in, as with `InvalidOptionError`. */
  readonly option = 'address'

  constructor (message: string) {
    super('ERR_SHS_INVALID_ADDRESS', message)
    this.name = 'InvalidAddressError'
  }
}

/** In a web page: a `net:` address, or a host and port, which need TCP; a page can open only WebSockets. */
export class TcpUnavailableError extends InvalidAddressError {
  /** `what` is what needed TCP: "net: addresses", "connect({ host, port })". */
  constructor (what: string) {
    super(`a web page cannot open TCP connections, which ${what} need: dial the peer's ws: or wss: address ` +
      '(ws://HOST:PORT~shs:KEY, which multiserver lists after ";" where a peer has one)')
    this.name = 'TcpUnavailableError'
  }
}

/** One alternative of a multiserver address that was tried, or skipped, and why it did not work. */
export interface AddressAttempt {
  /** The alternative, as written. */
  readonly address: string
  readonly error: ShsError
}

/** Every alternative of an address list failed; `attempts` says why each one did, in order. */
export class AllAddressesFailedError extends ShsError {
  readonly attempts: readonly AddressAttempt[]

  constructor (attempts: readonly AddressAttempt[]) {
    super('ERR_SHS_ALL_ADDRESSES_FAILED', `none of the ${attempts.length} addresses worked:\n` +
      attempts.map((attempt, i) => `  ${i + 1}. ${attempt.address}: ${attempt.error.message}`).join('\n'))
    this.name = 'AllAddressesFailedError'
    this.attempts = attempts
  }
}
