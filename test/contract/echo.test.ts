/**
 * The echo server our README, docs/LIBRARY.md and docs/SCUTTLEBUTT.md show,
 * `(stream) => { stream.sink(stream.source) }` with its promise ignored, against a thousand
 * clients that leave without goodbye: nothing unhandled, no warning, and it still serves.
 */
import assert from 'node:assert/strict'
import {
  SSB_NETWORK_KEY, type SecureStream, connect, connectWebSocket, generateKeyPair, listen, listenWebSocket
} from '../../src/index.ts'
import { useLeakChecks } from '../helpers/resources.ts'
import { drain, watchProcess } from './fixture.ts'

const CLIENTS = 1000
const AT_ONCE = 50

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()

interface Server {
  dial: () => Promise<SecureStream>
  close: () => Promise<void>
}

/** The docs' server: the sink's promise ignored, as written there. */
function echo (stream: SecureStream): void {
  stream.sink(stream.source)
}

const SERVERS: Record<string, () => Promise<Server>> = {
  'listen()': async () => {
    const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, echo)
    const port = listener.address().port
    return {
      dial: async () => await connect({ host: '127.0.0.1', port, keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey }),
      close: async () => { await listener.close() }
    }
  },
  'listenWebSocket()': async () => {
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, echo)
    const url = `ws://127.0.0.1:${listener.address().port}`
    return {
      dial: async () => await connectWebSocket({ url, keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey }),
      close: async () => { await listener.close() }
    }
  }
}

describe('contract: the docs\' echo server survives a thousand clients that leave without goodbye', function () {
  this.timeout(120_000)
  const onCleanup = useLeakChecks()

  for (const [name, start] of Object.entries(SERVERS)) {
    it(`${name}: no unhandled rejection, no warning, and the next client is served`, async () => {
      const watch = watchProcess()
      const warnings: Error[] = []
      const onWarning = (warning: Error): void => { warnings.push(warning) }
      process.on('warning', onWarning)
      onCleanup(() => { watch.stop(); process.off('warning', onWarning) })
      const server = await start()
      onCleanup(server.close)
      for (let done = 0; done < CLIENTS; done += AT_ONCE) {
        await Promise.all(Array.from({ length: AT_ONCE }, async () => {
          const stream = await server.dial()
          // Some leave in the middle of the echo, some before sending anything.
          const sinking = stream.sink([new Uint8Array(3000)])
          sinking.catch(() => {})
          stream.abort()
          await drain(stream.source)
        }))
      }
      const honest = await server.dial()
      const message = new TextEncoder().encode('still serving')
      const [, { data, error }] = await Promise.all([honest.sink([message]), drain(honest.source)])
      assert.equal(error, undefined)
      assert.ok(Buffer.from(data).equals(message), 'the honest client got its echo')
      assert.deepEqual(watch.failures, [])
      assert.deepEqual(warnings.map((warning) => warning.message), [])
    })
  }
})
