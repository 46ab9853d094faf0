/**
 * Leak checks: the sockets, servers and timers alive in this process, from Node's own list.
 */
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
