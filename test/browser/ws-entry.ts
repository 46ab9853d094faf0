/**
 * The browser WebSocket test bundle: connect with the browser entry's client, then echo a
 * deterministic payload through the server and check every byte that comes back.
 */
import { connectWebSocket, generateKeyPair, SSB_NETWORK_KEY } from '../../src/browser.ts'
import { firstMismatch as mismatchIn, payloadChunk } from './payload.ts'

export interface EchoReport {
  handshakeMs: number
  echoMs: number
  sent: number
  received: number
  /** Index of the first byte that differs from what was sent, or -1. */
  firstMismatch: number
  remoteMatches: boolean
}

const CHUNK_BYTES = 60 * 1024

export async function echoOverWebSocket (url: string, serverPublicKey: number[], totalBytes: number): Promise<EchoReport> {
  const remotePublicKey = Uint8Array.from(serverPublicKey)
  const started = performance.now()
  const stream = await connectWebSocket({ url, keys: generateKeyPair(), remotePublicKey, networkKey: SSB_NETWORK_KEY })
  const handshakeMs = performance.now() - started
  const remoteMatches = stream.remotePublicKey.every((byte, i) => byte === remotePublicKey[i])

  let allBack: () => void = () => {}
  const back = new Promise<void>((resolve) => { allBack = resolve })
  async function * chunks (): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < totalBytes; offset += CHUNK_BYTES) {
      yield payloadChunk(offset, Math.min(CHUNK_BYTES, totalBytes - offset))
    }
    // A WebSocket cannot be half-closed and multiserver's ws plugin closes it when our side
    // ends: say goodbye only once everything came back.
    await back
  }
  const echoStarted = performance.now()
  const sending = stream.sink(chunks())
  let received = 0
  let firstMismatch = -1
  // Read by hand and stop once all came back, without ending our reading (which tells the
  // stream we hung up): the goodbye then closes the WebSocket as it does for any client.
  const reader = stream.source[Symbol.asyncIterator]()
  while (received < totalBytes) {
    const next = await reader.next()
    if (next.done === true) break
    if (firstMismatch === -1) firstMismatch = mismatchIn(next.value, received)
    received += next.value.length
  }
  allBack()
  await sending
  return { handshakeMs, echoMs: performance.now() - echoStarted, sent: totalBytes, received, firstMismatch, remoteMatches }
}

export { connectWebSocket, generateKeyPair, SSB_NETWORK_KEY } from '../../src/browser.ts'
