/**
 * Every check that must pass on each crypto backend, in Node and in the browser: the 159
 * recorded handshake calls and the box-stream known answers. Reports instead of throwing, so
 * the caller (a Node child process or a page in Chromium) can hand back one JSON answer.
 */
import { backendName } from '#crypto-backend'
import { boxStreamKnownAnswers } from './boxstream-known-answers.ts'
import { checkVector, vectors } from './vectors.ts'

export interface SharedCheckReport {
  backend: string
  passed: string[]
  failed: Array<{ name: string, message: string }>
}

export function runSharedChecks (): SharedCheckReport {
  const report: SharedCheckReport = { backend: backendName, passed: [], failed: [] }
  const record = (name: string, check: () => void): void => {
    try {
      check()
      report.passed.push(name)
    } catch (err) {
      report.failed.push({ name, message: err instanceof Error ? err.message : String(err) })
    }
  }
  vectors.forEach((vector, index) => { record(`vector ${index}: ${vector.name}`, () => { checkVector(vector) }) })
  for (const { name, check } of boxStreamKnownAnswers) record(`box stream: ${name}`, check)
  return report
}

/** How many checks a report must hold: every recorded call and every known answer. */
export const SHARED_CHECK_COUNT = vectors.length + boxStreamKnownAnswers.length
