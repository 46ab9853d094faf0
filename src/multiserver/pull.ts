/**
 * The bridge between pull-streams (what multiserver and secret-stack speak) and the async
 * iterables our duplexes speak. Both are pull-based, so each read on one side is one read on the
 * other: backpressure crosses the bridge unchanged, and nothing is buffered here.
 */

/** `true` for a clean end, an Error for a failure, null/undefined for "go on". */
export type PullEnd = boolean | Error | null | undefined
export type PullCallback<T> = (end: PullEnd, data?: T) => void
export type PullSource<T> = (abort: PullEnd, cb: PullCallback<T>) => void
export type PullSink<T> = (source: PullSource<T>) => void

export interface PullDuplex<T> {
  source: PullSource<T>
  sink: PullSink<T>
}

function ignore (): void {}

/**
 * Reads a pull source as an async iterable; stopping early (break, throw) aborts the source,
 * unless `abortOnReturn` is false: a transport must not be torn down just because the box
 * stream inside it ended (our goodbye may still be on its way out).
 */
export async function * fromPullSource<T> (source: PullSource<T>, abortOnReturn = true): AsyncGenerator<T, void, undefined> {
  // Callbacks not yet consumed. One read has one callback, but pull-websocket's source calls the
  // same callback again for every message that arrives before the next read: keep those too.
  const answers: Array<{ end: PullEnd, data?: T }> = []
  let wake: (() => void) | undefined
  let reading = false
  let ended = false
  try {
    for (;;) {
      if (answers.length === 0 && !reading) {
        reading = true
        source(null, (end, data) => {
          reading = false
          answers.push({ end, data })
          wake?.()
        })
      }
      if (answers.length === 0) await new Promise<void>((resolve) => { wake = resolve })
      wake = undefined
      const answer = answers.shift()
      if (answer === undefined) continue
      const { end, data } = answer
      if (end === true) { ended = true; return }
      if (end !== null && end !== undefined && end !== false) {
        ended = true
        throw end instanceof Error ? end : new Error(`the pull-stream ended with ${String(end)}`)
      }
      yield data as T
    }
  } finally {
    if (!ended && abortOnReturn) source(true, ignore)
  }
}

/**
 * An async iterable as a pull source. `onEnd` hears once how it ended (null when cleanly), so a
 * caller can tell when the consumer has read everything.
 */
export function toPullSource<T> (iterable: AsyncIterable<T>, onEnd: (error: Error | null) => void = ignore): PullSource<T> {
  const iterator = iterable[Symbol.asyncIterator]()
  let finished: PullEnd = null
  const finish = (end: true | Error): void => {
    if (finished !== null) return
    finished = end
    onEnd(end === true ? null : end)
  }
  return (abort, cb) => {
    if (finished !== null) { cb(finished); return }
    if (abort !== null && abort !== undefined && abort !== false) {
      const end = abort === true ? true : abort
      finish(end)
      iterator.return?.().then(() => { cb(end) }, () => { cb(end) })
      return
    }
    iterator.next().then(
      (result) => {
        if (finished !== null) {
          cb(finished)
        } else if (result.done === true) {
          finish(true)
          cb(true)
        } else {
          cb(null, result.value)
        }
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err))
        finish(error)
        cb(error)
      })
  }
}
