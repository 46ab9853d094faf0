/**
 * Waiting for a libp2p stream's send buffer to drain, shared by the Node tests and the browser
 * page (test/browser/libp2p-entry.ts), so it imports nothing from Node.
 */
import type { MessageStream } from '@libp2p/interface'

/**
 * Resolves at the stream's next 'drain' event; rejects if it closes first. (`stream.onDrain()`
 * in @libp2p/utils 7.4 keeps its first, already resolved promise, so it only waits once; asserted in
 * test/libp2p/upstream.test.ts, which fails once upstream fixes it.)
 */
export async function drained (stream: MessageStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
    }
    const onDrain = (): void => { cleanup(); resolve() }
    const onClose = (evt: { error?: Error }): void => {
      cleanup()
      reject(evt.error ?? new Error('the stream closed while waiting to send'))
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  })
}
