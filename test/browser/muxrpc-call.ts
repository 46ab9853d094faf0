/**
 * A muxrpc call to a Scuttlebutt peer, written once against the package by its name:
 * test/ssb/one-api.test.ts runs this very module in Node and, bundled for the browser, in headless
 * Chromium. Nothing in it knows where it runs.
 */
import { connect, generateKeyPair } from 'shs-transport'
import { toPullDuplex } from 'shs-transport/pull'
import muxrpc from 'muxrpc'
import pull from 'pull-stream'

export interface Called {
  greeting: string
  /** The peer's key, as the handshake proved it. */
  remote: number[]
}

/** Dials `address` with connect(), runs muxrpc over the stream through toPullDuplex, and calls `test.hello(name)`. */
export async function callHello (address: string, networkKey: number[], name: string): Promise<Called> {
  const stream = await connect({ address, keys: generateKeyPair(), networkKey: Uint8Array.from(networkKey) })
  const duplex = toPullDuplex(stream)
  const rpc = muxrpc({ test: { hello: 'async' } }, {}, {})
  pull(duplex, rpc.stream, duplex)
  const test = rpc.test as { hello: (name: string, cb: (err: Error | null, greeting: string) => void) => void }
  const greeting = await new Promise<string>((resolve, reject) => {
    test.hello(name, (err, text) => { if (err === null) resolve(text); else reject(err) })
  })
  await new Promise<void>((resolve) => { rpc.close(() => { resolve() }) })
  return { greeting, remote: Array.from(stream.remotePublicKey) }
}
