/**
 * The part of `node:assert/strict` the shared checks use, for the browser bundle (esbuild
 * aliases `node:assert/strict` to this file). Failures throw with both values in the message.
 */
class AssertionError extends Error {
  override name = 'AssertionError'
}

function show (value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

function equal (actual: unknown, expected: unknown, message?: string): void {
  if (!Object.is(actual, expected)) throw new AssertionError(message ?? `expected ${show(expected)}, got ${show(actual)}`)
}

function ok (value: unknown, message?: string): asserts value {
  if (value === false || value === null || value === undefined || value === 0 || value === '') {
    throw new AssertionError(message ?? `expected a truthy value, got ${show(value)}`)
  }
}

const assert = Object.assign(ok, { ok, equal, strictEqual: equal })
export default assert
