/** What a run noticed about the target as a whole, each with what to do about it. */
import { ECHO_SERVER_HINT } from './hints.ts'
import type { CheckResult } from './types.ts'
import type { ServerTarget } from './server-target.ts'

interface ServerRunFacts {
  readonly stopped: { readonly during: string, readonly opened: number } | undefined
  readonly firstMark: number
  readonly probeMark: number
}

export function serverNotices (target: ServerTarget, run: ServerRunFacts, results: readonly CheckResult[]): string[] {
  const notices: string[] = []
  if (run.stopped !== undefined) {
    notices.push(`the server stopped accepting connections after ${run.stopped.opened} (during ${run.stopped.during}), so the checks after it were not run. ` +
      `A server under test must keep serving every client: ${ECHO_SERVER_HINT}. If it crashed instead, let the run start it ` +
      '(a command: shs conformance server --cmd CMD): crashes are then named, and the server is started again')
  }
  if (target.starts > 1) notices.push(`the server was started ${target.starts} times: it exited ${target.starts - 1} times during the run (see the checks marked CRASH or FAIL)`)
  const early = target.crashes.between(0, run.firstMark).filter((entry) => entry.deferred !== true)
  if (early.length > 0) notices.push(`before the first check, while we saw that it listens, the server process ${early[0]?.what ?? ''}`)
  const probe = target.crashes.between(run.firstMark, run.probeMark).filter((entry) => entry.deferred !== true)
  if (probe.length > 0) {
    notices.push('while we asked whether it offers shs-rekey/1 (one hello under K\', which a server without the extension must refuse as a hello ' +
      `of another network, hs.wrong-network-key), the server process ${probe[0]?.what ?? ''}`)
  }
  const late = target.crashes.since(0).filter((entry) => entry.deferred === true)
  if (late.length > 0) {
    notices.push(`the server process printed ${late.length} late crash reports (asyncio's "Task exception was never retrieved", printed when a failed task ` +
      'is collected, not when it failed), so no check is blamed for them; the first: ' + (late[0]?.what ?? ''))
  }
  const byId = new Map(results.map((result) => [result.id, result]))
  const sizes = results.filter((result) => result.id.startsWith('bs.size-') && result.status !== 'skip')
  if (byId.get('hs.valid')?.status === 'pass' && sizes.length > 0 && sizes.every((result) => result.reason.includes('the echo was nothing'))) {
    notices.push(`the server completes handshakes but echoes nothing back: the box-stream checks need an echo server (${ECHO_SERVER_HINT})`)
  }
  return notices
}
