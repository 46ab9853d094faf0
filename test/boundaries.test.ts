/**
 * The library's boundaries: options are checked once, at the call, with a typed error naming the
 * option and its range; the application's callbacks are contained (a throw closes that one
 * connection, is reported, and the server keeps serving).
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import {
  CallbackError, InvalidOptionError, SSB_NETWORK_KEY, type SecureStream, type ShsError, clientHandshake, connect,
  generateKeyPair, listen, type ListenOptions, type Listener, serverHandshake
} from '../src/index.ts'
import { collect, randomPayload } from './helpers/bytes.ts'
import { memoryDuplexPair } from './helpers/duplex.ts'
import { assertNoLeaks, countResources } from './helpers/resources.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const HOST = '127.0.0.1'

function invalidOption (name: string, range: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof InvalidOptionError, `expected an InvalidOptionError, got ${String(err)}`)
    assert.equal(err.code, 'ERR_SHS_INVALID_OPTION')
    assert.equal(err.option, name)
    assert.match(err.message, range)
    return true
  }
}

function callbackError (callback: string, cause: unknown) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof CallbackError, `expected a CallbackError, got ${String(err)}`)
    assert.equal(err.code, 'ERR_SHS_CALLBACK_FAILED')
    assert.equal(err.callback, callback)
    assert.equal(err.cause, cause)
    assert.match(err.message, new RegExp(callback))
    return true
  }
}

const TIMEOUT_RANGE = /timeout must be a whole number of milliseconds from 1 to 2147483647/

/** Resolves with the next value `push` receives. */
function nextValue<T> (): { push: (value: T) => void, next: () => Promise<T> } {
  const values: T[] = []
  const waiters: Array<(value: T) => void> = []
  return {
    push: (value) => { const waiter = waiters.shift(); if (waiter === undefined) values.push(value); else waiter(value) },
    next: async () => await new Promise<T>((resolve) => { const value = values.shift(); if (value === undefined) waiters.push(resolve); else resolve(value) })
  }
}

describe('boundaries: options and callbacks', function () {
  this.timeout(20_000)
  let baseline: Map<string, number>
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
  const warnings: Error[] = []
  const onWarning = (warning: Error): void => { warnings.push(warning) }
  beforeEach(async () => {
    await new Promise((resolve) => setImmediate(resolve))
    baseline = countResources()
    unhandled.length = 0
    warnings.length = 0
    process.on('unhandledRejection', onUnhandled)
    process.on('warning', onWarning)
  })
  afterEach(async () => {
    process.off('unhandledRejection', onUnhandled)
    process.off('warning', onWarning)
    assert.deepEqual(unhandled, [], 'nothing may reach the process as an unhandled rejection')
    await assertNoLeaks(baseline)
  })

  describe('options are checked once, at the call', () => {
    for (const timeout of [0, -1, Number.NaN, 1.5, 2 ** 31, 3_000_000_000, Infinity]) {
      it(`listen({ timeout: ${timeout} }) rejects with ERR_SHS_INVALID_OPTION and opens no server socket`, async () => {
        await assert.rejects(listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY, timeout }, () => {}), invalidOption('timeout', TIMEOUT_RANGE))
        assert.equal(countResources().get('TCPServerWrap') ?? 0, baseline.get('TCPServerWrap') ?? 0)
      })
    }

    it('connect({ timeout: 3_000_000_000 }) rejects at once, typed, opening no socket (Node would clamp it to 1 ms)', async () => {
      const attempt = connect({ host: HOST, port: 9, keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey, timeout: 3_000_000_000 })
      // Counted before anything could be cleaned up: the check runs before any socket exists.
      assert.equal(countResources().get('TCPSocketWrap') ?? 0, baseline.get('TCPSocketWrap') ?? 0)
      await assert.rejects(attempt, invalidOption('timeout', TIMEOUT_RANGE))
    })

    it('the largest timeout Node honours (2^31-1 ms) is accepted', async () => {
      const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY, timeout: 2 ** 31 - 1 }, (stream) => { void stream.sink(stream.source) })
      try {
        const stream = await connect({ host: HOST, port: listener.address().port, keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey, timeout: 2 ** 31 - 1 })
        const payload = randomPayload(1000)
        const [echo] = await Promise.all([collect(stream.source), stream.sink([payload])])
        assert.deepEqual(echo, payload)
      } finally {
        await listener.close()
      }
    })

    it('maxPendingHandshakes must be a positive integer', async () => {
      for (const maxPendingHandshakes of [0, -3, 2.5, Number.NaN]) {
        await assert.rejects(listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY, maxPendingHandshakes }, () => {}),
          invalidOption('maxPendingHandshakes', /maxPendingHandshakes must be an integer from 1/))
      }
    })

    it('clientHandshake() and serverHandshake() check their timeout before writing a byte', async () => {
      const [clientEnd, serverEnd] = memoryDuplexPair()
      await assert.rejects(clientHandshake(clientEnd, { keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey, timeout: 0 }), invalidOption('timeout', TIMEOUT_RANGE))
      await assert.rejects(serverHandshake(serverEnd, { keys: serverKeys, networkKey: SSB_NETWORK_KEY, timeout: -5 }), invalidOption('timeout', TIMEOUT_RANGE))
      assert.deepEqual(clientEnd.written, [])
      assert.deepEqual(serverEnd.written, [])
    })

    it('a callback option that is not a function is refused at the call', async () => {
      await assert.rejects(listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY, onConnection: 'yes' as unknown as () => void }, () => {}),
        invalidOption('onConnection', /onConnection must be a function/))
    })
  })

  describe('listen() contains the application\'s callbacks', () => {
    interface Server {
      listener: Listener
      port: number
      handshakeErrors: { push: (error: ShsError) => void, next: () => Promise<ShsError> }
      errors: { push: (error: ShsError) => void, next: () => Promise<ShsError> }
    }

    async function startServer (options: Partial<ListenOptions>, onStream: (stream: SecureStream) => void | Promise<void>, report = true): Promise<Server> {
      const handshakeErrors = nextValue<ShsError>()
      const errors = nextValue<ShsError>()
      const listener = await listen({
        port: 0,
        keys: serverKeys,
        networkKey: SSB_NETWORK_KEY,
        ...(report ? { onHandshakeError: handshakeErrors.push, onError: errors.push } : {}),
        ...options
      }, onStream)
      return { listener, port: listener.address().port, handshakeErrors, errors }
    }

    function dial (port: number): Promise<SecureStream> {
      return connect({ host: HOST, port, keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey })
    }

    /** The server still serves: a fresh client gets its bytes echoed. */
    async function stillServes (port: number): Promise<void> {
      const stream = await dial(port)
      const payload = randomPayload(500)
      const [echo] = await Promise.all([collect(stream.source), stream.sink([payload])])
      assert.deepEqual(echo, payload)
    }

    /** onStream that fails on the first connection only, and echoes afterwards. */
    function failingOnce (fail: (stream: SecureStream) => void | Promise<void>): (stream: SecureStream) => void | Promise<void> {
      let calls = 0
      return (stream) => {
        if (calls++ === 0) return fail(stream)
        void stream.sink(stream.source)
      }
    }

    for (const how of ['throws', 'rejects'] as const) {
      it(`onStream ${how}: that connection is closed, onError gets a CallbackError naming onStream, the server keeps serving`, async () => {
        const thrown = new Error(`onStream ${how} on purpose`)
        const server = await startServer({}, failingOnce(how === 'throws' ? () => { throw thrown } : async () => { throw thrown }))
        try {
          const victim = await dial(server.port)
          callbackError('onStream', thrown)(await server.errors.next())
          // The victim's connection was closed by the server: its read fails, it is not left hanging.
          await assert.rejects(collect(victim.source), (err: unknown) => (err as ShsError).code === 'ERR_BOX_STREAM_TRUNCATED' || (err as ShsError).code === 'ERR_SHS_CONNECTION')
          await stillServes(server.port)
        } finally {
          await server.listener.close()
        }
      })
    }

    it('onConnection throws: that socket is closed before any handshake, onHandshakeError gets a CallbackError, the server keeps serving', async () => {
      const thrown = new Error('onConnection throws on purpose')
      let calls = 0
      const server = await startServer({ onConnection: () => { if (calls++ === 0) throw thrown } }, (stream) => { void stream.sink(stream.source) })
      try {
        await assert.rejects(dial(server.port), (err: unknown) => (err as ShsError).code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')
        callbackError('onConnection', thrown)(await server.handshakeErrors.next())
        await stillServes(server.port)
      } finally {
        await server.listener.close()
      }
    })

    it('onHandshakeProgress throws: the handshake fails with a CallbackError (not ERR_SHS_CONNECTION), the server keeps serving', async () => {
      const thrown = new Error('progress throws on purpose')
      let calls = 0
      const server = await startServer({ onHandshakeProgress: () => { if (calls++ === 0) throw thrown } }, (stream) => { void stream.sink(stream.source) })
      try {
        await assert.rejects(dial(server.port), (err: unknown) => (err as ShsError).code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')
        callbackError('onHandshakeProgress', thrown)(await server.handshakeErrors.next())
        await stillServes(server.port)
      } finally {
        await server.listener.close()
      }
    })

    it('connect()\'s onHandshakeProgress throws: the connect rejects with a CallbackError naming it', async () => {
      const server = await startServer({}, (stream) => { void stream.sink(stream.source) })
      const thrown = new Error('client progress throws on purpose')
      try {
        await assert.rejects(connect({ host: HOST, port: server.port, keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey, onHandshakeProgress: () => { throw thrown } }),
          callbackError('onHandshakeProgress', thrown))
      } finally {
        await server.listener.close()
      }
    })

    it('onHandshakeError throws (64 junk bytes trigger it): onError gets a CallbackError naming it, the server keeps serving', async () => {
      const thrown = new Error('onHandshakeError throws on purpose')
      const errors = nextValue<ShsError>()
      const server = await startServer({ onHandshakeError: () => { throw thrown }, onError: errors.push }, (stream) => { void stream.sink(stream.source) })
      try {
        const junk = net.connect({ host: HOST, port: server.port })
        junk.on('error', () => {})
        junk.resume()
        junk.write(randomPayload(64))
        callbackError('onHandshakeError', thrown)(await errors.next())
        await new Promise((resolve) => junk.once('close', resolve))
        await stillServes(server.port)
      } finally {
        await server.listener.close()
      }
    })

    it('without onError, a throwing onStream becomes a process warning, never an unhandled rejection', async () => {
      const thrown = new Error('onStream rejects, nobody listens')
      const server = await startServer({}, failingOnce(async () => { throw thrown }), false)
      try {
        const victim = await dial(server.port)
        await assert.rejects(collect(victim.source))
        await stillServes(server.port)
        const warning = warnings.find((w) => w instanceof CallbackError)
        assert.ok(warning !== undefined, 'a process warning names the callback')
        callbackError('onStream', thrown)(warning)
      } finally {
        await server.listener.close()
      }
    })
  })
})
