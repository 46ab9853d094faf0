/**
 * Runs the checks for one role: one after another so they do not look like a flood, then the
 * slow stall checks side by side (they mostly wait). After every hostile check in the
 * server role, a liveness probe: the server must still complete a valid handshake; if it
 * exited, the check failed with a crash, and a server we started is started again.
 */
import { performance } from 'node:perf_hooks'
import type { KeyPair } from '../../index.ts'
import { boxStreamChecks } from './box-checks.ts'
import type { ClientHarness } from './client-harness.ts'
import { handshakeChecks } from './handshake-checks.ts'
import { handshakeAsClient } from './play.ts'
import { ProbeConnectError } from './raw-connection.ts'
import { PacketSealer } from './seam.ts'
import type { ServerTarget } from './server-target.ts'
import { stallChecks } from './stall-checks.ts'
import {
  CheckFailure, type CheckDefinition, type CheckResult, type Limits, type Role, type ServerRoleContext, type Verdict, fail
} from './types.ts'

export function allChecks (): CheckDefinition[] {
  return [...handshakeChecks(), ...stallChecks(), ...boxStreamChecks()]
}

/** `--only`/`--skip` name ids, or groups by prefix (`hs`, `bs`, `hs.small-order`). */
export function selectChecks (checks: readonly CheckDefinition[], only: readonly string[] | undefined, skip: readonly string[]): CheckDefinition[] {
  const matches = (pattern: string, id: string): boolean => id === pattern || id.startsWith(`${pattern}.`) || id.startsWith(`${pattern}-`)
  const unknown = [...(only ?? []), ...skip].filter((pattern) => !checks.some((check) => matches(pattern, check.id)))
  if (unknown.length > 0) throw new RangeError(`no check is named ${unknown.map((name) => `"${name}"`).join(', ')}`)
  return checks.filter((check) => (only === undefined || only.some((pattern) => matches(pattern, check.id))) &&
    !skip.some((pattern) => matches(pattern, check.id)))
}

async function settle (run: () => Promise<Verdict>): Promise<Verdict> {
  try {
    return await run()
  } catch (err) {
    if (err instanceof CheckFailure) return fail(err.message)
    if (err instanceof ProbeConnectError) return fail(`${err.message}: the peer stopped accepting connections`)
    throw err
  }
}

interface Runner {
  run: (check: CheckDefinition) => Promise<Verdict>
}

/**
 * The quick checks one after another, then the slow ones side by side (so a crash is blamed on
 * the check that caused it); results come out as each finishes, and are returned in catalog order.
 */
async function runAll (checks: readonly CheckDefinition[], role: Role, runner: Runner, onResult: (result: CheckResult) => void): Promise<CheckResult[]> {
  const results = new Map<string, CheckResult>()
  const one = async (check: CheckDefinition): Promise<void> => {
    const started = performance.now()
    const body = check[role]
    const verdict = typeof body === 'string' ? { status: 'skip' as const, reason: `skipped: ${body}` } : await runner.run(check)
    const result = { id: check.id, title: check.title, ...verdict, ms: Math.round(performance.now() - started) }
    results.set(check.id, result)
    onResult(result)
  }
  for (const check of checks.filter((check) => check.slow !== true)) await one(check)
  await Promise.all(checks.filter((check) => check.slow === true).map(one))
  return checks.map((check) => results.get(check.id) as CheckResult)
}

export interface ServerRunInit extends Limits {
  readonly target: ServerTarget
  readonly keys: KeyPair
  readonly networkKey: Uint8Array
}

/** The first connection tells whether the server is there at all: ProbeConnectError ends the run. */
export async function runServerRole (init: ServerRunInit, checks: readonly CheckDefinition[], onResult: (result: CheckResult) => void): Promise<CheckResult[]> {
  const { target } = init
  ;(await target.open(init.replyTimeout)).close()
  const context: ServerRoleContext = {
    target: target.address, keys: init.keys, networkKey: init.networkKey, replyTimeout: init.replyTimeout, stallLimit: init.stallLimit,
    open: async () => await target.open(init.replyTimeout)
  }
  const liveness = async (): Promise<string | undefined> => {
    const alive = await settle(async () => {
      const connection = await context.open()
      try {
        const { session } = await handshakeAsClient(context, connection)
        connection.write(new PacketSealer(session).goodbye())
        return { status: 'pass', reason: '' }
      } finally {
        connection.close()
      }
    })
    if (alive.status === 'pass' && target.exitReport() === undefined) return undefined
    const exit = await target.waitForExit(init.replyTimeout)
    if (exit !== undefined) return `CRASH: the server process ${exit}`
    return `the server no longer completes a valid handshake (${alive.reason})`
  }
  return await runAll(checks, 'server', {
    run: async (check) => {
      await target.ensureRunning()
      const body = check.server as (context: ServerRoleContext) => Promise<Verdict>
      const verdict = await settle(async () => await body(context))
      if (!check.hostile) return verdict
      const dead = await liveness()
      if (dead === undefined) return verdict
      return fail(verdict.status === 'fail' ? `${dead}; the check itself: ${verdict.reason}` : `${dead} after this check`)
    }
  }, onResult)
}

export async function runClientRole (harness: ClientHarness, checks: readonly CheckDefinition[], onResult: (result: CheckResult) => void): Promise<CheckResult[]> {
  return await runAll(checks, 'client', {
    run: async (check) => {
      const scope = await harness.scope()
      try {
        const body = check.client as (context: typeof scope.context) => Promise<Verdict>
        const verdict = await settle(async () => await body(scope.context))
        const crash = scope.crash()
        if (crash === undefined || verdict.reason.startsWith('CRASH')) return verdict
        return fail(verdict.status === 'fail' ? `${crash}; the check itself: ${verdict.reason}` : crash)
      } finally {
        await scope.stop()
      }
    }
  }, onResult)
}
