/**
 * What the mutant peers share (mutant-peer.ts, rekey-mutant.ts): the identity the suite hands
 * them in their environment, an exact-length socket reader, and the start of a server or client.
 */
import net from 'node:net'
import { type CheckedKeyPair, type NetworkKey, asKeyPair, asNetworkKey } from '../../../src/crypto/keys.ts'

export function env (name: string): string {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

/** SHS_CONFORMANCE_SECRET and SHS_CONFORMANCE_NETWORK_KEY. */
export function identity (): { readonly keys: CheckedKeyPair, readonly networkKey: NetworkKey } {
  const secret = Buffer.from(env('SHS_CONFORMANCE_SECRET'), 'base64')
  return {
    keys: asKeyPair({ publicKey: secret.subarray(32), secretKey: secret }),
    networkKey: asNetworkKey(Buffer.from(env('SHS_CONFORMANCE_NETWORK_KEY'), 'base64'))
  }
}

/** Exactly n bytes from the socket, in order; undefined once it ended. */
export class Reader {
  #buffer = Buffer.alloc(0)
  #ended = false
  #wake: (() => void) | undefined

  constructor (socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => { this.#buffer = Buffer.concat([this.#buffer, chunk]); this.#wake?.() })
    const end = (): void => { this.#ended = true; this.#wake?.() }
    socket.on('end', end)
    socket.on('close', end)
    socket.on('error', end)
  }

  async read (length: number): Promise<Buffer | undefined> {
    while (this.#buffer.byteLength < length && !this.#ended) await new Promise<void>((resolve) => { this.#wake = resolve })
    if (this.#buffer.byteLength < length) return undefined
    const bytes = this.#buffer.subarray(0, length)
    this.#buffer = this.#buffer.subarray(length)
    return bytes
  }
}

/** A server for every connection on $SHS_CONFORMANCE_HOST:PORT, or one client connection to it; `failed` gets what either threw. */
export function start (role: string | undefined, body: (socket: net.Socket) => Promise<void>, failed: (socket: net.Socket, err: unknown) => void): void {
  if (role === 'server') {
    net.createServer({ allowHalfOpen: true }, (socket) => {
      body(socket).catch((err: unknown) => { failed(socket, err) })
    }).listen(Number(env('SHS_CONFORMANCE_PORT')), env('SHS_CONFORMANCE_HOST'))
  } else {
    const socket = net.connect({ port: Number(env('SHS_CONFORMANCE_PORT')), host: env('SHS_CONFORMANCE_HOST'), allowHalfOpen: true })
    body(socket).catch((err: unknown) => { failed(socket, err) })
  }
}
