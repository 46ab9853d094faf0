/**
 * The server handshake on a WebSocket of the `ws` package that the application accepted itself
 * (on an HTTP server of its own, say): what `listenWebSocket` runs on every connection.
 */
import type { WebSocket } from 'ws'
import { SecretHandshake } from '../handshake/machine.ts'
import { checkRekeyOption } from '../handshake/rekey-options.ts'
import { checkCallback, checkOptions, checkSignal, checkTimeout } from '../options.ts'
import { acceptEveryone, runHandshake, withDeadline } from '../driver/handshake.ts'
import type { SecureStream, ServerHandshakeOptions } from '../driver/types.ts'
import { type WebSocketOptions, checkSocket, checkWebSocketOptions, nodeWebSocketChannel } from './node-socket.ts'

export type AcceptWebSocketOptions = ServerHandshakeOptions & WebSocketOptions

/** Runs the server handshake over `socket`; resolves with the secure stream once the client proved its key and was authorized. */
export async function acceptWebSocket (socket: WebSocket, options: AcceptWebSocketOptions): Promise<SecureStream> {
  checkSocket(socket)
  const { keys, networkKey } = checkOptions(options)
  const socketOptions = checkWebSocketOptions(options)
  const timeout = checkTimeout(options.timeout)
  const signal = checkSignal(options.signal)
  const onProgress = checkCallback(options.onHandshakeProgress, 'onHandshakeProgress')
  const authorize = checkCallback(options.authorize, 'authorize') ?? acceptEveryone
  const rekey = checkRekeyOption(options.rekey)
  const machine = SecretHandshake.server({ keys, networkKey, rekey })
  return await withDeadline({ timeout, signal }, async (deadline) => {
    const channel = nodeWebSocketChannel(socket, socketOptions)
    return channel.secure(await runHandshake(channel.handshake, machine, deadline, authorize, onProgress))
  })
}
