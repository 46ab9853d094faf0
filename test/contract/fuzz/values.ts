/**
 * The hostile values every option is tried with: numbers at and beyond every edge a timer, a port
 * or a count has, and values of the wrong type. Each is given to one option at a time, every other
 * option keeping a value that works.
 */
export interface HostileValue {
  readonly label: string
  readonly value: unknown
}

export const HOSTILE_VALUES: readonly HostileValue[] = [
  { label: '0', value: 0 },
  { label: '-1', value: -1 },
  { label: 'NaN', value: Number.NaN },
  { label: 'Infinity', value: Number.POSITIVE_INFINITY },
  { label: '2^31', value: 2 ** 31 },
  { label: "'5'", value: '5' },
  { label: '{}', value: {} },
  { label: 'null', value: null },
  { label: '1e300', value: 1e300 }
]

/** `base` with the value at `path` (dot-separated; a missing parent object is created) replaced. */
export function withOption (base: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.') as [string, ...string[]]
  if (rest.length === 0) return { ...base, [head]: value }
  const inner = base[head]
  const parent = typeof inner === 'object' && inner !== null ? inner as Record<string, unknown> : {}
  return { ...base, [head]: withOption(parent, rest.join('.'), value) }
}
