/**
 * Both ends of the slow, lossy line. `server`: the npm reference (secret-handshake +
 * pull-box-stream) as an echo server, the bench's own wiring of it. `client`: this library's
 * `connect()`, opening many echo connections at once and one bulk transfer, each checked byte
 * for byte against what it sent.
 */
import { createHash, randomBytes } from 'node:crypto'
import { SSB_NETWORK_KEY, connect, generateKeyPair } from '../../../src/index.ts'
import { reference } from '../../../scripts/bench/transports/reference.ts'
import { roleConfig, serve, within } from './serve.ts'

export type LineRoleConfig = { readonly side: 'server', readonly host: string } | { readonly side: 'client' }
export interface LineTarget { readonly host: string, readonly port: number, readonly publicKey: string }
export interface LineRun {
  readonly target: LineTarget
  readonly connections: number
  readonly connectionBytes: number
  readonly bulkBytes: number
}
export interface Echoed { readonly bytes: number, readonly intact: boolean }
export interface LineResult { readonly connections: Echoed[], readonly bulk: Echoed }

const WRITE_BYTES = 64 * 1024
const RUN_LIMIT_MS = 90_000
const keys = generateKeyPair()

const sha256 = (chunks: readonly Uint8Array[]): string => {
  const hash = createHash('sha256')
  for (const chunk of chunks) hash.update(chunk)
  return hash.digest('hex')
}

/** One connection: `bytes` random bytes out in 64 KiB writes, all of them back, then goodbye both ways. */
async function echoOnce (target: LineTarget, bytes: number): Promise<Echoed> {
  const stream = await connect({
    host: target.host, port: target.port, keys, networkKey: SSB_NETWORK_KEY, remotePublicKey: Buffer.from(target.publicKey, 'hex')
  })
  const sent: Uint8Array[] = []
  for (let offset = 0; offset < bytes; offset += WRITE_BYTES) sent.push(randomBytes(Math.min(WRITE_BYTES, bytes - offset)))
  const sending = stream.sink(sent)
  const received: Uint8Array[] = []
  let length = 0
  for await (const chunk of stream.source) {
    received.push(chunk.slice())
    length += chunk.byteLength
  }
  await sending
  return { bytes: length, intact: length === bytes && sha256(received) === sha256(sent) }
}

async function run (args: unknown): Promise<LineResult> {
  const { target, connections, connectionBytes, bulkBytes } = args as LineRun
  return await within(RUN_LIMIT_MS, 'the line run', (async () => {
    const echoed = await Promise.all(Array.from({ length: connections }, async () => await echoOnce(target, connectionBytes)))
    return { connections: echoed, bulk: await echoOnce(target, bulkBytes) }
  })())
}

const config = roleConfig<LineRoleConfig>()
if (config.side === 'server') {
  const server = await reference.serve({ kind: 'echo' }, config.host)
  const ready: LineTarget = { host: config.host, port: server.target.port, publicKey: Buffer.from(server.target.publicKey).toString('hex') }
  serve(ready, {}, async () => { await server.close() })
} else {
  serve({}, { run }, async () => {})
}
