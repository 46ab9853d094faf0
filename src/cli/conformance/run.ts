/**
 * Runs the battery: the slow stall check alongside the others (it mostly waits), the rest one
 * after another so they do not look like a flood to the server. Results keep a fixed order.
 */
import {
  type CheckResult, type ProbeContext, checkHandshakeAndBoxStream, checkRandomClientAuth, checkRandomHello,
  checkStallingClient, checkTruncatedHello, checkWrongNetworkKey, checkWrongServerKey
} from './checks.ts'

type Check = (context: ProbeContext) => Promise<CheckResult>

const SEQUENTIAL_CHECKS: readonly Check[] = [
  checkWrongNetworkKey,
  checkWrongServerKey,
  checkRandomHello,
  checkTruncatedHello,
  checkRandomClientAuth
]

/** `onResult` hears each result as soon as its place in the order is settled, for live output. */
export async function runConformance (context: ProbeContext, onResult: (result: CheckResult) => void): Promise<CheckResult[]> {
  // Connect errors from the first check mean the server is unreachable: that ends the run
  // (as a network failure), so start the stall check only once the server has answered.
  const [handshake, boxStream] = await checkHandshakeAndBoxStream(context)
  onResult(handshake)
  onResult(boxStream)
  const stalling = checkStallingClient(context)
  // Until we await it, a rejection must not count as unhandled.
  stalling.catch(() => {})
  const results: CheckResult[] = [handshake, boxStream]
  for (const check of SEQUENTIAL_CHECKS) {
    const outcome = await check(context)
    onResult(outcome)
    results.push(outcome)
  }
  const stall = await stalling
  onResult(stall)
  results.push(stall)
  return results
}
