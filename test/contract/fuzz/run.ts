/**
 * The option fuzz, run in a process of its own so that a crash is seen instead of suffered: every
 * option of every entry point with every hostile value (values.ts), one at a time, each call
 * classified by what a caller would meet. Prints one JSON report on stdout.
 *
 *   typed    the call failed at once with the library's typed error for a bad option (or key, or address)
 *   works    the call was accepted and one honest exchange through it worked (the value is in range)
 *   untyped  the call failed with some other error (Node's RangeError, a TypeError, ...)
 *   crash    an uncaught exception or unhandled rejection came from the case, or the call never settled
 *   leak     a socket, server or timer was still alive after the case released everything
 *   broken   the call was accepted but the exchange through it failed
 */
import { ShsError } from '../../../src/index.ts'
import { countResources } from '../../helpers/resources.ts'
import type { FuzzEntry } from './entry.ts'
import { netEntries } from './entries-net.ts'
import { otherEntries } from './entries-other.ts'
import { ssbEntries } from './entries-ssb.ts'
import { wsEntries } from './entries-ws.ts'
import { startFixture } from './fixture.ts'
import { HOSTILE_VALUES } from './values.ts'

export type Outcome = 'typed' | 'works' | 'untyped' | 'crash' | 'leak' | 'broken'

export interface CaseResult {
  entry: string
  option: string
  value: string
  outcome: Outcome
  /** For typed errors: whether the error's `option` names the option tried. */
  named?: boolean
  /** Whether `valid` lists the value for this option (acceptance is then right). */
  inRange: boolean
  detail?: string
}

/** Longest a call or an exchange may take before the case counts it as hanging. */
const CASE_LIMIT_MS = 4000
/** Longest the case waits for closed sockets and timers to go away. */
const SETTLE_LIMIT_MS = 1500
const TYPED_CODES = new Set(['ERR_SHS_INVALID_OPTION', 'ERR_SHS_INVALID_KEY', 'ERR_SHS_WEAK_KEY', 'ERR_SHS_INVALID_ADDRESS'])

let crashes: unknown[] = []
process.on('uncaughtException', (err) => { crashes.push(err) })
process.on('unhandledRejection', (err) => { crashes.push(err) })

class Hang extends Error {}

async function bounded<T> (promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Hang(`${what} did not settle within ${CASE_LIMIT_MS} ms`)) }, CASE_LIMIT_MS)
    })])
  } finally {
    clearTimeout(timer)
  }
}

const turn = async (ms = 0): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

function leaked (baseline: Map<string, number>): string | undefined {
  const now = countResources()
  const extra = [...now].filter(([name, count]) => count > (baseline.get(name) ?? 0))
  return extra.length === 0 ? undefined : extra.map(([name, count]) => `${name} ${count} (was ${baseline.get(name) ?? 0})`).join(', ')
}

async function settle (baseline: Map<string, number>): Promise<string | undefined> {
  const started = performance.now()
  for (;;) {
    await turn(10)
    const extra = leaked(baseline)
    if (extra === undefined || performance.now() - started > SETTLE_LIMIT_MS) return extra
  }
}

function describeError (err: unknown): string {
  if (err instanceof Error) return `${err.name}${err instanceof ShsError ? ` ${err.code}` : ''}: ${err.message.slice(0, 160)}`
  return String(err)
}

async function runCase (entry: FuzzEntry, option: string, label: string, value: unknown): Promise<CaseResult> {
  await turn()
  const baseline = countResources()
  crashes = []
  const inRange = entry.valid?.[option]?.includes(label) ?? false
  const result: CaseResult = { entry: entry.name, option, value: label, outcome: 'works', inRange }
  try {
    const accepted = await bounded(entry.call(option, value), 'the call')
    try {
      await bounded(accepted.exercise(), 'the exchange')
    } catch (err) {
      result.outcome = err instanceof Hang ? 'crash' : 'broken'
      result.detail = describeError(err)
    } finally {
      await accepted.close()
    }
  } catch (err) {
    const typed = err instanceof ShsError && TYPED_CODES.has(err.code)
    // A value in range may still fail at the network (a host that is not there): typed, and right.
    const refusedByNetwork = inRange && err instanceof ShsError && !typed
    result.outcome = err instanceof Hang ? 'crash' : typed ? 'typed' : refusedByNetwork ? 'works' : 'untyped'
    result.detail = describeError(err)
    if (typed) result.named = (err as ShsError & { option?: string }).option === option.replace(/^\((.*)\)$/, '$1')
  }
  const leak = await settle(baseline)
  if (crashes.length > 0) {
    result.outcome = 'crash'
    result.detail = describeError(crashes[0])
  } else if (leak !== undefined) {
    result.outcome = 'leak'
    result.detail = `${leak}${result.detail === undefined ? '' : `; ${result.detail}`}`
  }
  return result
}

const fixture = await startFixture()
const entries = [...netEntries(fixture), ...wsEntries(fixture), ...ssbEntries(fixture), ...otherEntries(fixture)]
const only = process.argv[2]
const results: CaseResult[] = []
for (const entry of entries) {
  if (only !== undefined && !entry.name.includes(only)) continue
  for (const option of entry.options) {
    for (const { label, value } of HOSTILE_VALUES) results.push(await runCase(entry, option, label, value))
  }
}
await fixture.close()
// Whatever a broken case left running must not keep the report from arriving: exit once it is written.
process.stdout.write(JSON.stringify({ results }) + '\n', () => { process.exit(0) })
