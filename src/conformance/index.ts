/**
 * shs-transport/conformance: the SHS1 and box-stream conformance suite as a library. Run it
 * against a server (an address, or a command it starts) or a client (a command it starts once
 * per connection); every check reaches a verdict within its budget, in bounded memory, however
 * the peer behaves. `shs conformance` is a thin wrapper around it.
 */
export { runServerChecks } from './run-server.ts'
export { runClientChecks } from './run-client.ts'
export { checkBudget, listChecks, selectChecks } from './catalog.ts'
export {
  type ClientCheckOptions, DEFAULT_REPLY_TIMEOUT_MS, DEFAULT_START_TIMEOUT_MS, DEFAULT_STALL_LIMIT_MS, type RunOptions,
  type ServerAddressOptions, type ServerCheckOptions, type ServerCommandOptions
} from './options.ts'
export { COMMAND_ENVIRONMENT } from './environment.ts'
export { formatHeader, formatJson, formatJunit, formatResultLine, formatSummary, formatText } from './report.ts'
export { ConformanceError, type ConformanceErrorCode, PeerConnectError } from './errors.ts'
export {
  CHECK_STATUSES, type CheckInfo, type CheckResult, type CheckStatus, type ConformanceReport, type Limits, type Role, type Summary, summarize
} from './types.ts'
export type { TrustedCa } from './wire/ws.ts'
