/**
 * What every fuzzed entry point is exercised against once a call was accepted: identities, and an
 * echo server of each kind (TCP and WebSocket), started once for the whole run.
 */
import {
  type KeyPair, type Listener, SSB_NETWORK_KEY, type SecureStream, type WebSocketListener, generateKeyPair, listen,
  listenWebSocket
} from '../../../src/index.ts'

export interface FuzzFixture {
  readonly serverKeys: KeyPair
  readonly clientKeys: KeyPair
  readonly networkKey: Uint8Array
  readonly tcp: Listener
  readonly ws: WebSocketListener
  close (): Promise<void>
}

/** Answers with what it gets; a client that leaves mid-echo is no concern of the fuzz. */
export function echo (stream: SecureStream): void {
  stream.sink(stream.source).catch(() => {})
}

export async function startFixture (): Promise<FuzzFixture> {
  const serverKeys = generateKeyPair()
  const common = { keys: serverKeys, networkKey: SSB_NETWORK_KEY, host: '127.0.0.1', port: 0 }
  const tcp = await listen(common, echo)
  const ws = await listenWebSocket(common, echo)
  return {
    serverKeys,
    clientKeys: generateKeyPair(),
    networkKey: SSB_NETWORK_KEY,
    tcp,
    ws,
    async close () {
      await tcp.close()
      await ws.close()
    }
  }
}

const MESSAGE = new TextEncoder().encode('one honest exchange')

/** Sends a message, reads the echo to its end, and fails unless it came back exactly. */
export async function exchange (stream: SecureStream): Promise<void> {
  const chunks: Uint8Array[] = []
  const reading = (async () => { for await (const chunk of stream.source) chunks.push(chunk) })()
  await Promise.all([stream.sink([MESSAGE]), reading])
  const received = Buffer.concat(chunks)
  if (!received.equals(MESSAGE)) throw new Error(`the echo came back as ${received.byteLength} other bytes`)
}
