/**
 * How the suite reads the peer's box stream: bytes in, opened packets out, with no I/O (the
 * channel feeds it). It is the library's sans-IO connection machine, `BoxStream`, whose rules
 * are the references' (an empty packet that is not goodbye is an empty message; a length above
 * 4096 fails), so the checks judge a peer by them. The suite's own packets are sealed apart
 * (packet-sealer.ts), since it must send what no honest peer would.
 */
import { BoxStream } from '../connection/box-stream.ts'
import type { SessionKeys } from '../handshake/session.ts'

export type Opened =
  | { readonly kind: 'data', readonly plaintext: Uint8Array }
  | { readonly kind: 'goodbye' }
  | { readonly kind: 'bad', readonly reason: string }

export interface PacketReader {
  /** Every packet `bytes` completes; opening stops for good at a goodbye or a bad packet. */
  push: (bytes: Uint8Array) => Opened[]
}

/** Reads with copies of the session's keys: the checks still seal with the session after this. */
export function createPacketReader (session: SessionKeys): PacketReader {
  const box = new BoxStream({
    remotePublicKey: session.remotePublicKey,
    encryptKey: Uint8Array.from(session.encryptKey),
    encryptNonce: session.encryptNonce,
    decryptKey: Uint8Array.from(session.decryptKey),
    decryptNonce: session.decryptNonce
  })
  let done = false
  return {
    push (bytes) {
      if (done) return []
      const opened: Opened[] = []
      for (const event of box.receive(bytes)) {
        if (event.type === 'data') {
          opened.push({ kind: 'data', plaintext: event.plaintext })
        } else if (event.type === 'goodbye') {
          opened.push({ kind: 'goodbye' })
          done = true
        } else if (event.type === 'failed') {
          opened.push({ kind: 'bad', reason: event.error.message })
          done = true
        }
      }
      return opened
    }
  }
}
