/**
 * Range checks for the hostile-load options of listen() and connect(): a bad value fails at the
 * call, with the option's name and its range, not later as a server that refuses everyone.
 */
import { ShsError } from '../errors.ts'

/** An integer in [min, max], or Infinity where `unlimited` says "no limit" is allowed; undefined gives `fallback`. */
export function integerOption (name: string, value: number | undefined, fallback: number, range: { min: number, max?: number, unlimited?: boolean }): number {
  if (value === undefined) return fallback
  if (range.unlimited === true && value === Number.POSITIVE_INFINITY) return value
  const max = range.max ?? Number.MAX_SAFE_INTEGER
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > max) {
    const upper = range.max === undefined ? '' : ` to ${range.max}`
    const orInfinity = range.unlimited === true ? ' (or Infinity for no limit)' : ''
    throw new ShsError('ERR_SHS_INVALID_OPTION', `${name} must be an integer from ${range.min}${upper}${orInfinity}, got ${String(value)}`)
  }
  return value
}

/** A number in [0, 1]. */
export function fractionOption (name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new ShsError('ERR_SHS_INVALID_OPTION', `${name} must be a number from 0 to 1, got ${String(value)}`)
  }
  return value
}
