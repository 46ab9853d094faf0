/**
 * A `node:net` socket as an it-pipe duplex with the closing rules the box stream needs.
 *
 * The box stream's goodbye is the half-close; TCP's FIN is sent only once both directions are
 * done. Sending FIN right after our goodbye would be legal, but Scuttlebutt's reference peers
 * run sockets without half-open support: on our FIN they end their side too, cutting data they
 * were still sending us (shs1.md, "Known behaviours of the reference packages").
 */
import type { Socket } from 'node:net'
import { ConnectionError } from '../errors.ts'
import type { ByteDuplex } from '../stream/types.ts'
import { closedWhileWriting, discard, drained, flushed } from './socket-writes.ts'

const FLUSH_MARKER = new Uint8Array(0)

export function socketDuplex (socket: Socket): ByteDuplex {
  // Failures reach the user through the source and the sink; an unlistened 'error' event would
  // instead crash the process.
  socket.on('error', discard)
  let writing = true
  let reading = true
  const endWhenIdle = (): void => {
    if (!writing && !reading && !socket.destroyed) socket.end()
  }
  return {
    source: readSocket(socket, () => { reading = false; endWhenIdle() }),
    sink: async (source) => {
      await writeSocket(socket, source)
      writing = false
      endWhenIdle()
    },
    abort: () => { socket.destroy() }
  }
}

async function * readSocket (socket: Socket, onDone: () => void): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    for await (const chunk of socket.iterator({ destroyOnReturn: false })) yield chunk as Uint8Array
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new ConnectionError(`the connection broke (${code ?? (err as Error).message}): the peer crashed or the network failed`, { cause: err })
  } finally {
    if (!socket.readableEnded && !socket.destroyed) {
      // Our reader is done (goodbye received, or it gave up): discard the rest until the peer's FIN.
      socket.on('data', discard)
      socket.resume()
    }
    onDone()
  }
}

async function writeSocket (socket: Socket, source: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    for await (const chunk of source) {
      if (socket.destroyed) throw closedWhileWriting(socket)
      if (!socket.write(chunk)) await drained(socket)
    }
    // Resolve only once everything has reached the kernel, so `sink()` means "sent".
    await flushed(socket, FLUSH_MARKER)
  } catch (err) {
    socket.destroy()
    throw err
  }
}
