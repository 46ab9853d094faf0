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
      `(about 24.8 days), got ${describeValue(value)}`)
  }
  return value
}

/** An optional duration in milliseconds (an idle timeout, a ping interval): absent, or 1 to 2^31-1. */
export function optionalDuration (value: unknown, name: string): number | undefined {
  return value === undefined ? undefined : checkTimeout(value, name)
}

/** A callback option: absent, or a function. */
export function checkCallback<T extends (...args: never[]) => unknown> (value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new InvalidOptionError(name, `${name} must be a function, got ${describeValue(value)}`)
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
    throw new InvalidOptionError(name, `${name} must be an integer from ${range.min}${upper}${orInfinity}, got ${describeValue(value)}`)
  }
  return value
}

/** A number in [0, 1]. */
export function fractionOption (name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidOptionError(name, `${name} must be a number from 0 to 1, got ${describeValue(value)}`)
  }
  return value
}

/** What a bad value looks like in a message: its type, and the value itself when it is short. */
export function describeValue (value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return value.length <= 40 ? `the string ${JSON.stringify(value)}` : `a string of ${value.length} characters`
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : typeof value
}

/** A TCP port: 1 to 65535, or 0 (any free port) where `allowAny` says a listener may pick one. */
export function checkPort (value: unknown, name: string, allowAny: boolean): number {
  const min = allowAny ? 0 : 1
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_PORT) {
    const any = allowAny ? ' (0 picks a free one)' : ''
    throw new InvalidOptionError(name, `${name} must be a whole number from ${min} to ${MAX_PORT}${any}, got ${describeValue(value)}`)
  }
  return value
}

export const MAX_PORT = 65_535

/** A host name or IP address: a non-empty string; `undefined` means `fallback`. */
export function checkHost (value: unknown, name: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_HOST_CHARS) {
    throw new InvalidOptionError(name, `${name} must be a host name or IP address (a non-empty string), got ${describeValue(value)}`)
  }
  return value
}

/** The longest DNS name (RFC 1035) with room for an IPv6 zone: anything longer is no host. */
const MAX_HOST_CHARS = 255

/** An optional `AbortSignal`. */
export function checkSignal (value: unknown, name = 'signal'): AbortSignal | undefined {
  if (value === undefined) return undefined
  if (!(value instanceof AbortSignal)) {
    throw new InvalidOptionError(name, `${name} must be an AbortSignal (from an AbortController or AbortSignal.timeout()), got ${describeValue(value)}`)
  }
  return value
}

/** An optional group of options (`sourcePrefixes: { ipv4, ipv6 }`): absent, or a plain object. */
export function checkGroup<T extends object> (value: T | undefined, name: string): T | undefined {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new InvalidOptionError(name, `${name} must be an object of options, got ${describeValue(value)}`)
  }
  return value
}

/** The options argument itself: absent, or an object. */
export function checkOptions<T extends object> (value: T | undefined, name = 'options'): T {
  return checkGroup(value, name) ?? ({} as T)
}
