/**
 * The secure stream on a `node:net` socket: a thin transport under `SecureStreamDriver`. Each
 * 'data' chunk is opened synchronously (in place: the socket gives the chunk up), and sealed
 * writes of a full batch go into buffers used again once the socket has written them.
 *
 * Closing follows the box stream: our goodbye is the half-close, and TCP's FIN goes out only
 * once both directions are done, because Scuttlebutt's reference peers, which cannot be half
 * open, answer a FIN by ending their side too and cut what they were still sending (docs/PROTOCOL.md,
 * "Known behaviours of the reference packages").
 */
import type { Socket } from 'node:net'
import { ConnectionError } from '../errors.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { SecureStreamDriver } from '../driver/secure-stream.ts'
import { type StreamTransport, connectionBroke } from '../driver/transport.ts'
import type { SecureStream } from '../driver/types.ts'
import { flushed } from './socket-writes.ts'
import { reportedElsewhere } from './tcp.ts'
import { FINISHED_LINGER_MS } from '../driver/constants.ts'

/** Sealed size of a 64 KiB write, the size Node's streams and sockets usually deal in. */
const POOLED_BUFFER_BYTES = SecureStreamDriver.sealedLength(64 * 1024)
/**
 * Below this, a write is sealed into a buffer of its own size (Node's 8 KiB pool serves it):
 * a stream of small writes must not cost a 64 KiB buffer each while the socket is busy.
 */
const SMALL_WRITE_BYTES = 16 * 1024
/** Buffers kept for reuse by one sink: enough for the writes in flight before 'drain'. */
const MAX_SPARE_BUFFERS = 4

/**
 * The stream a socket feeds. The socket's listeners are shared functions that find it here
 * (EventEmitter calls them with the socket as `this`; docs/PERFORMANCE.md, "No closures per connection").
 */
const STREAM = Symbol('shs-transport.stream')
type StreamSocket = Socket & { [STREAM]?: SecureStreamDriver }

function streamOf (socket: Socket): SecureStreamDriver {
  return (socket as StreamSocket)[STREAM] as SecureStreamDriver
}

// The socket gives each chunk up, so it is opened in place.
function onData (this: Socket, chunk: Buffer): void { streamOf(this).receive(chunk, true) }
function onEnd (this: Socket): void { streamOf(this).receiveEnd() }
function onError (this: Socket, err: Error): void { streamOf(this).transportFailed(connectionBroke(err)) }
// 'close' comes once, so a plain listener does.
function onClose (this: Socket): void {
  const stream = streamOf(this)
  // Built only if someone will see it: after both goodbyes a close is no error.
  stream.transportFailed(() => closedEarly(stream))
}

/** What the connection's life cycle asks of the socket. */
class SocketTransport implements StreamTransport {
  readonly #socket: Socket
  /** Pooled buffers for reuse, once a large write needed one. */
  #spare: Uint8Array[] | undefined

  constructor (socket: Socket) {
    this.#socket = socket
  }

  outputBuffer (sealedLength: number): Uint8Array | undefined {
    if (sealedLength < SMALL_WRITE_BYTES || sealedLength > POOLED_BUFFER_BYTES) return undefined
    return this.#spare?.pop() ?? Buffer.allocUnsafe(POOLED_BUFFER_BYTES)
  }

  // The write's callback is the socket handing it to the kernel: until then the outbox gathers
  // what follows into one batch. It is passed on as a promise job (docs/PERFORMANCE.md, "Write
  // callbacks become promise jobs").
  write (sealed: Uint8Array, buffer: Uint8Array | undefined, taken: () => void): void {
    this.#socket.write(sealed, (err) => {
      if (err != null) return
      if (buffer !== undefined) {
        const spare = this.#spare ??= []
        if (spare.length < MAX_SPARE_BUFFERS) spare.push(buffer)
      }
      queueMicrotask(taken)
    })
  }

  async writeLast (sealed: Uint8Array): Promise<void> { await flushed(this.#socket, sealed) }

  /** FIN once what was written is out; a peer that never sends its own FIN is cut off after FINISHED_LINGER_MS. */
  close (): void {
    const socket = this.#socket
    if (socket.destroyed) return
    socket.end()
    const linger = setTimeout(() => { socket.destroy() }, FINISHED_LINGER_MS)
    // The connection is over: the linger must not keep the process alive.
    linger.unref()
    socket.once('close', () => { clearTimeout(linger) })
  }

  destroy (): void { this.#socket.destroy() }
  pause (): void { this.#socket.pause() }
  resume (): void { this.#socket.resume() }
}

export function createSocketSecureStream (socket: Socket, session: SessionKeys): SecureStream {
  const stream = new SecureStreamDriver(session)
  stream.attach(new SocketTransport(socket))
  ;(socket as StreamSocket)[STREAM] = stream
  socket.on('data', onData)
  socket.on('end', onEnd)
  socket.on('error', onError)
  // The placeholder that kept errors off the process until now: ours takes over (and the socket
  // keeps one listener, not an array of two).
  socket.off('error', reportedElsewhere)
  socket.on('close', onClose)
  // The peer may have hung up before we got here (while a slow authorize decided, say): its
  // 'end' or 'close' has fired already and will not fire again.
  if (socket.destroyed) stream.transportFailed(closedEarly(stream))
  else if (socket.readableEnded) stream.receiveEnd()
  // The handshake read in paused mode; 'data' alone does not restart the flow.
  else socket.resume()
  return stream
}

function closedEarly (stream: SecureStreamDriver): ConnectionError {
  if (stream.box.reading === 'ended') {
    return new ConnectionError('the peer closed the connection after its goodbye while we were still writing: ' +
      'it does not wait for our goodbye (or it crashed)')
  }
  return new ConnectionError('the connection closed before the peer\'s goodbye: the peer crashed or the network failed')
}
