/**
 * The sink's writing loop: pulls the application's chunks into the outbox, and says goodbye when
 * they end. After a teardown it may still wake up: the machine then refuses to seal.
 */
import type { BoxStream } from '../connection/box-stream.ts'
import type { Outbox } from './outbox.ts'
import { type Chunk, type StreamTransport, toBytes } from './transport.ts'

/**
 * The writing loop, as promise callbacks (docs/PERFORMANCE.md, "The sink loop"). After a
 * teardown it may still wake up: the machine then refuses to seal.
 */
export function writeAll (box: BoxStream, transport: StreamTransport, outbox: Outbox, iterator: AsyncIterator<Chunk> | Iterator<Chunk>, progress: { sourceDone: boolean }): Promise<void> {
  // Looked up once, as for-await does.
  const next = iterator.next as () => Promise<IteratorResult<Chunk>> | IteratorResult<Chunk>
  return new Promise<void>((resolve, reject) => {
    const pull = (): void => {
      try {
        Promise.resolve(next.call(iterator)).then(take, reject)
      } catch (err) {
        reject(err)
      }
    }
    const take = (result: IteratorResult<Chunk>): void => {
      try {
        if (result.done === true) {
          progress.sourceDone = true
          outbox.flush()
          const goodbye = box.goodbye()
          transport.writeLast(goodbye.bytes).then(() => {
            if (goodbye.finished) transport.close()
            resolve()
          }, reject)
          return
        }
        const bytes = toBytes(result.value)
        const room = bytes.byteLength === 0 ? undefined : outbox.write(bytes)
        if (room === undefined) pull()
        else room.then(pull, reject)
      } catch (err) {
        reject(err)
      }
    }
    pull()
  })
}
