/** Conformance output on stdout: one PASS/FAIL line per check for people, or one JSON document for programs. */
import type { RemoteAddress } from '../address.ts'
import { formatHostPort } from '../address.ts'
import { formatId } from '../identity.ts'
import type { CheckResult, CheckStatus } from './checks.ts'

const LABELS: Readonly<Record<CheckStatus, string>> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' }

export function formatResultLine (result: CheckResult): string {
  return `${LABELS[result.status]}  ${result.id.padEnd(18)} ${result.title}: ${result.reason}\n`
}

export function formatHeader (target: RemoteAddress): string {
  return `conformance of ${formatHostPort(target)} (${formatId(target.remotePublicKey)})\n`
}

export function summarize (results: readonly CheckResult[]): { pass: number, fail: number, skip: number } {
  const count = (status: CheckStatus): number => results.filter((result) => result.status === status).length
  return { pass: count('pass'), fail: count('fail'), skip: count('skip') }
}

export function formatSummary (results: readonly CheckResult[]): string {
  const { pass, fail, skip } = summarize(results)
  return `${pass} passed, ${fail} failed${skip > 0 ? `, ${skip} skipped` : ''}\n`
}

export function formatJson (target: RemoteAddress, results: readonly CheckResult[]): string {
  const summary = summarize(results)
  return `${JSON.stringify({
    target: formatHostPort(target),
    server: formatId(target.remotePublicKey),
    passed: summary.fail === 0,
    summary,
    checks: results
  }, null, 2)}\n`
}
