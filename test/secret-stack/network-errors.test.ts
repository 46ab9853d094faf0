/**
 * To the Scuttlebutt stack a peer that went away is routine only when the error says so in the
 * words `ssb-network-errors` knows (ssb-ebt logs every other one as an exception). Our plugin's
 * streams fail with those words, judged by the real package: for each way a peer goes away, and
 * live, with a stock secret-stack peer killed in the middle of a muxrpc stream over net: and ws:.
 * The error keeps our explanation as its cause, and no message in the chain reads "()".
 */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import net from 'node:net'
import { BoxStreamError, ShsError } from '../../src/index.ts'
import { connectionBroke } from '../../src/driver/transport.ts'
import { PeerGoneError, inScuttlebuttWords } from '../../src/multiserver/network-errors.ts'
import ours from '../../src/secret-stack/index.ts'
import { AppProcess, appConfig, closeInProcess, pick, startInProcess } from './app-process.ts'

const require = createRequire(import.meta.url)
/** 0 and 1: a clean end; 2: a routine network error; 3: anything else, which ssb-ebt logs. */
const severity: (err: unknown) => number | null = require('ssb-network-errors')
const pull = require('pull-stream')

const ROUTINE = 2

/** The message of the error and of each of its causes. */
function messages (err: unknown): string[] {
  const found: string[] = []
  for (let cause = err; cause instanceof Error; cause = cause.cause) found.push(cause.message)
  return found
}

/** A real socket error: the server resets an established connection once the client's first bytes arrive. */
async function realReset (): Promise<Error> {
  const server = net.createServer((socket) => { socket.once('data', () => { socket.resetAndDestroy() }) })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  try {
    const { port } = server.address() as net.AddressInfo
    return await new Promise<Error>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.write('hello') })
      socket.once('error', resolve)
      socket.once('close', () => { resolve(new Error('the socket closed without the reset')) })
      socket.resume()
    })
  } finally {
    await new Promise((resolve) => { server.close(resolve) })
  }
}

describe('errors the Scuttlebutt stack recognises (ssb-network-errors)', function () {
  this.timeout(30_000)

  it('a stream that ended without goodbye is "unexpected hangup", as pull-box-stream says it, with our error as cause', () => {
    const truncated = new BoxStreamError('ERR_BOX_STREAM_TRUNCATED', 'the connection ended without the box-stream goodbye')
    const told = inScuttlebuttWords(truncated)
    assert.ok(told instanceof PeerGoneError)
    assert.equal(told.message, 'unexpected hangup')
    assert.equal(told.code, 'ERR_BOX_STREAM_TRUNCATED')
    assert.equal(told.cause, truncated)
    assert.equal(severity(told), ROUTINE)
    assert.equal(severity(truncated), 3, 'our own words alone are not recognised')
  })

  it('a socket reset keeps Node\'s words ("read ECONNRESET"), as the stock plugin passes them on', async () => {
    const reset = await realReset()
    assert.equal((reset as NodeJS.ErrnoException).code, 'ECONNRESET')
    const broke = connectionBroke(reset)
    const told = inScuttlebuttWords(broke)
    assert.ok(told instanceof PeerGoneError)
    assert.equal(told.message, 'read ECONNRESET')
    assert.equal(told.cause, broke)
    assert.equal(severity(told), ROUTINE)
  })

  it('tampering and other failures stay as they are, so they are still logged', () => {
    const tampered = new BoxStreamError('ERR_BOX_STREAM_BAD_BODY', 'a packet body failed authentication')
    assert.equal(inScuttlebuttWords(tampered), tampered)
    assert.equal(severity(tampered), 3)
    const foreign = new TypeError('not ours')
    assert.equal(inScuttlebuttWords(foreign), foreign)
  })

  it('a transport error with no message is named, never shown as "()"', () => {
    const broke = connectionBroke(new TypeError())
    assert.doesNotMatch(broke.message, /\(\)/)
    assert.match(broke.message, /the connection broke \(TypeError without a message\)/)
  })

  for (const transport of ['net', 'ws'] as const) {
    it(`a stock peer killed in the middle of a muxrpc stream over ${transport}: the stream fails with a routine error`, async () => {
      const peer = new AppProcess('stock')
      const app = await startInProcess(await appConfig(8), ours)
      try {
        const { address } = await peer.start(await appConfig(8))
        const failure = await new Promise<unknown>((resolve, reject) => {
          app.connect(pick(address, transport), (err, rpc) => {
            if (err !== null) { reject(err); return }
            const test = rpc.test as { stall: () => unknown }
            // The peer sends one chunk, then waits: it is killed once that chunk is here.
            pull(test.stall(), pull.drain(() => { void peer.kill() }, resolve))
          })
        })
        assert.ok(failure instanceof PeerGoneError, `a PeerGoneError, got ${String(failure)}`)
        assert.ok(severity(failure) === ROUTINE, `severity ${String(severity(failure))} for ${failure.message}`)
        assert.ok(failure.cause instanceof ShsError)
        for (const message of messages(failure)) assert.doesNotMatch(message, /\(\)/)
      } finally {
        await peer.kill()
        await closeInProcess(app)
      }
    })
  }
})
