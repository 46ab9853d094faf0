/**
 * The rekey extension on the command line (docs/CLI.md, "Fresh keys during a session"): the
 * `--rekey` flags, the library option they make, and what --verbose says about a session's keys.
 */
import { InvalidArgumentError, Option } from 'commander'
import {
  DEFAULT_REKEY_AFTER_BYTES, DEFAULT_REKEY_AFTER_MS, DEFAULT_REKEY_TIMEOUT_MS, MAX_TIMEOUT_MS,
  MIN_REKEY_AFTER_BYTES, MIN_REKEY_AFTER_MS, type RekeyOption, type SecureStream
} from '../index.ts'
import { CliError } from './errors/cli-error.ts'
import { EXIT } from './exit-codes.ts'
import { formatBytes } from './progress.ts'

/** The library's two modes, and `off`: plain SHS1 only, as a peer without the extension. */
export type RekeyChoice = 'off' | 'prefer' | 'require'

const CHOICES: readonly RekeyChoice[] = ['prefer', 'require', 'off']

/** The flags as commander hands them over; `rekey` is undefined when not given. */
export interface RekeyFlags {
  rekey?: RekeyChoice
  rekeyAfterBytes?: number
  rekeyAfterMs?: number
  rekeyTimeout?: number
}

/** What a command runs with: off, or a mode and its effective triggers (the defaults filled in). */
export type RekeyPlan =
  | { readonly mode: 'off' }
  | { readonly mode: 'prefer' | 'require', readonly afterBytes: number, readonly afterMs: number, readonly timeout: number }

const BYTE_SUFFIXES: Readonly<Record<string, number>> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }

/** `--rekey [mode]` with the command's own description, then the three settings both commands share. */
export function rekeyOptions (description: string): Option[] {
  return [
    new Option('--rekey [mode]', description).preset('prefer').argParser(parseChoice),
    new Option('--rekey-after-bytes <n>', 'with the rekey extension: take fresh keys once this side sent N bytes since ' +
      `the last rekey (K, M, G: KiB, MiB, GiB; default ${formatBytes(DEFAULT_REKEY_AFTER_BYTES)}, at least 1M)`).argParser(parseByteCount),
    new Option('--rekey-after-ms <ms>', 'with the rekey extension: take fresh keys once this many milliseconds passed ' +
      `since the last rekey (default ${DEFAULT_REKEY_AFTER_MS}, at least ${MIN_REKEY_AFTER_MS})`).argParser(parseInterval),
    new Option('--rekey-timeout <ms>', 'with the rekey extension: drop a peer that does not complete a rekey within ' +
      `this many milliseconds (default ${DEFAULT_REKEY_TIMEOUT_MS})`).argParser(parseTimeout)
  ]
}

/** The flags' plan; `fallback` is the command's mode without --rekey. Settings for an extension that is off are a usage error. */
export function rekeyPlan (flags: RekeyFlags, fallback: RekeyChoice): RekeyPlan {
  const mode = flags.rekey ?? fallback
  if (mode === 'off') {
    const given = ([['--rekey-after-bytes', flags.rekeyAfterBytes], ['--rekey-after-ms', flags.rekeyAfterMs],
      ['--rekey-timeout', flags.rekeyTimeout]] as const).find(([, value]) => value !== undefined)
    if (given !== undefined) {
      throw new CliError(EXIT.USAGE, `${given[0]} has no effect while the rekey extension is off: ` +
        `add --rekey prefer (or require), or leave ${given[0]} out`)
    }
    return { mode }
  }
  return {
    mode,
    afterBytes: flags.rekeyAfterBytes ?? DEFAULT_REKEY_AFTER_BYTES,
    afterMs: flags.rekeyAfterMs ?? DEFAULT_REKEY_AFTER_MS,
    timeout: flags.rekeyTimeout ?? DEFAULT_REKEY_TIMEOUT_MS
  }
}

/** The plan as connect()'s and listen()'s `rekey` option. */
export function rekeyOption (plan: RekeyPlan): RekeyOption {
  return plan.mode === 'off' ? false : { ...plan }
}

/** The --verbose line, once a handshake is done: which keys this session runs with, and why. */
export function describeSessionKeys (stream: SecureStream, plan: RekeyPlan, role: 'client' | 'server'): string {
  if (stream.rekeying && plan.mode !== 'off') {
    return `rekey extension negotiated: fresh keys after ${formatBytes(plan.afterBytes)} sent or ` +
      `${formatDuration(plan.afterMs)} without a rekey, and whenever the peer starts one`
  }
  const why = role === 'client'
    ? (plan.mode === 'off' ? 'no --rekey' : 'the server does not offer the rekey extension')
    : (plan.mode === 'off' ? '--rekey off' : 'the client did not ask for the rekey extension')
  return `plain SHS1, one pair of keys for the whole session (${why})`
}

/** The --verbose line of `shs listen` at startup: whom the server serves. */
export function describeRekeyStance (plan: RekeyPlan): string {
  switch (plan.mode) {
    case 'prefer': return 'serving clients with the rekey extension and plain SHS1 clients alike (--rekey prefer)'
    case 'require': return 'serving only clients with the rekey extension: plain SHS1 clients are refused (--rekey require)'
    case 'off': return 'serving plain SHS1 only, without the rekey extension (--rekey off)'
  }
}

/** The --verbose line at a session's end, for a session with the extension. */
export function describeRekeys (stream: SecureStream): string | undefined {
  if (!stream.rekeying) return undefined
  return `took fresh keys ${stream.rekeys} time${stream.rekeys === 1 ? '' : 's'} during the session`
}

/**
 * Under `require`, a stream without the extension is refused even if a transport let one through
 * (one that does not know the option): `--rekey require` must never quietly mean plain SHS1.
 */
export function lacksRequiredRekey (stream: SecureStream, plan: RekeyPlan): boolean {
  return plan.mode === 'require' && !stream.rekeying
}

function formatDuration (ms: number): string {
  const MS_PER_SECOND = 1000
  return ms % MS_PER_SECOND === 0 ? `${ms / MS_PER_SECOND} s` : `${ms} ms`
}

function parseChoice (text: string): RekeyChoice {
  const choice = CHOICES.find((candidate) => candidate === text.trim())
  if (choice !== undefined) return choice
  // `shs connect --rekey ADDRESS`: the optional mode took the word after it.
  throw new InvalidArgumentError('expected prefer, require or off; a bare --rekey takes the next word as its mode, ' +
    'so write --rekey prefer, or put --rekey after the address')
}

function parseByteCount (text: string): number {
  const match = /^(\d+)([kmg]?)$/i.exec(text.trim())
  const value = match === null ? Number.NaN : Number(match[1]) * (BYTE_SUFFIXES[(match[2] ?? '').toLowerCase()] ?? Number.NaN)
  if (!Number.isSafeInteger(value) || value < MIN_REKEY_AFTER_BYTES) {
    throw new InvalidArgumentError(`expected a whole number of bytes of at least 1M (${MIN_REKEY_AFTER_BYTES}), ` +
      'optionally with a K, M or G suffix (powers of 1024)')
  }
  return value
}

function parseInterval (text: string): number {
  return wholeNumber(text, MIN_REKEY_AFTER_MS, MAX_TIMEOUT_MS)
}

function parseTimeout (text: string): number {
  return wholeNumber(text, 1, MAX_TIMEOUT_MS)
}

function wholeNumber (text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`expected a whole number of milliseconds from ${min} to ${max}`)
  }
  return value
}
