/** Conformance output: a streaming table for people, one JSON document for programs, JUnit XML for CI. */
import type { CheckResult, CheckStatus, Role } from './types.ts'

const LABELS: Readonly<Record<CheckStatus, string>> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP', warn: 'WARN' }
const ID_COLUMN = 26

export interface Summary { pass: number, fail: number, skip: number, warn: number }

export function formatResultLine (result: CheckResult): string {
  return `${LABELS[result.status]}  ${result.id.padEnd(ID_COLUMN)} ${result.title}: ${result.reason}\n`
}

export function formatHeader (role: Role, target: string): string {
  return `conformance of the ${role}: ${target}\n`
}

export function summarize (results: readonly CheckResult[]): Summary {
  const count = (status: CheckStatus): number => results.filter((result) => result.status === status).length
  return { pass: count('pass'), fail: count('fail'), skip: count('skip'), warn: count('warn') }
}

export function formatSummary (results: readonly CheckResult[]): string {
  const { pass, fail, skip, warn } = summarize(results)
  return `${pass} passed, ${fail} failed${warn > 0 ? `, ${warn} warned` : ''}${skip > 0 ? `, ${skip} skipped` : ''}\n`
}

export function formatJson (role: Role, target: string, results: readonly CheckResult[]): string {
  const summary = summarize(results)
  const checks = results.map(({ id, title, status, reason, ms }) => ({ id, title, status, reason, ms }))
  return `${JSON.stringify({ role, target, passed: summary.fail === 0, summary, checks }, null, 2)}\n`
}

function xml (text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`)
}

/** JUnit XML as Jenkins, GitLab and GitHub reporters read it: one testcase per check. */
export function formatJunit (role: Role, target: string, results: readonly CheckResult[]): string {
  const { fail, skip } = summarize(results)
  const seconds = (ms: number): string => (ms / 1000).toFixed(3)
  const total = results.reduce((sum, result) => sum + result.ms, 0)
  const cases = results.map((result) => {
    const open = `    <testcase classname="shs.conformance.${role}" name="${xml(`${result.id}: ${result.title}`)}" time="${seconds(result.ms)}">`
    const body = result.status === 'fail'
      ? `<failure message="${xml(result.reason)}"/>`
      : result.status === 'skip'
        ? `<skipped message="${xml(result.reason)}"/>`
        : `<system-out>${xml(`${LABELS[result.status]}: ${result.reason}`)}</system-out>`
    return `${open}${body}</testcase>`
  })
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="shs conformance" tests="${results.length}" failures="${fail}" skipped="${skip}" time="${seconds(total)}">`,
    `  <testsuite name="${xml(`${role} ${target}`)}" tests="${results.length}" failures="${fail}" errors="0" skipped="${skip}" time="${seconds(total)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    ''
  ].join('\n')
}
