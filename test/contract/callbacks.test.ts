/**
 * The caller contract, part four: the application's callbacks are contained on every way in that
 * calls one. A callback that throws or rejects closes that one connection, is reported (as a
 * CallbackError naming it, to the server's onError or onHandshakeError, or as the rejection of
 * the call that took it), never reaches the process as an unhandled rejection, and the server
 * keeps serving.
 */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import net from 'node:net'
import { WebSocket } from 'ws'
import {
  CallbackError, SSB_NETWORK_KEY, type SecureStream, type ShsError, clientHandshake, connect, connectWebSocket, formatKey,
  generateKeyPair, listen, listenWebSocket, serverHandshake
} from '../../src/index.ts'
import ourShs from '../../src/multiserver/index.ts'
import { randomPayload } from '../helpers/bytes.ts'
import { memoryDuplexPair } from '../helpers/duplex.ts'
import { useLeakChecks } from '../helpers/resources.ts'
import { drain, watchProcess } from './fixture.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const client = { keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey }

type ServerOptions = Parameters<typeof listen>[0]
type OnStream = (stream: SecureStream) => void | Promise<void>

/**
 * The servers, each with its own dialler, a way to send it 64 junk bytes, and what its client
 * reports when the server hangs up on a connection it just accepted.
 */
const SERVERS = {
  'listen()': {
    refusedAtAccept: 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO',
    start: async (options: ServerOptions, onStream: OnStream) => await listen(options, onStream),
    dial: async (port: number) => await connect({ ...client, host: '127.0.0.1', port }),
    junk: (port: number) => {
      const socket = net.connect({ host: '127.0.0.1', port })
      socket.on('error', () => {})
      socket.resume()
      socket.write(randomPayload(64))
    }
  },
  'listenWebSocket()': {
    // Admitted at TCP accept, before the upgrade: the WebSocket never opens.
    refusedAtAccept: 'ERR_SHS_CONNECTION',
    start: async (options: ServerOptions, onStream: OnStream) => await listenWebSocket(options, onStream),
    dial: async (port: number) => await connectWebSocket({ ...client, url: `ws://127.0.0.1:${port}` }),
    junk: (port: number) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}`)
      socket.on('error', () => {})
      socket.once('open', () => { socket.send(randomPayload(64)) })
    }
  }
}

/** Resolves with each value `push` receives, in order. */
function reports<T> (): { push: (value: T) => void, next: () => Promise<T> } {
  const values: T[] = []
  const waiters: Array<(value: T) => void> = []
  return {
    push: (value) => { const waiter = waiters.shift(); if (waiter === undefined) values.push(value); else waiter(value) },
    next: async () => await new Promise<T>((resolve) => { const value = values.shift(); if (value === undefined) waiters.push(resolve); else resolve(value) })
  }
}

function assertCallbackError (err: unknown, callback: string, cause: unknown): void {
  assert.ok(err instanceof CallbackError, `expected a CallbackError, got ${String(err)}`)
  assert.equal(err.code, 'ERR_SHS_CALLBACK_FAILED')
  assert.equal(err.callback, callback)
  assert.equal(err.cause, cause)
  assert.match(err.message, new RegExp(callback))
}

const echo: OnStream = (stream) => { void stream.sink(stream.source) }

/** The first call fails as `fail` says; later ones do what `then` does. */
function firstFails<A extends unknown[], R> (fail: (...args: A) => R, then: (...args: A) => R): (...args: A) => R {
  let calls = 0
  return (...args) => calls++ === 0 ? fail(...args) : then(...args)
}

describe('contract: the application\'s callbacks are contained', function () {
  this.timeout(20_000)
  const onCleanup = useLeakChecks()
  let watch: ReturnType<typeof watchProcess>
  beforeEach(() => { watch = watchProcess() })
  afterEach(() => {
    watch.stop()
    assert.deepEqual(watch.failures, [], 'nothing reaches the process as an unhandled rejection')
  })

  for (const [name, kind] of Object.entries(SERVERS)) {
    describe(name, () => {
      async function serve (options: Partial<ServerOptions>, onStream: OnStream = echo): Promise<{ port: number, errors: ReturnType<typeof reports<ShsError>>, handshakeErrors: ReturnType<typeof reports<ShsError>> }> {
        const errors = reports<ShsError>()
        const handshakeErrors = reports<ShsError>()
        const server = await kind.start({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY, onError: errors.push, onHandshakeError: handshakeErrors.push, ...options }, onStream)
        onCleanup(server.close)
        return { port: server.address().port, errors, handshakeErrors }
      }

      /** The server still serves: a fresh client gets its bytes echoed. */
      async function stillServes (port: number): Promise<void> {
        const stream = await kind.dial(port)
        const payload = randomPayload(500)
        const [{ data }] = await Promise.all([drain(stream.source), stream.sink([payload])])
        assert.ok(Buffer.from(data).equals(payload))
      }

      for (const how of ['throws', 'rejects'] as const) {
        const thrown = new Error(`a callback ${how} on purpose`)
        const fail = how === 'throws' ? () => { throw thrown } : async () => { throw thrown }

        it(`onStream ${how}: that connection is closed, onError gets a CallbackError naming it, the server serves on`, async () => {
          const server = await serve({}, firstFails<[SecureStream], void | Promise<void>>(fail, echo))
          const victim = await kind.dial(server.port)
          assertCallbackError(await server.errors.next(), 'onStream', thrown)
          const { error } = await drain(victim.source)
          assert.ok(['ERR_BOX_STREAM_TRUNCATED', 'ERR_SHS_CONNECTION'].includes((error as ShsError).code))
          await stillServes(server.port)
        })

        it(`authorize ${how}: the client is refused, onHandshakeError says authorize failed, the server serves on`, async () => {
          const server = await serve({ authorize: firstFails<[Uint8Array], boolean | Promise<boolean>>(fail, () => true) })
          await assert.rejects(kind.dial(server.port), (err: unknown) => (err as ShsError).code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH')
          const reported = await server.handshakeErrors.next()
          assert.equal(reported.code, 'ERR_SHS_AUTHORIZE_FAILED')
          assert.equal(reported.cause, thrown)
          await stillServes(server.port)
        })
      }

      it('onConnection throws: that connection is closed before its handshake, the server serves on', async () => {
        const thrown = new Error('onConnection throws on purpose')
        const server = await serve({ onConnection: firstFails(() => { throw thrown }, () => {}) })
        await assert.rejects(kind.dial(server.port), (err: unknown) => (err as ShsError).code === kind.refusedAtAccept)
        assertCallbackError(await server.handshakeErrors.next(), 'onConnection', thrown)
        await stillServes(server.port)
      })

      it('onHandshakeProgress throws: that handshake fails with a CallbackError, the server serves on', async () => {
        const thrown = new Error('progress throws on purpose')
        const server = await serve({ onHandshakeProgress: firstFails(() => { throw thrown }, () => {}) })
        await assert.rejects(kind.dial(server.port), (err: unknown) => (err as ShsError).code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')
        assertCallbackError(await server.handshakeErrors.next(), 'onHandshakeProgress', thrown)
        await stillServes(server.port)
      })

      it('onHandshakeError throws (64 junk bytes call it): onError gets a CallbackError naming it, the server serves on', async () => {
        const thrown = new Error('onHandshakeError throws on purpose')
        const server = await serve({ onHandshakeError: () => { throw thrown } })
        kind.junk(server.port)
        assertCallbackError(await server.errors.next(), 'onHandshakeError', thrown)
        await stillServes(server.port)
      })

      it('onError throws too: a process warning says so, the server serves on', async () => {
        const warnings: Error[] = []
        const onWarning = (warning: Error): void => { warnings.push(warning) }
        process.on('warning', onWarning)
        onCleanup(() => { process.off('warning', onWarning) })
        const thrown = new Error('onError throws on purpose')
        const server = await serve({ onError: () => { throw thrown } }, firstFails<[SecureStream], void>(() => { throw new Error('onStream too') }, echo))
        await drain((await kind.dial(server.port)).source)
        await stillServes(server.port)
        while (!warnings.some((warning) => warning instanceof CallbackError)) await new Promise((resolve) => setImmediate(resolve))
        assertCallbackError(warnings.find((warning) => warning instanceof CallbackError), 'onError', thrown)
      })
    })
  }

  describe('the clients\' onHandshakeProgress', () => {
    const thrown = new Error('client progress throws on purpose')
    const onHandshakeProgress = (): void => { throw thrown }
    const dials: Record<string, (port: number, wsPort: number) => Promise<SecureStream>> = {
      'connect()': async (port) => await connect({ ...client, host: '127.0.0.1', port, onHandshakeProgress }),
      'connect({ address })': async (port) => await connect({ ...client, address: `net:127.0.0.1:${port}~shs:${formatKey(serverKeys.publicKey)}`, onHandshakeProgress }),
      connectWebSocket: async (_port, wsPort) => await connectWebSocket({ ...client, url: `ws://127.0.0.1:${wsPort}`, onHandshakeProgress })
    }
    for (const [name, dial] of Object.entries(dials)) {
      it(`${name}: the call rejects with a CallbackError naming it`, async () => {
        const tcp = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, echo)
        onCleanup(tcp.close)
        const ws = await listenWebSocket({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, echo)
        onCleanup(ws.close)
        await assert.rejects(dial(tcp.address().port, ws.address().port), (err: unknown) => { assertCallbackError(err, 'onHandshakeProgress', thrown); return true })
      })
    }

    it('clientHandshake and serverHandshake: the call rejects with a CallbackError naming it, the other side is hung up on', async () => {
      const [clientEnd, serverEnd] = memoryDuplexPair()
      const serving = serverHandshake(serverEnd, { keys: serverKeys, networkKey: SSB_NETWORK_KEY, onHandshakeProgress })
      await assert.rejects(clientHandshake(clientEnd, client), (err: unknown) => (err as ShsError).code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')
      await assert.rejects(serving, (err: unknown) => { assertCallbackError(err, 'onHandshakeProgress', thrown); return true })
    })
  })

  describe('the multiserver plugin\'s auth', () => {
    const pullPair = (): [unknown, unknown] => (createRequire(import.meta.url)('pull-pair/duplex') as () => [unknown, unknown])()
    type Cb = (err: Error | null, stream?: unknown) => void
    async function secured (auth: (pk: Buffer, cb: (err?: Error | null, value?: unknown) => void) => void): Promise<[Error | null, Error | null]> {
      const appKey = Buffer.from(SSB_NETWORK_KEY)
      const asSodium = (keys: typeof serverKeys): { publicKey: Buffer, secretKey: Buffer } => ({ publicKey: Buffer.from(keys.publicKey), secretKey: Buffer.from(keys.secretKey) })
      const server = ourShs({ keys: asSodium(serverKeys), appKey, auth, timeout: 1000 })
      const dialler = ourShs({ keys: asSodium(clientKeys), appKey })
      const [a, b] = pullPair()
      const outcome = async (plugin: typeof server, end: unknown, address: { key: Buffer } | null): Promise<Error | null> => await new Promise((resolve) => {
        (plugin.create(address) as unknown as (stream: unknown, cb: Cb) => void)(end, (err) => { resolve(err) })
      })
      return await Promise.all([outcome(server, a, null), outcome(dialler, b, { key: Buffer.from(serverKeys.publicKey) })])
    }

    for (const [how, auth] of Object.entries({
      throws: () => { throw new Error('auth throws on purpose') },
      'calls back with an error': (_pk: Buffer, cb: (err?: Error | null) => void) => { cb(new Error('auth refuses on purpose')) },
      'calls back twice': (_pk: Buffer, cb: (err?: Error | null, value?: unknown) => void) => { cb(null, false); cb(null, true) },
      'never calls back': () => {}
    })) {
      it(`auth ${how}: both sides' callbacks get an error, nothing else happens`, async () => {
        const [serverError, clientError] = await secured(auth)
        assert.ok(serverError instanceof Error, 'the server side failed')
        assert.ok(clientError instanceof Error, 'the client side failed')
      })
    }
  })
})
