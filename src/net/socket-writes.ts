/** Waiting on a socket's writes, shared by the TCP adapters. */
import type { Socket } from 'node:net'
import { ConnectionError } from '../errors.ts'

/** Resolves on 'drain'; rejects if the socket closes first, so a writer never waits forever. */
export function drained (socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => { cleanup(); resolve() }
    const onClose = (): void => { cleanup(); reject(closedWhileWriting(socket)) }
    const cleanup = (): void => {
      socket.off('drain', onDrain)
      socket.off('close', onClose)
    }
    socket.on('drain', onDrain)
    socket.on('close', onClose)
  })
}

/** Writes `bytes` and resolves once the kernel has them and everything before, so "sent" means sent. */
export function flushed (socket: Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(bytes, (err) => { if (err == null) resolve(); else reject(closedWhileWriting(socket)) })
  })
}

function closedWhileWriting (socket: Socket): ConnectionError {
  return new ConnectionError(`the connection to ${socket.remoteAddress ?? 'the peer'} closed while we were still writing: the peer hung up or crashed`)
}
