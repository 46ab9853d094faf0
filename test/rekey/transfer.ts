/**
 * What every transport's rekey test checks on two of ours: a server that collects what each
 * client sends and then replies, and a transfer across a rekey on demand and rekeys after bytes.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { type SecureStream, ShsError } from '../../src/index.ts'
import { collect, randomPayload } from '../helpers/bytes.ts'

const WRITE_BYTES = 65536

export const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

export function isShs (code: string): (err: unknown) => boolean {
  return (err: unknown) => err instanceof ShsError && err.code === code
}

export interface Collecting {
  readonly streams: SecureStream[]
  /** Everything each client sent, once it said goodbye. */
  readonly received: Array<Promise<Uint8Array>>
  /** The server's onStream: collect, then answer `reply` and say goodbye. */
  readonly onStream: (stream: SecureStream) => void
}

export function collecting (reply: Uint8Array = new Uint8Array(0)): Collecting {
  const streams: SecureStream[] = []
  const received: Array<Promise<Uint8Array>> = []
  return {
    streams,
    received,
    onStream: (stream) => {
      streams.push(stream)
      const bytes = collect(stream.source)
      received.push(bytes)
      bytes.then(async () => { await stream.sink([reply]) }, () => {})
    }
  }
}

/**
 * On a stream that agreed on the extension with `server`: a rekey on demand, then `payloadBytes`
 * (several `afterBytes` worth) one way and the server's reply the other, each byte-exact, and
 * rekeys after bytes counted on both sides.
 */
export async function assertRekeyedTransfer (stream: SecureStream, server: Collecting, reply: Uint8Array, payloadBytes: number): Promise<void> {
  assert.equal(stream.rekeying, true)
  await stream.rekey()
  assert.equal(stream.rekeys, 1)
  const payload = randomPayload(payloadBytes)
  const answer = collect(stream.source)
  await stream.sink((function * () { for (let i = 0; i < payload.byteLength; i += WRITE_BYTES) yield payload.subarray(i, i + WRITE_BYTES) })())
  assert.equal(sha(await (server.received[0] as Promise<Uint8Array>)), sha(payload))
  assert.equal(sha(await answer), sha(reply))
  const [theirs] = server.streams as [SecureStream]
  assert.equal(theirs.rekeying, true)
  assert.ok(stream.rekeys >= 2, `the client rekeyed after bytes too (${stream.rekeys} rekeys)`)
  // A rekey the client started just before its goodbye completes on its side only (docs/REKEY.md, "Ends").
  assert.ok(theirs.rekeys === stream.rekeys || theirs.rekeys === stream.rekeys - 1, `client ${stream.rekeys}, server ${theirs.rekeys}`)
}
