/**
 * RawConnection over a WebSocket, framed as multiserver's ws transport frames SHS: each write is
 * one binary message, and the messages the peer sends are read as one byte stream. A write longer
 * than a box-stream packet goes as several messages of a packet's size, as SHS peers send them
 * (servers bound the message size: ours at 256 KiB).
 */
import { WebSocket } from 'ws'
import { HEADER_BYTES, MAX_BODY_BYTES } from '../../boxstream/constants.ts'
import { PeerConnectError } from '../errors.ts'
import { QUEUE_LIMIT_BYTES, RawConnection, type Transport, type TransportEvents } from './connection.ts'

/** Certificate authorities to trust for `wss:` besides the system's (PEM). */
export type TrustedCa = string | Uint8Array | ReadonlyArray<string | Uint8Array>

/** The largest message we take from a peer: a flood in one message is refused by ws, not buffered. */
const MAX_MESSAGE_BYTES = QUEUE_LIMIT_BYTES
/** The largest message we send: one whole box-stream packet. */
const MAX_SEND_BYTES = HEADER_BYTES + MAX_BODY_BYTES
/** RFC 6455: the close code of a normal end. */
const NORMAL_CLOSE = 1000

function toBytes (data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data
}

function overWebSocket (socket: WebSocket): RawConnection {
  return new RawConnection((events: TransportEvents): Transport => {
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => { events.data(toBytes(data)) })
    socket.on('close', events.hangUp)
    // A message over the limit, a bad frame or a reset: the peer is gone for the checks.
    socket.on('error', events.hangUp)
    return {
      write: (bytes) => {
        for (let offset = 0; offset < bytes.byteLength && socket.readyState === WebSocket.OPEN; offset += MAX_SEND_BYTES) {
          socket.send(bytes.subarray(offset, offset + MAX_SEND_BYTES), { binary: true })
        }
      },
      // The close frame ends our half; ws still delivers what the peer sends until its own close.
      end: () => { if (socket.readyState === WebSocket.OPEN) socket.close(NORMAL_CLOSE) },
      destroy: () => { socket.terminate() },
      pause: () => { socket.pause() },
      resume: () => { socket.resume() }
    }
  })
}

export async function openWebSocket (url: string, timeout: number, ca: TrustedCa | undefined): Promise<RawConnection> {
  const socket = new WebSocket(url, {
    handshakeTimeout: timeout,
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE_BYTES,
    ca: ca === undefined ? undefined : (Array.isArray(ca) ? ca.map((item) => Buffer.from(item)) : Buffer.from(ca as string | Uint8Array))
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => {
      socket.removeAllListeners('error')
      resolve()
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.terminate()
      reject(new PeerConnectError(`could not open the WebSocket ${url} (${err.code ?? err.message}); for wss:, is its certificate trusted (ca)?`, { cause: err }))
    })
  })
  return overWebSocket(socket)
}
