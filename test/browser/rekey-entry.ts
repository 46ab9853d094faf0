/**
 * The browser bundle of the rekey tests: the page dials with `rekey`, through `connectWebSocket`
 * or `connect({ address })`, rekeys on demand where the extension was agreed, echoes a
 * deterministic payload and checks every byte that comes back.
 */
import { type RekeyOption, SSB_NETWORK_KEY, ShsError, connect, connectWebSocket, generateKeyPair } from '../../src/browser.ts'
import { firstMismatch as mismatchIn, payloadChunk } from './payload.ts'

export interface RekeyEchoReport {
  rekeying: boolean
  rekeys: number
  received: number
  /** Index of the first byte that differs from what was sent, or -1. */
  firstMismatch: number
}

const CHUNK_BYTES = 60 * 1024

/** Dials `url` (or, with `viaAddress`, the address `url~shs:KEY`), rekeys once if agreed, echoes `total` bytes. */
export async function rekeyEcho (target: { url: string, address?: string }, serverPublicKey: number[], rekey: RekeyOption, total: number): Promise<RekeyEchoReport> {
  const remotePublicKey = Uint8Array.from(serverPublicKey)
  const keys = generateKeyPair()
  const stream = target.address === undefined
    ? await connectWebSocket({ url: target.url, keys, remotePublicKey, networkKey: SSB_NETWORK_KEY, rekey })
    : await connect({ address: target.address, keys, networkKey: SSB_NETWORK_KEY, rekey })
  if (stream.rekeying) await stream.rekey()
  async function * chunks (): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < total; offset += CHUNK_BYTES) yield payloadChunk(offset, Math.min(CHUNK_BYTES, total - offset))
  }
  const sending = stream.sink(chunks())
  let received = 0
  let firstMismatch = -1
  for await (const chunk of stream.source) {
    if (firstMismatch === -1) firstMismatch = mismatchIn(chunk, received)
    received += chunk.length
  }
  await sending
  return { rekeying: stream.rekeying, rekeys: stream.rekeys, received, firstMismatch }
}

/** What dialling `url` with `rekey` fails with: the error's name, code and option, or `connected`. */
export async function rekeyFailure (url: string, serverPublicKey: number[], rekey: unknown): Promise<string> {
  try {
    const stream = await connectWebSocket({ url, keys: generateKeyPair(), remotePublicKey: Uint8Array.from(serverPublicKey), networkKey: SSB_NETWORK_KEY, rekey: rekey as RekeyOption })
    stream.abort()
    return 'connected'
  } catch (err) {
    const option = (err as { option?: string }).option
    return `${(err as Error).name} ${err instanceof ShsError ? err.code : ''}${option === undefined ? '' : ` ${option}`}`
  }
}

/** `connect({ address })` with `rekey` and `earlyData`; the page sends nothing else and reads to the end. */
export async function earlyDataViaAddress (address: string, early: number[], rekey: RekeyOption): Promise<{ rekeying: boolean }> {
  const stream = await connect({ address, keys: generateKeyPair(), networkKey: SSB_NETWORK_KEY, rekey, earlyData: [Uint8Array.from(early)] })
  await stream.sink([])
  for await (const chunk of stream.source) void chunk
  return { rekeying: stream.rekeying }
}
