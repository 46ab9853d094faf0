/** The wait `close()` makes before its goodbye: until every queued byte was sealed and sent. */
import type { MessageStream, StreamCloseEvent } from '@libp2p/interface'
import { AbortError, BoxStreamError } from '../errors.ts'

/** Resolves once the write queue has been handed to the raw connection; rejects if the stream closes first. */
export async function waitForIdle (stream: MessageStream, signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      stream.removeEventListener('idle', onIdle)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onIdle = (): void => { cleanup(); resolve() }
    const onClose = (evt: StreamCloseEvent): void => {
      cleanup()
      reject(evt.error ?? new BoxStreamError('ERR_BOX_STREAM_CLOSED', 'the connection closed before the queued data was sent'))
    }
    const onAbort = (): void => {
      cleanup()
      reject(new AbortError('closing the shs connection was aborted while data was still queued', { cause: signal?.reason }))
    }
    if (signal?.aborted === true) { onAbort(); return }
    stream.addEventListener('idle', onIdle)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
}
