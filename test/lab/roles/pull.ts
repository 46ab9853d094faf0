/** The few pull-stream shapes the secret-stack roles use, typed, on the pull-stream package. */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

export type PullEnd = Error | boolean | null
export type PullSource<T> = (end: PullEnd, cb: (end: PullEnd, data?: T) => void) => void
export type PullSink<T> = (source: PullSource<T>) => void
export interface PullDuplex<T = Buffer> { readonly source: PullSource<T>, readonly sink: PullSink<T> }

interface PullStream {
  values: <T>(items: readonly T[]) => PullSource<T>
  collect: <T>(done: (end: PullEnd, items: T[]) => void) => PullSink<T>
  drain: <T>(each: (item: T) => void, done: (end: PullEnd) => void) => PullSink<T>
  through: <T>(each: (item: T) => void) => (source: PullSource<T>) => PullSource<T>
}
const pull = require('pull-stream') as PullStream

export const values = pull.values

/** Reads `source` to its end: all items, or the error it ended with. */
export function tap<T> (source: PullSource<T>, resolve: (items: T[]) => void, reject: (err: Error) => void): void {
  pull.collect<T>((end, items) => { if (end instanceof Error) reject(end); else resolve(items) })(source)
}

/** Calls `each` for every item of an endless source (the LAN discoveries). */
export function collect<T> (source: PullSource<T>, each: (item: T) => void): void {
  pull.drain(each, (end) => { if (end instanceof Error) process.stderr.write(`lab: a source ended with ${end.message}\n`) })(source)
}

/** `source` with `each` called on every item on the way. */
export const through = <T>(source: PullSource<T>, each: (item: T) => void): PullSource<T> => pull.through(each)(source)

/** A muxrpc duplex that sends back what it is sent: its source reads straight from its sink's input. */
export function echoDuplex (): PullDuplex {
  let input: PullSource<Buffer> | undefined
  let waiting: (() => void) | undefined
  return {
    sink (source) {
      input = source
      waiting?.()
    },
    source (end, cb) {
      if (input !== undefined) input(end, cb)
      else waiting = () => { (input as PullSource<Buffer>)(end, cb) }
    }
  }
}
