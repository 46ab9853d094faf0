/**
 * The bridge between pull-streams (what multiserver and secret-stack speak) and the async
 * iterables our duplexes speak. Both are pull-based, so each read on one side is one read on the
 * other: backpressure crosses the bridge unchanged, and nothing is buffered here.
 */
import { ConnectionError } from '../errors.ts'

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

/** What a pull source failed with, as an Error that says something. */
function failureOf (end: unknown): Error {
  if (!(end instanceof Error)) return new Error(`the pull-stream ended with ${String(end)}`)
  if (end.message !== '') return end
  // Node's WebSocket (undici, which pull-websocket uses) reports a connection lost without the
  // closing handshake as an error event whose error is a TypeError with no message.
  return new ConnectionError(`the transport failed without saying why (a ${end.name} with no message, as Node's ` +
    'WebSocket reports a connection lost without its closing handshake): the peer crashed or the network failed', { cause: end })
}

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
        throw failureOf(end)
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
