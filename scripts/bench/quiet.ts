/**
 * Measuring on a shared machine: wait for other work to subside before a section, and take a
 * sample again when another process took a noticeable share of the CPUs while it ran (the
 * sample would measure the other process as much as ours).
 */
import { backgroundLoad, foreignShare, snapshot } from './machine.ts'
import type { Progress } from './progress.ts'

/** Other processes above this share of the CPUs are worth waiting out before a section starts. */
const QUIET_SHARE = 0.1
/** A sample during which other processes used more than this share of the CPUs is taken again. */
const BUSY_SAMPLE_SHARE = 0.15
/** Retakes per sample at most: on a machine that never calms down the bench must still finish. */
const MAX_RETAKES = 2

/**
 * Waits (up to `maxMs`) until the machine is quiet, so a burst of other work does not land in the
 * middle of a section. Returns the share of the CPUs that was busy when it stopped waiting.
 */
export async function waitForQuiet (maxMs: number, onWait: (share: number) => void): Promise<number | undefined> {
  const deadline = performance.now() + maxMs
  let share = await backgroundLoad()
  while (share !== undefined && share > QUIET_SHARE && performance.now() < deadline) {
    onWait(share)
    share = await backgroundLoad()
  }
  return share
}

/** How many samples had to be taken again, and how many were kept disturbed after the last retake. */
export const retakes = { retaken: 0, keptDisturbed: 0 }

/** Runs `sample`, and again (a few times at most) while other processes disturbed it. */
export async function quietSample<T> (sample: () => Promise<T>, onRetake: (share: number) => void): Promise<T> {
  for (let retake = 0; ; retake++) {
    const before = await snapshot()
    const value = await sample()
    const after = await snapshot()
    if (before === undefined || after === undefined) return value
    const share = foreignShare(before, after)
    if (share <= BUSY_SAMPLE_SHARE) return value
    if (retake === MAX_RETAKES) {
      retakes.keptDisturbed++
      return value
    }
    retakes.retaken++
    onRetake(share)
  }
}

/** The usual `onRetake`: a progress line naming the sample. */
export function logRetake (progress: Progress, label: string): (share: number) => void {
  const PERCENT = 100
  return (share) => { progress.log(`  retaking ${label}: other processes used ${(share * PERCENT).toFixed(0)}% of the CPUs meanwhile`) }
}
