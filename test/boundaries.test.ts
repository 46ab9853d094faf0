/**
 * The library's boundaries: options are checked once, at the call, with a typed error naming the
 * option and its range. (That the application's callbacks are contained, on every way in, is
 * test/contract/callbacks.test.ts.)
 */
import assert from 'node:assert/strict'
import {
  InvalidOptionError, SSB_NETWORK_KEY, clientHandshake, connect, generateKeyPair, listen, serverHandshake
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

const TIMEOUT_RANGE = /timeout must be a whole number of milliseconds from 1 to 2147483647/

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
})
