/** The raw stream a multiserver transport (net, ws, …) hands a transform, as the it-pipe duplex our handshake runs on. */
import type { ByteDuplex } from '../driver/types.ts'
import { type PullCallback, type PullDuplex, type PullEnd, type PullSource, fromPullSource } from './pull.ts'

function ignore (): void {}

export function pullToByteDuplex (stream: PullDuplex<Buffer>): ByteDuplex {
  let stopSink: (error: Error) => void = ignore
  let aborted = false
  return {
    source: fromPullSource(stream.source, false),
    sink: async (chunks) => {
      await new Promise<void>((resolve) => {
        const outgoing = stoppableSource(chunks, resolve)
        stopSink = outgoing.stop
        stream.sink(outgoing.read)
      })
    },
    abort: (error) => {
      if (aborted) return
      aborted = true
      stopSink(error)
      // Abort the transport's source now, even with a read in flight (pull-streams allow it).
      stream.source(error, ignore)
    }
  }
}

/**
 * Our outgoing bytes as the pull source the transport's sink reads (as Buffers, which net and ws
 * sinks expect); `stop` ends it at once with an error, even while it waits for bytes, and `onEnd`
 * hears once that it ended, either way.
 */
function stoppableSource (chunks: AsyncIterable<Uint8Array>, onEnd: () => void): { read: PullSource<Buffer>, stop: (error: Error) => void } {
  const iterator = chunks[Symbol.asyncIterator]()
  let finished: PullEnd = null
  let pending: PullCallback<Buffer> | undefined
  const finish = (end: true | Error): void => {
    if (finished !== null) return
    finished = end
    onEnd()
    const cb = pending
    pending = undefined
    cb?.(end)
  }
  const read: PullSource<Buffer> = (abort, cb) => {
    if (finished !== null) { cb(finished); return }
    if (abort !== null && abort !== undefined && abort !== false) {
      finish(abort === true ? true : abort)
      cb(finished)
      void iterator.return?.()
      return
    }
    pending = cb
    iterator.next().then(
      (result) => {
        if (finished !== null) return
        if (result.done === true) { finish(true); return }
        pending = undefined
        const chunk = result.value
        cb(null, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      },
      (err: unknown) => { finish(err instanceof Error ? err : new Error(String(err))) })
  }
  return {
    read,
    stop: (error) => {
      finish(error)
      void iterator.return?.()
    }
  }
}
