/**
 * What the transport contract's cases share: the ways in, connections made through one of them
 * against the scripted peer (closed and leak-checked after each test), sources that reuse their
 * buffer, and the checks on errors.
 */
import assert from 'node:assert/strict'
import { SSB_NETWORK_KEY, ShsError, type ShsErrorCode, generateKeyPair } from '../../src/index.ts'
import { PeerGoneError } from '../../src/multiserver/network-errors.ts'
import { useLeakChecks } from '../helpers/resources.ts'
import { ScriptedPeer } from './peer.ts'
import { browserWebSocket } from './ways/browser.ts'
import { duplex } from './ways/duplex.ts'
import { libp2p } from './ways/libp2p.ts'
import { multiserver, secretStack } from './ways/ssb.ts'
import { nodeDuplex, tcp } from './ways/tcp.ts'
import type { Identities, OpenOptions, Opened, Role, WayIn } from './ways/types.ts'
export { expectedChunks } from './ways/pattern.ts'
import { webSocket } from './ways/ws.ts'

/** Every way in of the library; a new adapter joins the contract by joining this list. */
export const WAYS: readonly WayIn[] = [tcp, nodeDuplex, duplex, webSocket, browserWebSocket, libp2p, multiserver, secretStack]

export interface Connection extends Opened {
  readonly peer: ScriptedPeer
}

/** Registers the leak checks on the current describe block; returns how to open connections in it. */
export function useContract (way: WayIn, role: Role): (options?: OpenOptions) => Promise<Connection> {
  const onCleanup = useLeakChecks()
  return async (options) => {
    const identities: Identities = { ours: generateKeyPair(), theirs: generateKeyPair(), networkKey: SSB_NETWORK_KEY }
    let peer: ScriptedPeer | undefined
    const opened = await way.open(role, identities, async (raw) => {
      peer = await ScriptedPeer.handshake(raw, role === 'client' ? 'server' : 'client', identities)
    }, options)
    onCleanup(async () => {
      opened.raw.destroy()
      opened.app.abort()
      await opened.close()
    })
    assert.deepEqual(opened.app.remotePublicKey, identities.theirs.publicKey, 'the app learns the key the peer proved')
    return { ...opened, peer: peer as ScriptedPeer }
  }
}

/** Everything `source` yields, or the error it threw (and what it yielded before). */
export async function drain (source: AsyncIterable<Uint8Array>): Promise<{ data: Uint8Array, error: unknown }> {
  const chunks: Uint8Array[] = []
  try {
    for await (const chunk of source) chunks.push(chunk)
    return { data: Buffer.concat(chunks), error: undefined }
  } catch (err) {
    return { data: Buffer.concat(chunks), error: err }
  }
}

/** The error is the library's, with one of `codes` (or one of the framework's own, by name), and explains itself. */
export function assertTyped (error: unknown, codes: readonly ShsErrorCode[], frameworkErrors: readonly string[] = []): void {
  if (error instanceof Error && frameworkErrors.includes(error.name)) return
  assert.ok(error instanceof ShsError, `expected a typed ShsError (${codes.join(' or ')}), got ${String(error)}`)
  assert.ok(codes.includes(error.code), `expected ${codes.join(' or ')}, got ${error.code}: ${error.message}`)
  // A dropped peer reaches Scuttlebutt apps in the exact words they match on (PeerGoneError); the cause explains.
  const explained = error instanceof PeerGoneError ? error.cause : error
  assert.ok(explained.message.length > 30, `the message says what happened: "${explained.message}"`)
}

/** What a peer that vanishes looks like to the app: the stream was cut, or the transport broke. */
export const CUT: readonly ShsErrorCode[] = ['ERR_BOX_STREAM_TRUNCATED', 'ERR_SHS_CONNECTION']

export const turn = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

/** Collects unhandled rejections and uncaught exceptions while a test runs. */
export function watchProcess (): { failures: unknown[], stop: () => void } {
  const failures: unknown[] = []
  const record = (err: unknown): void => { failures.push(err) }
  process.on('unhandledRejection', record)
  return {
    failures,
    stop: () => { process.off('unhandledRejection', record) }
  }
}
