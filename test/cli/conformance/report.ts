/** What the conformance tests read from `shs conformance --json`. */
export interface Report {
  role: string
  target: string
  passed: boolean
  summary: { pass: number, fail: number, skip: number, warn: number, crash: number }
  checks: Array<{ id: string, title: string, status: 'pass' | 'fail' | 'skip' | 'warn' | 'crash', reason: string, ms: number }>
  notices: string[]
}

/** Reply timeout and stall limit for the tests: a correct peer answers within milliseconds. */
export const FAST = ['--timeout', '3000', '--stall-timeout', '3000']

export function parseReport (stdout: Buffer): Report {
  return JSON.parse(stdout.toString('utf8')) as Report
}

export function statuses (report: Pick<Report, 'checks'>): Record<string, string> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check.status]))
}
