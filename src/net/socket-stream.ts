/**
 * The secure stream on a `node:net` socket: a thin transport under `ConnectionStream`. Each
 * 'data' chunk is opened synchronously (in place: the socket gives the chunk up), and sealed
 * writes of a full batch go into buffers used again once the socket has written them.
 *
 * Closing follows the box stream: our goodbye is the half-close, and TCP's FIN goes out only
 * once both directions are done, because Scuttlebutt's reference peers, which cannot be half
 * open, answer a FIN by ending their side too and cut what they were still sending (shs1.md,
 * "Known behaviours of the reference packages").
 */
import type { Socket } from 'node:net'
import { ConnectionError } from '../errors.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { ConnectionStream, type StreamTransport, connectionBroke } from '../connection/stream.ts'
import type { SecureStream } from '../stream/types.ts'
import { flushed } from './socket-writes.ts'

/** Sealed size of a 64 KiB write, the size Node's streams and sockets usually deal in. */
const POOLED_BUFFER_BYTES = ConnectionStream.sealedLength(64 * 1024)
/**
 * Below this, a write is sealed into a buffer of its own size (Node's 8 KiB pool serves it):
 * a stream of small writes must not cost a 64 KiB buffer each while the socket is busy.
 */
const SMALL_WRITE_BYTES = 16 * 1024
/** Buffers kept for reuse by one sink: enough for the writes in flight before 'drain'. */
const MAX_SPARE_BUFFERS = 4

export function createSocketSecureStream (socket: Socket, session: SessionKeys): SecureStream {
  const stream = new ConnectionStream(session)
  const spare: Uint8Array[] = []
  const transport: StreamTransport = {
    outputBuffer: (sealedLength) => sealedLength < SMALL_WRITE_BYTES || sealedLength > POOLED_BUFFER_BYTES
      ? undefined
      : spare.pop() ?? Buffer.allocUnsafe(POOLED_BUFFER_BYTES),
    // The write's callback is the socket handing it to the kernel: until then the outbox gathers
    // what follows into one batch (and the socket's buffer holds at most one batch of ours).
    // The callback of a write the kernel took at once comes on the next tick, and Node runs every
    // queued tick before the promise jobs: the writer the previous batch woke has not written
    // yet. Passing it on as a promise job lets that writer fill the next batch first, instead of
    // the outbox sending the one chunk it holds, and the next, as packets of their own.
    write: (sealed, buffer, taken) => {
      socket.write(sealed, (err) => {
        if (err != null) return
        if (buffer !== undefined && spare.length < MAX_SPARE_BUFFERS) spare.push(buffer)
        queueMicrotask(taken)
      })
    },
    flush: async (sealed) => { await flushed(socket, sealed) },
    end: () => { if (!socket.destroyed) socket.end() },
    destroy: () => { socket.destroy() },
    pause: () => { socket.pause() },
    resume: () => { socket.resume() }
  }
  stream.attach(transport)
  // The socket gives each chunk up, so it is opened in place.
  socket.on('data', (chunk: Buffer) => { stream.receive(chunk, true) })
  socket.on('end', () => { stream.receiveEnd() })
  socket.on('error', (err) => { stream.transportFailed(connectionBroke(err)) })
  socket.once('close', () => { stream.transportFailed(closedEarly(stream)) })
  // The peer may have hung up before we got here (while a slow authorize decided, say): its
  // 'end' or 'close' has fired already and will not fire again.
  if (socket.destroyed) stream.transportFailed(closedEarly(stream))
  else if (socket.readableEnded) stream.receiveEnd()
  // The handshake read in paused mode; 'data' alone does not restart the flow.
  else socket.resume()
  return stream
}

function closedEarly (stream: ConnectionStream): ConnectionError {
  if (stream.connection.receivedGoodbye()) {
    return new ConnectionError('the peer closed the connection after its goodbye while we were still writing: ' +
      'it does not wait for our goodbye (or it crashed)')
  }
  return new ConnectionError('the connection closed before the peer\'s goodbye: the peer crashed or the network failed')
}
