/**
 * Checks on the options every entry point takes, done once at the call so that a bad value fails
 * there, typed, instead of inside every later connection.
 */
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from './constants.ts'
import { InvalidOptionError } from './errors.ts'

/** Node clamps longer delays to 1 ms (a timer's delay is a signed 32-bit count of milliseconds). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1

/** A timeout in milliseconds: an integer from 1 to 2^31-1. `undefined` means the default. */
export function checkTimeout (value: unknown, name = 'timeout'): number {
  if (value === undefined) return DEFAULT_HANDSHAKE_TIMEOUT_MS
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
    throw new InvalidOptionError(name, `${name} must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS} ` +
      `(about 24.8 days), got ${String(value)}`)
  }
  return value
}

/** A count or size cap: a positive safe integer. `undefined` means `fallback`. */
export function checkPositiveInteger (value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(name, `${name} must be a positive whole number (1 to ${Number.MAX_SAFE_INTEGER}), got ${String(value)}`)
  }
  return value
}

/** A callback option: absent, or a function. */
export function checkCallback<T extends (...args: never[]) => unknown> (value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new InvalidOptionError(name, `${name} must be a function, got ${typeof value}`)
  }
  return value
}

/** An integer in [min, max], or Infinity where `unlimited` says "no limit" is allowed; undefined gives `fallback`. */
export function integerOption (name: string, value: number | undefined, fallback: number, range: { min: number, max?: number, unlimited?: boolean }): number {
  if (value === undefined) return fallback
  if (range.unlimited === true && value === Number.POSITIVE_INFINITY) return value
  const max = range.max ?? Number.MAX_SAFE_INTEGER
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > max) {
    const upper = range.max === undefined ? '' : ` to ${range.max}`
    const orInfinity = range.unlimited === true ? ' (or Infinity for no limit)' : ''
    throw new InvalidOptionError(name, `${name} must be an integer from ${range.min}${upper}${orInfinity}, got ${String(value)}`)
  }
  return value
}

/** A number in [0, 1]. */
export function fractionOption (name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidOptionError(name, `${name} must be a number from 0 to 1, got ${String(value)}`)
  }
  return value
}
