/** The results of a conformance run, as data: what a check is, what it found, and the whole report. */

/** The role of the implementation under test. */
export type Role = 'server' | 'client'

/**
 * `crash`: the peer died on a signal, exited with a panic or abort status, printed a panic or a
 * traceback on stderr, or (a server) exited during the run. `warn` and `skip` do not fail a run.
 */
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip' | 'crash'

export const CHECK_STATUSES: readonly CheckStatus[] = ['pass', 'fail', 'warn', 'skip', 'crash']

export interface Verdict {
  readonly status: CheckStatus
  /** What was observed, in a sentence. */
  readonly reason: string
}

export interface CheckResult extends Verdict {
  readonly id: string
  /** "the peer must ...", one line. */
  readonly title: string
  /** How long the check took (with its liveness probe), in milliseconds. */
  readonly ms: number
}

export type Summary = Readonly<Record<CheckStatus, number>>

export interface ConformanceReport {
  readonly role: Role
  /** The implementation under test, in words (an address, or the command). */
  readonly target: string
  /** True when no check failed or crashed. */
  readonly passed: boolean
  readonly summary: Summary
  /** In catalog order. */
  readonly checks: readonly CheckResult[]
  /** What the run noticed about the target as a whole, with a suggestion ("it stopped accepting connections…"). */
  readonly notices: readonly string[]
}

export interface Limits {
  /** How long to wait for each reply, for a hang-up after a bad message, or for a client to exit (ms). */
  readonly replyTimeout: number
  /** The longest a peer may keep a stalled handshake before the stall checks fail it (ms). */
  readonly stallLimit: number
}

export interface CheckInfo {
  readonly id: string
  readonly title: string
  /** The roles the check applies to; in the others it is reported as `skip`. */
  readonly roles: readonly Role[]
  /** Why it does not apply to a role. */
  readonly notApplicable: Readonly<Partial<Record<Role, string>>>
  /** We send bad or hostile input (the others are correct streams a peer must carry). */
  readonly hostile: boolean
  /** Mostly waiting (the stall checks): run side by side at the end. */
  readonly slow: boolean
}

export function summarize (results: readonly CheckResult[]): Summary {
  const count = (status: CheckStatus): number => results.filter((result) => result.status === status).length
  return { pass: count('pass'), fail: count('fail'), warn: count('warn'), skip: count('skip'), crash: count('crash') }
}
