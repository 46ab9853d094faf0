/** Waiting on a socket's last write, shared by the TCP adapters. */
import type { Socket } from 'node:net'
import { ConnectionError } from '../errors.ts'

/** Writes `bytes` and resolves once the kernel has them and everything before, so "sent" means sent. */
export function flushed (socket: Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(bytes, (err) => { if (err == null) resolve(); else reject(closedWhileWriting(socket)) })
  })
}

function closedWhileWriting (socket: Socket): ConnectionError {
  return new ConnectionError(`the connection to ${socket.remoteAddress ?? 'the peer'} closed while we were still writing: the peer hung up or crashed`)
}
