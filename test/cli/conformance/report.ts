/** What the conformance tests read from `shs conformance --json`. */
export interface Report {
  role: string
  target: string
  passed: boolean
  summary: { pass: number, fail: number, skip: number, warn: number }
  checks: Array<{ id: string, title: string, status: 'pass' | 'fail' | 'skip' | 'warn', reason: string, ms: number }>
}

/** Reply timeout and stall limit for the tests: a correct peer answers within milliseconds. */
export const FAST = ['--timeout', '3000', '--stall-timeout', '3000']

export function parseReport (stdout: Buffer): Report {
  return JSON.parse(stdout.toString('utf8')) as Report
}

export function statuses (report: Report): Record<string, string> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check.status]))
}

export function reasons (report: Report): Record<string, string> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check.reason]))
}
