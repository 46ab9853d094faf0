/**
 * The stock multiserver plugins (ws, net, shs: the reference secret-handshake) as test peers:
 * a server that echoes or collects, and a client, both as pull-streams.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import type { KeyPair } from '../../src/index.ts'
import { freePort } from './resources.ts'

const require = createRequire(import.meta.url)
const MultiServer = require('multiserver')
const WS = require('multiserver/plugins/ws')
const Net = require('multiserver/plugins/net')
const StockShs = require('multiserver/plugins/shs')
export const pull = require('pull-stream')

export interface PullDuplex {
  source: (abort: unknown, cb: (end: unknown, data?: Buffer) => void) => void
  sink: (read: unknown) => void
  remote: Buffer
  address: string
  auth?: unknown
}

export function stockShs (keys: KeyPair, appKey: Uint8Array, auth: (pk: Buffer, cb: (err: unknown, auth?: unknown) => void) => void = (_pk, cb) => { cb(null, true) }): unknown {
  return StockShs({ keys: { publicKey: Buffer.from(keys.publicKey), secretKey: Buffer.from(keys.secretKey) }, appKey: Buffer.from(appKey), auth })
}

export interface StockServer {
  address: string
  port: number
  errors: Error[]
  close (): Promise<void>
}

/** A stock multiserver ws (or net) + `shs` server on a free loopback port; `onStream` gets each authenticated pull duplex. */
export async function startStockServer (transport: 'ws' | 'net', shs: unknown, onStream: (stream: PullDuplex) => void): Promise<StockServer> {
  const errors: Error[] = []
  let plugin: unknown
  let port: number
  if (transport === 'ws') {
    const server = http.createServer()
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
    port = (server.address() as AddressInfo).port
    plugin = WS({ server, host: '127.0.0.1' })
  } else {
    port = await freePort()
    plugin = Net({ host: '127.0.0.1', port })
  }
  const ms = MultiServer([[plugin, shs]])
  let started: () => void = () => {}
  const listening = new Promise<void>((resolve) => { started = resolve })
  const close: (cb: () => void) => void = ms.server(onStream, (err: Error) => { errors.push(err) }, () => { started() })
  await listening
  return {
    address: ms.stringify('device'),
    port,
    errors,
    close: async () => { await new Promise<void>((resolve) => { close(resolve) }) }
  }
}

/** A stock multiserver client with the given transform; resolves with the pull duplex or rejects with its error. */
export async function stockConnect (address: string, shs: unknown): Promise<PullDuplex> {
  const ms = MultiServer([[WS({}), shs], [Net({}), shs]])
  return await new Promise((resolve, reject) => {
    ms.client(address, (err: Error | null, stream: PullDuplex) => { if (err !== null && err !== undefined) reject(err); else resolve(stream) })
  })
}

/** Collects a pull source into one Buffer. */
export async function pullCollect (source: PullDuplex['source']): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    pull(source, pull.collect((err: Error | null, chunks: Buffer[]) => { if (err !== null) reject(err); else resolve(Buffer.concat(chunks)) }))
  })
}

/**
 * Sends `payload` and reads it back echoed, ending our side only once all of it came back: a
 * WebSocket cannot be half-closed, and multiserver's ws plugin closes it when our side ends.
 */
export async function pullEcho (stream: PullDuplex, chunks: Buffer[]): Promise<Buffer> {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0)
  let allBack: () => void = () => {}
  const back = new Promise<void>((resolve) => { allBack = resolve })
  let i = 0
  const source = (abort: unknown, cb: (end: unknown, data?: Buffer) => void): void => {
    if (abort !== null && abort !== undefined) { cb(abort); return }
    if (i < chunks.length) { cb(null, chunks[i++]); return }
    back.then(() => { cb(true) }, cb)
  }
  const received: Buffer[] = []
  let length = 0
  return await new Promise((resolve, reject) => {
    pull(source, stream, pull.drain((chunk: Buffer) => {
      received.push(chunk)
      length += chunk.length
      if (length < total) return true
      allBack()
      // All of it is back: stop here rather than wait for the peer's goodbye, which a WebSocket
      // closed by our own end (multiserver's ws plugin closes it then) may never deliver.
      return false
    }, (err: Error | null) => {
      if (err !== null && err !== true as unknown) reject(err)
      else resolve(Buffer.concat(received))
    }))
  })
}
