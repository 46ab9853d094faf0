/** The options of the two runners, their defaults, and the checks done on them at the call. */
import type { KeyPair } from '../crypto/keys.ts'
import { InvalidOptionError } from '../errors.ts'
import { MAX_TIMEOUT_MS, checkCallback, integerOption } from '../options.ts'
import type { ShsEndpoint } from '../ssb/endpoint.ts'
import type { CheckResult, Limits } from './types.ts'
import type { TrustedCa } from './wire/ws.ts'

export const DEFAULT_REPLY_TIMEOUT_MS = 5_000
/**
 * The stall limit: a peer that keeps a stalled handshake longer fails. 20 s is twice the
 * handshake timeout of shs (10 s) and four times the reference secret-handshake's (5 s): a
 * peer past it holds half-done handshakes long enough for a slow flood to exhaust it.
 */
export const DEFAULT_STALL_LIMIT_MS = 20_000
export const DEFAULT_START_TIMEOUT_MS = 10_000

/** So that a check's budget (a few reply timeouts, and the stall limit) still fits in a timer. */
const MAX_REPLY_TIMEOUT_MS = Math.floor(MAX_TIMEOUT_MS / 20)
const MAX_STALL_LIMIT_MS = Math.floor(MAX_TIMEOUT_MS / 2)

export interface RunOptions {
  /** Run only these checks: ids, or prefixes such as `hs`, `bs`, `hs.small-order`. */
  readonly only?: readonly string[] | undefined
  /** Leave these out (ids or prefixes). */
  readonly skip?: readonly string[] | undefined
  /** How long to wait for each reply, for a hang-up after a bad message, or for a client to exit (default 5000 ms). */
  readonly replyTimeout?: number | undefined
  /** The longest a peer may keep a stalled handshake (default 20000 ms). */
  readonly stallLimit?: number | undefined
  /** Once the target is there (a command's server accepts connections), before the first check: the target in words. */
  readonly onStart?: ((target: string) => void) | undefined
  /** Each result as its check finishes (the stall checks come last). */
  readonly onResult?: ((result: CheckResult) => void) | undefined
  /** The stderr of the command under test as it comes; without it, stderr is only scanned for crash reports. */
  readonly onPeerStderr?: ((chunk: Uint8Array) => void) | undefined
}

/** A server someone runs, at a multiserver address (`net:HOST:PORT~shs:KEY`, `ws://…~shs:KEY`, `wss://…`). */
export interface ServerAddressOptions extends RunOptions {
  /** The address (its first net or ws alternative is used), or an endpoint from `parseEndpoints`. */
  readonly address: string | ShsEndpoint
  /** The server's network key (default: the SSB main network's). */
  readonly networkKey?: Uint8Array | undefined
  /** Our client identity (default: a fresh one), for a server that only accepts listed clients. */
  readonly keys?: KeyPair | undefined
  /** For `wss:`: certificate authorities to trust besides the system's (PEM). */
  readonly ca?: TrustedCa | undefined
}

/** A server the runner starts with `sh -c command` (once, and again after it exited). */
export interface ServerCommandOptions extends RunOptions {
  readonly command: string
  /** The network key handed to the command (default: a random one per run). */
  readonly networkKey?: Uint8Array | undefined
  /** How long the server may take to accept connections (default 10000 ms). */
  readonly startTimeout?: number | undefined
}

export type ServerCheckOptions = ServerAddressOptions | ServerCommandOptions

/** A netcat-like client the runner starts with `sh -c command`, once per connection it needs. */
export interface ClientCheckOptions extends RunOptions {
  readonly command: string
  /** The network key handed to the command (default: a random one per run). */
  readonly networkKey?: Uint8Array | undefined
}

export function resolveLimits (options: RunOptions): Limits {
  checkCallback(options.onStart, 'onStart')
  checkCallback(options.onResult, 'onResult')
  checkCallback(options.onPeerStderr, 'onPeerStderr')
  return {
    replyTimeout: integerOption('replyTimeout', options.replyTimeout, DEFAULT_REPLY_TIMEOUT_MS, { min: 1, max: MAX_REPLY_TIMEOUT_MS }),
    stallLimit: integerOption('stallLimit', options.stallLimit, DEFAULT_STALL_LIMIT_MS, { min: 1, max: MAX_STALL_LIMIT_MS })
  }
}

export function resolveStartTimeout (options: ServerCommandOptions): number {
  return integerOption('startTimeout', options.startTimeout, DEFAULT_START_TIMEOUT_MS, { min: 1, max: MAX_TIMEOUT_MS })
}

export function checkCommand (command: unknown): string {
  if (typeof command !== 'string' || command.trim() === '') {
    throw new InvalidOptionError('command', `command must be the shell command that starts the implementation under test, got ${JSON.stringify(command)}`)
  }
  return command
}
