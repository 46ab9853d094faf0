/**
 * The client role: we play servers (correct, mistaken, hostile) for the client under test, which
 * is started once per connection a check needs. A check's clients are stopped when it ends, and
 * a crash of any of them (a signal, a panic status, a crash report on stderr) is a CRASH.
 */
import { randomBytes } from 'node:crypto'
import { asNetworkKey, generateKeyPair } from '../crypto/keys.ts'
import { NETWORK_KEY_BYTES } from '../crypto/primitives.ts'
import { allChecks, selectChecks } from './catalog.ts'
import type { CheckDefinition, ClientRoleContext } from './check.ts'
import { ClientHarness } from './client-harness.ts'
import { KeysFolder } from './environment.ts'
import { type ClientCheckOptions, checkCommand, resolveLimits } from './options.ts'
import { buildReport } from './report.ts'
import { type RoleRunner, runChecks, withEvidence, withinBudget } from './run.ts'
import type { ConformanceReport, Verdict } from './types.ts'

function clientRunner (harness: ClientHarness): RoleRunner {
  return {
    role: 'client',
    subject: 'the client',
    run: async (check: CheckDefinition, budget: number): Promise<Verdict> => {
      const scope = await harness.scope()
      const body = check.client as (context: ClientRoleContext) => Promise<Verdict>
      let verdict: Verdict
      try {
        verdict = await withinBudget(budget, async () => await body(scope.context), scope.stop)
      } finally {
        await scope.stop()
      }
      return withEvidence(verdict, scope.crashes(), 'the client')
    }
  }
}

/**
 * Checks a client: `command` is started through `sh` with the SHS_CONFORMANCE_* environment,
 * once per connection a check needs, and must behave like netcat (stdin into the stream, the
 * stream to stdout, exit 0 only after a clean goodbye both ways).
 */
export async function runClientChecks (options: ClientCheckOptions): Promise<ConformanceReport> {
  const limits = resolveLimits(options)
  const command = checkCommand(options.command)
  const checks = selectChecks(allChecks(), options.only, options.skip)
  const networkKey = options.networkKey === undefined ? randomBytes(NETWORK_KEY_BYTES) : asNetworkKey(options.networkKey)
  const folder = await KeysFolder.create()
  try {
    const harness = new ClientHarness({
      ...limits, command, keys: generateKeyPair(), clientKeys: generateKeyPair(), networkKey, folder, onStderr: options.onPeerStderr
    })
    options.onStart?.(command)
    const results = await runChecks(checks, clientRunner(harness), limits, options.onResult ?? (() => {}))
    return buildReport('client', command, results, [])
  } finally {
    await folder.remove()
  }
}
