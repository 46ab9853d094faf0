/**
 * Leak checks: the sockets, servers and timers alive in this process, from Node's own list; and
 * a loopback port nothing listens on.
 */
import { type AddressInfo, createServer } from 'node:net'

const TRACKED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'Timeout'])

export function countResources (): Map<string, number> {
  const counts = new Map<string, number>()
  for (const name of process.getActiveResourcesInfo()) {
    if (TRACKED.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1)
  }
  return counts
}

const SETTLE_POLL_MS = 10
const SETTLE_LIMIT_MS = 3000

/**
 * Waits until no more sockets, servers or timers are alive than in `baseline` (closing takes a
 * few event-loop turns), and throws with the difference if they never go away.
 */
export async function assertNoLeaks (baseline: Map<string, number>): Promise<void> {
  const started = Date.now()
  for (;;) {
    const now = countResources()
    const leaks = [...now].filter(([name, count]) => count > (baseline.get(name) ?? 0))
    if (leaks.length === 0) return
    if (Date.now() - started > SETTLE_LIMIT_MS) {
      throw new Error(`resources left behind: ${leaks.map(([name, count]) => `${name} ${count} (was ${baseline.get(name) ?? 0})`).join(', ')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS))
  }
}

/**
 * Registers the hooks a test file of servers and sockets needs: a resource count before each test
 * (after one event-loop turn, so mocha's own timer for the hook is counted, as it is after), the
 * cleanups the test asked for run in reverse order after it, then a check that nothing leaked.
 * Returns `onCleanup`, for the test to hand its cleanups to.
 */
export function useLeakChecks (): (cleanup: () => unknown) => void {
  let baseline: Map<string, number>
  let cleanups: Array<() => unknown> = []
  beforeEach(async () => {
    await new Promise((resolve) => setImmediate(resolve))
    baseline = countResources()
  })
  afterEach(async () => {
    const pending = cleanups.reverse()
    cleanups = []
    for (const cleanup of pending) await cleanup()
    await assertNoLeaks(baseline)
  })
  return (cleanup) => { cleanups.push(cleanup) }
}

/**
 * Polls `condition` every few milliseconds until it holds. The limit only turns a hang into a
 * failure that names what was awaited; it is never what a test asserts.
 */
export async function waitFor (condition: () => boolean, what: string, limitMs = 5000): Promise<void> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > limitMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS))
  }
}

/** A loopback port that was free a moment ago: for a listener to take, or to be refused on. */
export async function freePort (): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => { probe.listen(0, '127.0.0.1', resolve) })
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => { probe.close(() => { resolve() }) })
  return port
}
