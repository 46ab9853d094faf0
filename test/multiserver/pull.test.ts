/** The pull-stream bridge on its own: ends, errors and aborts cross it both ways. */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { ConnectionError } from '../../src/index.ts'
import { type PullEnd, type PullSource, fromPullSource, toPullSource } from '../../src/multiserver/pull.ts'

const require = createRequire(import.meta.url)
const pull = require('pull-stream')

async function collect<T> (source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of source) out.push(item)
  return out
}

describe('pull-stream bridge', () => {
  it('reads a pull source to its end, and passes its error on', async () => {
    assert.deepEqual(await collect(fromPullSource(pull.values([1, 2, 3]))), [1, 2, 3])
    await assert.rejects(collect(fromPullSource(pull.error(new Error('broke')))), /broke/)
  })

  it('turns an error with no message (Node\'s WebSocket on a lost connection) into a ConnectionError that says what it was', async () => {
    const silent = new TypeError()
    await assert.rejects(collect(fromPullSource(pull.error(silent))), (err: unknown) => {
      assert.ok(err instanceof ConnectionError)
      assert.equal(err.cause, silent)
      assert.match(err.message, /^the transport failed without saying why \(a TypeError with no message/)
      return true
    })
  })

  it('aborts the pull source when the reader stops early, unless told not to (a transport under a finished box stream)', async () => {
    for (const abortOnReturn of [true, false]) {
      let aborted: PullEnd = null
      const source: PullSource<number> = (abort, cb) => {
        if (abort !== null && abort !== undefined) { aborted = abort; cb(abort); return }
        cb(null, 1)
      }
      for await (const item of fromPullSource(source, abortOnReturn)) { assert.equal(item, 1); break }
      assert.equal(aborted, abortOnReturn ? true : null)
    }
  })

  it('keeps every answer when a source calls one read\'s callback more than once (pull-websocket does)', async () => {
    let sent = false
    const source: PullSource<string> = (abort, cb) => {
      if (abort !== null && abort !== undefined) { cb(abort); return }
      if (sent) { cb(true); return }
      sent = true
      cb(null, 'a')
      cb(null, 'b')
    }
    assert.deepEqual(await collect(fromPullSource(source)), ['a', 'b'])
  })

  it('serves an async iterable as a pull source: values, end, and an error as the end', async () => {
    async function * good (): AsyncGenerator<number> { yield 1; yield 2 }
    async function * bad (): AsyncGenerator<number> { yield 1; throw new Error('gone') }
    const collectPull = async (source: PullSource<number>): Promise<number[]> => await new Promise((resolve, reject) => {
      pull(source, pull.collect((err: Error | null, items: number[]) => { if (err !== null) reject(err); else resolve(items) }))
    })
    assert.deepEqual(await collectPull(toPullSource(good())), [1, 2])
    await assert.rejects(collectPull(toPullSource(bad())), /gone/)
  })

  it('an abort from the pull side ends the async iterable (its finally runs) and tells onEnd', async () => {
    let cleaned = false
    async function * endless (): AsyncGenerator<number> {
      try { for (let i = 0; ; i++) yield i } finally { cleaned = true }
    }
    let ended: Error | null | undefined
    const source = toPullSource(endless(), (error) => { ended = error })
    const taken = await new Promise<number[]>((resolve, reject) => {
      pull(source, pull.take(3), pull.collect((err: Error | null, items: number[]) => { if (err !== null) reject(err); else resolve(items) }))
    })
    assert.deepEqual(taken, [0, 1, 2])
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(cleaned, true)
    assert.equal(ended, null)
  })
})
