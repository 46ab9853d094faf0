/** The shape of one fuzzed entry point. */

/** What an accepted call made, and how to try it and let it go. */
export interface Accepted {
  /** One honest exchange through what the call made; rejects if it does not work. */
  exercise (): Promise<void>
  /** Releases everything the call made (a test that leaks after this has found a leak). */
  close (): Promise<void>
}

export interface FuzzEntry {
  readonly name: string
  /** The option paths tried (dot-separated for nested ones); `(name)` is a positional argument. */
  readonly options: readonly string[]
  /**
   * Labels of hostile values (see values.ts) that are inside an option's documented range, so a
   * correct implementation accepts them (port 0 for a listener, Infinity for "no limit").
   */
  readonly valid?: Readonly<Record<string, readonly string[]>>
  /** Calls the entry point with `value` at `path` and every other option sane. */
  call (path: string, value: unknown): Promise<Accepted>
}

/** For entries whose positional arguments are fuzzed: the value at `path` if that is the one, else `sane`. */
export function positional<T> (path: string, name: string, value: unknown, sane: T): T {
  return (path === `(${name})` ? value : sane) as T
}
