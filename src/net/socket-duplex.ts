/**
 * A `node:net` socket as an it-pipe duplex with the half-close rules the box stream needs:
 * ending our writes sends FIN but keeps reading, and once the peer's data is done we drain to
 * EOF so the socket closes by itself instead of lingering.
 */
import type { Socket } from 'node:net'
import { ConnectionError } from '../errors.ts'
import type { ByteDuplex } from '../stream/types.ts'

export function socketDuplex (socket: Socket): ByteDuplex {
  return {
    source: readSocket(socket),
    sink: async (source) => { await writeSocket(socket, source) },
    abort: (reason) => { socket.destroy(reason) }
  }
}

async function * readSocket (socket: Socket): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    for await (const chunk of socket.iterator({ destroyOnReturn: false })) yield chunk as Uint8Array
  } finally {
    if (!socket.readableEnded && !socket.destroyed) {
      // The reader is done (goodbye received, or it gave up): discard anything more until EOF.
      socket.on('data', discard)
      socket.resume()
    }
  }
}

async function writeSocket (socket: Socket, source: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    for await (const chunk of source) {
      if (socket.destroyed) throw closedError(socket)
      if (!socket.write(chunk)) await drained(socket)
    }
  } catch (err) {
    socket.destroy()
    throw err
  }
  await new Promise<void>((resolve, reject) => {
    socket.end(() => { resolve() })
    socket.once('close', () => {
      if (socket.writableFinished) resolve()
      else reject(closedError(socket))
    })
  })
}

function drained (socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => { cleanup(); resolve() }
    const onClose = (): void => { cleanup(); reject(closedError(socket)) }
    const cleanup = (): void => {
      socket.off('drain', onDrain)
      socket.off('close', onClose)
    }
    socket.on('drain', onDrain)
    socket.on('close', onClose)
  })
}

function closedError (socket: Socket): ConnectionError {
  return new ConnectionError(`the connection to ${socket.remoteAddress ?? 'the peer'}:${socket.remotePort ?? '?'} closed while we were still writing`)
}

function discard (): void {}
