/**
 * What the adversarial tests share: the keys, the limits they use, the assertions on error codes,
 * and a fixture that starts servers, dials, and opens raw sockets whose clean-up and leak checks
 * are registered on the current describe block. The hostile side is played by raw sockets running
 * SHS1 written out by hand (test/helpers/adversary.ts), so it can send what no honest peer would.
 */
import assert from 'node:assert/strict'
import v8 from 'node:v8'
import vm from 'node:vm'
import {
  AbortError, SSB_NETWORK_KEY, type SecureStream, ShsError, type ShsErrorCode, connect, generateKeyPair, listen,
  type ListenOptions, type Listener
} from '../../src/index.ts'
import { randomPayload } from '../helpers/bytes.ts'
import {
  BOX_HEADER_BYTES, BOX_MAX_BODY, CLIENT_AUTH_BYTES, type Drained, HELLO_BYTES, HOST, RawPeer, SERVER_ACCEPT_BYTES, drain, rawServer
} from '../helpers/adversary.ts'
import { useLeakChecks, waitFor } from '../helpers/resources.ts'

export const serverKeys = generateKeyPair()
export const clientKeys = generateKeyPair()
export const NETWORK_KEY = SSB_NETWORK_KEY

/** Handshake timeouts for the slow-peer tests: short, so the suite stays fast. */
export const SHORT_TIMEOUT_MS = 600
/** One full box-stream packet on the wire. */
export const PACKET_BYTES = BOX_HEADER_BYTES + BOX_MAX_BODY
/** Where the box stream starts in each direction: after messages 1 and 3, or 2 and 4. */
export const CLIENT_HANDSHAKE_BYTES = HELLO_BYTES + CLIENT_AUTH_BYTES
export const SERVER_HANDSHAKE_BYTES = HELLO_BYTES + SERVER_ACCEPT_BYTES
export const MiB = 1024 * 1024

export function expectCode (code: ShsErrorCode) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ShsError, `expected an ShsError with ${code}, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return true
  }
}

export function isAbortError (err: unknown): boolean {
  return err instanceof AbortError && err.name === 'AbortError' && err.code === 'ERR_SHS_ABORTED'
}

/** A full garbage collection, so memory readings count what is still held, not garbage. */
export const collectGarbage: () => void = (() => {
  v8.setFlagsFromString('--expose-gc')
  return vm.runInNewContext('gc') as () => void
})()

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * onStream for servers that answer with what they get. How the echo ends is not what those tests
 * observe: a client that hangs up mid-echo (as some of them do on purpose) is no failure.
 */
export function echo (stream: SecureStream): void {
  stream.sink(stream.source).catch(() => {})
}

/** Three 4096-byte writes: on the wire, exactly three full packets whatever the batching. */
export function threePackets (): { chunks: Uint8Array[], payload: Uint8Array } {
  const payload = randomPayload(3 * BOX_MAX_BODY)
  const chunks = [0, 1, 2].map((i) => payload.subarray(i * BOX_MAX_BODY, (i + 1) * BOX_MAX_BODY))
  return { chunks, payload }
}

export interface TestServer {
  port: number
  listener: Listener
  streams: SecureStream[]
  /** What each accepted stream's source delivered (only with the default onStream). */
  outcomes: Array<Promise<Drained>>
  errors: ShsError[]
}

/** Servers, dials and raw sockets that are closed after each test, with the leak checks around it. */
export function useAdversaryFixture () {
  const onCleanup = useLeakChecks()

  async function waitForStream (server: TestServer): Promise<SecureStream> {
    await waitFor(() => server.streams.length > 0, 'the server to accept a stream')
    return server.streams[0] as SecureStream
  }

  async function startServer (options: Partial<ListenOptions> = {}, onStream?: (stream: SecureStream) => void): Promise<TestServer> {
    const streams: SecureStream[] = []
    const outcomes: Array<Promise<Drained>> = []
    const errors: ShsError[] = []
    const listener = await listen({
      port: 0, keys: serverKeys, networkKey: NETWORK_KEY, onHandshakeError: (err) => errors.push(err), ...options
    }, (stream) => {
      streams.push(stream)
      if (onStream === undefined) outcomes.push(drain(stream.source))
      else onStream(stream)
    })
    onCleanup(async () => { await listener.close() })
    return { port: listener.address().port, listener, streams, outcomes, errors }
  }

  async function dial (port: number, overrides: Record<string, unknown> = {}): Promise<SecureStream> {
    const stream = await connect({ host: HOST, port, keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: NETWORK_KEY, ...overrides })
    onCleanup(() => { stream.abort() })
    return stream
  }

  async function rawConnect (port: number): Promise<RawPeer> {
    const peer = await RawPeer.connect(port)
    onCleanup(() => { peer.destroy() })
    return peer
  }

  async function evilServer (handle: (peer: RawPeer) => Promise<void>): ReturnType<typeof rawServer> {
    const server = await rawServer(handle)
    onCleanup(async () => { await server.close() })
    return server
  }
  return { onCleanup, waitForStream, startServer, dial, rawConnect, evilServer }
}
