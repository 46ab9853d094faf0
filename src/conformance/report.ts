/** Reports as people, programs and CI systems read them: a streaming table, one JSON document, JUnit XML. */
import { type CheckResult, type CheckStatus, type ConformanceReport, type Role, summarize } from './types.ts'

const LABELS: Readonly<Record<CheckStatus, string>> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP', warn: 'WARN', crash: 'CRASH' }
const STATUS_COLUMN = 6
const ID_COLUMN = 26

export function buildReport (role: Role, target: string, checks: readonly CheckResult[], notices: readonly string[]): ConformanceReport {
  const summary = summarize(checks)
  return { role, target, passed: summary.fail === 0 && summary.crash === 0, summary, checks, notices }
}

/** One line per check, as it finishes. */
export function formatResultLine (result: CheckResult): string {
  return `${LABELS[result.status].padEnd(STATUS_COLUMN)}${result.id.padEnd(ID_COLUMN)} ${result.title}: ${result.reason}\n`
}

export function formatHeader (role: Role, target: string): string {
  return `conformance of the ${role}: ${target}\n`
}

/** The notices (one per line, as `note: …`), then `N passed, N failed` and whatever else there was. */
export function formatSummary (report: ConformanceReport): string {
  const { pass, fail, skip, warn, crash } = report.summary
  const extras = [crash > 0 ? `${crash} crashed` : '', warn > 0 ? `${warn} warned` : '', skip > 0 ? `${skip} skipped` : ''].filter(Boolean)
  const notes = report.notices.map((notice) => `note: ${notice}\n`).join('')
  return `${notes}${pass} passed, ${fail} failed${extras.map((extra) => `, ${extra}`).join('')}\n`
}

/** The whole report as a table: the header, a line per check, the summary. */
export function formatText (report: ConformanceReport): string {
  return formatHeader(report.role, report.target) + report.checks.map(formatResultLine).join('') + formatSummary(report)
}

export function formatJson (report: ConformanceReport): string {
  const checks = report.checks.map(({ id, title, status, reason, ms }) => ({ id, title, status, reason, ms }))
  const { role, target, passed, summary, notices } = report
  return `${JSON.stringify({ role, target, passed, summary, checks, notices }, null, 2)}\n`
}

function xml (text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`)
}

/** JUnit XML as Jenkins, GitLab and GitHub reporters read it: one testcase per check, a crash as an error. */
export function formatJunit (report: ConformanceReport): string {
  const { role, target, checks } = report
  const { fail, skip, crash } = report.summary
  const seconds = (ms: number): string => (ms / 1000).toFixed(3)
  const total = checks.reduce((sum, result) => sum + result.ms, 0)
  const cases = checks.map((result) => {
    const open = `    <testcase classname="shs.conformance.${role}" name="${xml(`${result.id}: ${result.title}`)}" time="${seconds(result.ms)}">`
    const bodies: Readonly<Record<CheckStatus, string>> = {
      fail: `<failure message="${xml(result.reason)}"/>`,
      crash: `<error type="crash" message="${xml(result.reason)}"/>`,
      skip: `<skipped message="${xml(result.reason)}"/>`,
      pass: `<system-out>${xml(`${LABELS.pass}: ${result.reason}`)}</system-out>`,
      warn: `<system-out>${xml(`${LABELS.warn}: ${result.reason}`)}</system-out>`
    }
    return `${open}${bodies[result.status]}</testcase>`
  })
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="shs conformance" tests="${checks.length}" failures="${fail}" errors="${crash}" skipped="${skip}" time="${seconds(total)}">`,
    `  <testsuite name="${xml(`${role} ${target}`)}" tests="${checks.length}" failures="${fail}" errors="${crash}" skipped="${skip}" time="${seconds(total)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    ''
  ].join('\n')
}
