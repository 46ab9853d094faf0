/**
 * Runs the checks for one role: one after another so they do not look like a flood, then the
 * slow stall checks side by side (they mostly wait). Each check runs within its budget; what the
 * peer's process showed meanwhile (a crash, a panic on stderr) turns its verdict into a CRASH.
 */
import { performance } from 'node:perf_hooks'
import { checkBudget, describeCheck } from './catalog.ts'
import { type CheckDefinition, crash, fail, skip } from './check.ts'
import type { CrashLog, Evidence } from './crash.ts'
import { CheckFailure } from './errors.ts'
import type { CheckResult, Limits, Role, Verdict } from './types.ts'

export interface RoleRunner {
  readonly role: Role
  /** Who the evidence is about: "the server process", "the client". */
  readonly subject: string
  /** Crash reports read per check (the server role); the client role judges its own per check. */
  readonly crashes?: CrashLog
  /** The check's verdict: its body within `budget`, and whatever the role does after it. */
  run: (check: CheckDefinition, budget: number) => Promise<Verdict>
  /** After checks ran side by side: lets the peer's last output arrive before it is read. */
  settle?: () => Promise<void>
}

/** The body's verdict; a CheckFailure is a failure, any other error is ours and propagates. */
async function settle (body: () => Promise<Verdict>): Promise<Verdict> {
  try {
    return await body()
  } catch (err) {
    if (err instanceof CheckFailure) return fail(err.message)
    throw err
  }
}

/**
 * Runs `body`, and after `budget` ms calls `stop` (which closes what the check opened, so that
 * its waits end at once) and fails the check, whatever it then concludes.
 */
export async function withinBudget (budget: number, body: () => Promise<Verdict>, stop: () => void | Promise<void>): Promise<Verdict> {
  let stopping: Promise<void> | undefined
  const timer = setTimeout(() => { stopping = Promise.resolve().then(stop) }, budget)
  try {
    const verdict = await settle(body)
    if (stopping === undefined) return verdict
    return fail(`no verdict within the check's budget of ${budget} ms: the peer kept it waiting (when stopped, it saw: ${verdict.reason})`)
  } finally {
    clearTimeout(timer)
    await stopping
  }
}

/** How many distinct reports a reason names; the rest are counted. */
const NAMED_REPORTS = 2

/** A verdict, with what the peer's process showed while the check ran (crashes first, the first two named). */
export function withEvidence (verdict: Verdict, evidence: readonly Evidence[], subject: string, when = ''): Verdict {
  if (evidence.length === 0) return verdict
  const ordered = [...evidence.filter((entry) => entry.crash), ...evidence.filter((entry) => !entry.crash)]
  const distinct = [...new Set(ordered.map((entry) => entry.what))]
  const named = distinct.slice(0, NAMED_REPORTS).join(' and ')
  const more = evidence.length > NAMED_REPORTS ? ` (${evidence.length} reports in all)` : ''
  const itself = verdict.status === 'pass' ? '' : `; the check itself: ${verdict.reason}`
  const reason = `${subject} ${named}${more}${when}${itself}`
  return ordered[0]?.crash === true ? crash(reason) : fail(reason)
}

/** What can be blamed on the checks that ran in a window: all but the late reports. */
function blamable (crashes: CrashLog | undefined, mark: number): Evidence[] {
  return (crashes?.since(mark) ?? []).filter((entry) => entry.deferred !== true)
}

export async function runChecks (checks: readonly CheckDefinition[], runner: RoleRunner, limits: Limits, onResult: (result: CheckResult) => void): Promise<CheckResult[]> {
  const results = new Map<string, CheckResult>()
  const record = (check: CheckDefinition, verdict: Verdict, started: number, ended = performance.now()): void => {
    const result = { id: check.id, title: check.title, ...verdict, ms: Math.round(ended - started) }
    results.set(check.id, result)
    onResult(result)
  }
  const applies = (check: CheckDefinition): boolean => typeof check[runner.role] !== 'string'
  const one = async (check: CheckDefinition): Promise<{ verdict: Verdict, ended: number }> =>
    ({ verdict: await runner.run(check, checkBudget(describeCheck(check), limits)), ended: performance.now() })

  for (const check of checks.filter((entry) => entry.slow !== true)) {
    const started = performance.now()
    if (!applies(check)) {
      record(check, skip(`skipped: ${String(check[runner.role])}`), started)
      continue
    }
    const mark = runner.crashes?.mark() ?? 0
    const { verdict } = await one(check)
    record(check, withEvidence(verdict, blamable(runner.crashes, mark), runner.subject), started)
  }

  // Side by side, a crash cannot be told apart: it is blamed on every check that was running.
  const slow = checks.filter((entry) => entry.slow === true && applies(entry))
  const started = performance.now()
  const mark = runner.crashes?.mark() ?? 0
  const outcomes = await Promise.all(slow.map(one))
  await runner.settle?.()
  const evidence = blamable(runner.crashes, mark)
  const when = slow.length > 1 ? ` while the ${slow.length} slow checks ran side by side` : ''
  slow.forEach((check, index) => {
    const { verdict, ended } = outcomes[index] as { verdict: Verdict, ended: number }
    record(check, withEvidence(verdict, evidence, runner.subject, when), started, ended)
  })
  for (const check of checks.filter((entry) => entry.slow === true && !applies(entry))) {
    record(check, skip(`skipped: ${String(check[runner.role])}`), performance.now())
  }
  return checks.map((check) => results.get(check.id) as CheckResult)
}
