/** Every check, in the order they run and are reported, and how to pick some of them. */
import type { CheckDefinition } from './check.ts'
import { boxStreamChecks } from './checks/box.ts'
import { handshakeChecks } from './checks/handshake.ts'
import { rekeyChecks } from './checks/rekey.ts'
import { stallChecks } from './checks/stall.ts'
import { ConformanceError } from './errors.ts'
import type { CheckInfo, Limits, Role } from './types.ts'

export function allChecks (): CheckDefinition[] {
  return [...handshakeChecks(), ...stallChecks(), ...boxStreamChecks(), ...rekeyChecks()]
}

const ROLES: readonly Role[] = ['server', 'client']

export function describeCheck (check: CheckDefinition): CheckInfo {
  const notApplicable: Partial<Record<Role, string>> = {}
  for (const role of ROLES) {
    const body = check[role]
    if (typeof body === 'string') notApplicable[role] = body
  }
  return {
    id: check.id,
    title: check.title,
    roles: ROLES.filter((role) => typeof check[role] !== 'string'),
    notApplicable,
    hostile: check.hostile,
    slow: check.slow === true
  }
}

/** Every check of the suite: ids, titles, the roles each applies to. */
export function listChecks (): CheckInfo[] {
  return allChecks().map(describeCheck)
}

/**
 * How many reply timeouts a check may wait in all: the longest (the client role of
 * hs.replayed-auth) waits eight at most, one after another; the rest is margin.
 */
const BUDGET_REPLIES = 10
/** A stall check waits the stall limit once, and a few replies around it. */
const STALL_BUDGET_REPLIES = 5

/**
 * The time within which a check reaches its verdict, in milliseconds: the runner ends a check
 * that goes past it (closing its connections, stopping its processes) and fails it. The liveness
 * probe that follows a check in the server role is not counted: it has its own bound.
 */
export function checkBudget (check: Pick<CheckInfo, 'slow'>, limits: Limits): number {
  return check.slow ? limits.stallLimit + STALL_BUDGET_REPLIES * limits.replyTimeout : BUDGET_REPLIES * limits.replyTimeout
}

/** `only` / `skip` name ids, or groups by prefix (`hs`, `bs`, `hs.small-order`); the id of a check names that check alone. */
export function selectChecks<T extends { readonly id: string }> (checks: readonly T[], only: readonly string[] | undefined, skip: readonly string[] | undefined): T[] {
  const ids = new Set(checks.map((check) => check.id))
  const matches = (pattern: string, id: string): boolean => id === pattern ||
    (!ids.has(pattern) && (id.startsWith(`${pattern}.`) || id.startsWith(`${pattern}-`)))
  const unknown = [...(only ?? []), ...(skip ?? [])].filter((pattern) => !checks.some((check) => matches(pattern, check.id)))
  if (unknown.length > 0) {
    throw new ConformanceError('ERR_CONFORMANCE_UNKNOWN_CHECK',
      `no check is named ${unknown.map((name) => `"${name}"`).join(', ')}: listChecks() (shs conformance --list) shows the ids`)
  }
  return checks.filter((check) => (only === undefined || only.some((pattern) => matches(pattern, check.id))) &&
    !(skip ?? []).some((pattern) => matches(pattern, check.id)))
}
