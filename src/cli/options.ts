/** Options several commands share, defined once so their names and help read the same everywhere. */
import { InvalidArgumentError, Option } from 'commander'
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../index.ts'
import { NETWORK_KEY_HELP } from './network-key.ts'
import { DEFAULT_KEYS_HELP } from './paths.ts'
import { PROGRESS_ENV, PROGRESS_FORCE } from './progress.ts'

export interface CommonOptions {
  keys?: string
  networkKey?: string
  timeout: number
  verbose?: boolean
}

export function keysOption (): Option {
  // -i as ssh's identity file; -k is listen's --keep-listening, as nc's.
  return new Option('-i, --keys <file>', `secret key file (default: ${DEFAULT_KEYS_HELP})`)
}

export function networkKeyOption (): Option {
  return new Option('-n, --network-key <key>', NETWORK_KEY_HELP)
}

export function timeoutOption (description: string): Option {
  return new Option('-t, --timeout <ms>', description)
    .default(DEFAULT_HANDSHAKE_TIMEOUT_MS)
    .argParser(parsePositiveInteger)
}

export function verboseOption (): Option {
  return new Option('-v, --verbose', 'print handshake stages and their timing on stderr')
}

export function progressOption (): Option {
  return new Option('-p, --progress', 'show bytes moved and the rate on stderr, like pv; only when stderr is a ' +
    `terminal, unless ${PROGRESS_ENV}=${PROGRESS_FORCE} is set`)
}

/** `--idle-timeout`: milliseconds without a byte either way before a connection is closed; 0 for none. */
export function idleTimeoutOption (description: string): Option {
  return new Option('--idle-timeout <ms>', description).argParser(parseNonNegativeInteger)
}

/** A count limit: a whole number above 0. */
export function limitOption (flags: string, description: string, fallback: number): Option {
  return new Option(flags, description).default(fallback).argParser(parsePositiveInteger)
}

export function parseNonNegativeInteger (text: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError('expected a whole number, 0 or more')
  return value
}

export function parsePositiveInteger (text: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN
  if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidArgumentError('expected a whole number above 0')
  return value
}
