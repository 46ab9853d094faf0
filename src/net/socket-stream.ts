/**
 * The box stream straight on a `node:net` socket, without the generic duplex plumbing: each
 * 'data' chunk is opened synchronously into one plaintext buffer, and the application's reads
 * are served from a small queue. An idle connection holds little more than the socket, the
 * two codecs and four listeners.
 *
 * Closing follows the box stream: our goodbye is the half-close, and TCP's FIN goes out only
 * once both directions are done, because Scuttlebutt's reference peers, which cannot be half
 * open, answer a FIN by ending their side too and cut what they were still sending (shs1.md,
 * "Known behaviours of the reference packages").
 */
import type { Socket } from 'node:net'
import { BoxStreamDecoder } from '../boxstream/decoder.ts'
import { BoxStreamEncoder } from '../boxstream/encoder.ts'
import { ConnectionError, ShsError } from '../errors.ts'
import { discard, drained, flushed } from './socket-writes.ts'
import { type SessionKeys, wipeSession } from '../handshake/session.ts'
import { toBytes } from '../stream/reader.ts'
import type { SecureStream } from '../stream/types.ts'

/** Plaintext we hold for a slow reader before we stop reading the socket (TCP then pushes back). */
const READ_QUEUE_HIGH_WATER_MARK = 1024 * 1024

type Waiter = { resolve: (result: IteratorResult<Uint8Array>) => void, reject: (error: Error) => void }

export function createSocketSecureStream (socket: Socket, session: SessionKeys): SecureStream {
  const encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce)
  const decoder = new BoxStreamDecoder(session.decryptKey, session.decryptNonce)
  wipeSession(session)

  const queue: Uint8Array[] = []
  let queuedBytes = 0
  let waiter: Waiter | undefined
  let failure: Error | undefined
  let reading = true
  let writing = true
  let sinkCalled = false

  const endWhenIdle = (): void => {
    if (!reading && !writing && !socket.destroyed) socket.end()
  }

  const settle = (): void => {
    if (waiter === undefined) return
    const pending = waiter
    const chunk = queue.shift()
    if (chunk !== undefined) {
      queuedBytes -= chunk.byteLength
      if (queuedBytes < READ_QUEUE_HIGH_WATER_MARK && reading && socket.isPaused()) socket.resume()
      waiter = undefined
      pending.resolve({ value: chunk, done: false })
    } else if (failure !== undefined) {
      waiter = undefined
      pending.reject(failure)
    } else if (!reading) {
      waiter = undefined
      pending.resolve({ value: undefined, done: true })
    }
  }

  /** Nothing more will be read; wakes a waiting reader with the end or the failure. */
  const finishReading = (): void => {
    if (!reading) return
    reading = false
    socket.off('data', onData)
    socket.off('end', onEnd)
    decoder.destroy()
    settle()
  }

  /** The peer said goodbye: drain to its FIN so the socket can close by itself. */
  const onGoodbye = (): void => {
    finishReading()
    socket.on('data', discard)
    socket.resume()
    endWhenIdle()
  }

  /** Tampering, truncation, a broken socket or an abort: the connection is over, both ways. */
  const tearDown = (error: Error): void => {
    failure ??= error
    encoder.destroy()
    socket.destroy()
    finishReading()
  }

  const onData = (chunk: Buffer): void => {
    let plaintexts: Uint8Array[]
    try {
      plaintexts = decoder.push(chunk)
    } catch (err) {
      tearDown(err as Error)
      return
    }
    for (const plaintext of plaintexts) {
      queue.push(plaintext)
      queuedBytes += plaintext.byteLength
    }
    if (decoder.error !== undefined) tearDown(decoder.error)
    else if (decoder.ended) onGoodbye()
    else if (queuedBytes >= READ_QUEUE_HIGH_WATER_MARK) socket.pause()
    settle()
  }

  const onEnd = (): void => {
    try {
      decoder.finish()
      onGoodbye()
    } catch (err) {
      tearDown(err as Error)
    }
  }

  const onClose = (): void => {
    if (reading) tearDown(new ConnectionError('the connection closed before the peer\'s goodbye: the peer crashed or the network failed'))
  }

  const onError = (err: NodeJS.ErrnoException): void => {
    tearDown(new ConnectionError(`the connection broke (${err.code ?? err.message}): the peer crashed or the network failed`, { cause: err }))
  }

  socket.on('data', onData)
  socket.on('end', onEnd)
  socket.once('close', onClose)
  socket.on('error', onError)
  // The peer may have hung up before we got here (while a slow authorize decided, say): its
  // 'end' or 'close' has fired already and will not fire again, and a half-open socket would
  // otherwise wait forever, with the source never settling.
  if (socket.destroyed) onClose()
  else if (socket.readableEnded) onEnd()
  // The handshake read in paused mode; 'data' alone does not restart the flow.
  else socket.resume()

  const source: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: () => new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
        if (waiter !== undefined) {
          reject(new ShsError('ERR_SHS_INVALID_STATE', 'the secure stream\'s source is already being read: read it from one place'))
          return
        }
        waiter = { resolve, reject }
        settle()
      }),
      // The reader gave up early: the connection cannot be read any more, so let it go.
      return: async () => {
        if (reading) tearDown(new ShsError('ERR_BOX_STREAM_CLOSED', 'the application stopped reading the secure stream'))
        return { value: undefined, done: true }
      }
    })
  }

  return {
    remotePublicKey: session.remotePublicKey,
    source,
    async sink (plaintext): Promise<void> {
      if (sinkCalled) throw new ShsError('ERR_SHS_INVALID_STATE', 'sink() was already called on this secure stream: pipe one source into it')
      sinkCalled = true
      try {
        for await (const chunk of plaintext) {
          if (failure !== undefined) throw failure
          const sealed = encoder.encode(toBytes(chunk))
          if (sealed.byteLength > 0 && !socket.write(sealed)) await drained(socket)
        }
        if (failure !== undefined) throw failure
        // shs1.md, "Box-stream": goodbye marks a clean end of what we send.
        await flushed(socket, encoder.goodbye())
      } catch (err) {
        tearDown(err as Error)
        throw err
      }
      writing = false
      endWhenIdle()
    },
    abort (reason?: Error): void {
      tearDown(reason ?? new ShsError('ERR_BOX_STREAM_CLOSED', 'the secure stream was aborted'))
    }
  }
}
