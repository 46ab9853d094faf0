/**
 * `/shs/1.1.0`: SHS1 with the stream muxer agreed inside the handshake, so libp2p's upgrader
 * needs no multistream-select round of its own after it. The dialer sends its muxers, in order
 * of preference, as early data right behind message 3; the listener answers with the first one
 * it runs, as the first data behind message 4. Each is one message: a 2-byte big-endian length,
 * then the protocol ids, UTF-8, separated by newlines (none: no muxer, libp2p negotiates one).
 */
import type { MessageStream } from '@libp2p/interface'
import { HandshakeError } from '../errors.ts'
import type { Deadline } from '../driver/deadline.ts'

const LENGTH_BYTES = 2
/** Room for a few muxers' ids; a longer message is no muxer list. */
const MAX_MESSAGE_BYTES = 1024

export function encodeMuxers (protocols: readonly string[]): Uint8Array {
  const body = new TextEncoder().encode(protocols.join('\n'))
  if (body.byteLength > MAX_MESSAGE_BYTES) throw new RangeError(`${protocols.length} muxer ids are more than ${MAX_MESSAGE_BYTES} bytes`)
  const message = new Uint8Array(LENGTH_BYTES + body.byteLength)
  message[0] = body.byteLength >>> 8
  message[1] = body.byteLength & 0xff
  message.set(body, LENGTH_BYTES)
  return message
}

/** The peer's muxer message, the first data of `stream`; what came after it stays in the stream for the muxer. */
export async function readMuxers (stream: MessageStream, deadline: Deadline): Promise<string[]> {
  let received = new Uint8Array(0)
  let onMessage: ((evt: { data: { subarray: () => Uint8Array } }) => void) | undefined
  let onClose: (() => void) | undefined
  const message = new Promise<Uint8Array>((resolve, reject) => {
    onMessage = (evt) => {
      const chunk = evt.data.subarray()
      const joined = new Uint8Array(received.byteLength + chunk.byteLength)
      joined.set(received)
      joined.set(chunk, received.byteLength)
      received = joined
      if (received.byteLength < LENGTH_BYTES) return
      const length = (received[0] as number) << 8 | (received[1] as number)
      if (length > MAX_MESSAGE_BYTES) {
        reject(new HandshakeError('ERR_SHS_BAD_MUXER_MESSAGE', `the peer's muxer message announces ${length} bytes (at most ${MAX_MESSAGE_BYTES}): it does not speak /shs/1.1.0 as we do`))
        return
      }
      if (received.byteLength >= LENGTH_BYTES + length) resolve(received)
    }
    onClose = () => { reject(new HandshakeError('ERR_SHS_CONNECTION', 'the connection closed before the peer named its stream muxers (/shs/1.1.0)')) }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('close', onClose)
  })
  try {
    const bytes = await deadline.race(message, () => 'waiting for the peer\'s stream muxers')
    const length = (bytes[0] as number) << 8 | (bytes[1] as number)
    const rest = bytes.subarray(LENGTH_BYTES + length)
    if (rest.byteLength > 0) stream.unshift(rest)
    const text = new TextDecoder().decode(bytes.subarray(LENGTH_BYTES, LENGTH_BYTES + length))
    return text === '' ? [] : text.split('\n')
  } finally {
    stream.removeEventListener('message', onMessage as never)
    stream.removeEventListener('close', onClose as never)
  }
}
