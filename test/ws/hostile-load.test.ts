/**
 * listenWebSocket under hostile load, at a size that runs in seconds: clients that send their
 * HTTP upgrade request slowly, or never finish it (slowloris), from 127.0.0.2 and up, while
 * honest WebSocket clients from 127.0.0.1 are served. The admission of `listen()` decides at TCP
 * accept, before a byte of HTTP is read. Every load loop is bounded in count; every wait is for
 * an event (or a bounded poll of a counter).
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import {
  SSB_NETWORK_KEY, type SecureStream, type ShsError, type WebSocketListenOptions, connectWebSocket, generateKeyPair, listenWebSocket
} from '../../src/index.ts'
import { drain } from '../helpers/adversary.ts'
import { useLeakChecks, waitFor } from '../helpers/resources.ts'
import { type RawSockets, stallers } from '../helpers/stallers.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const networkKey = SSB_NETWORK_KEY
/** A wait that runs out fails the test instead of hanging it. */
const WAIT_MS = 15_000
const HONEST = 24
/** What the issue asks of a server under attack: nearly every honest client served. */
const HONEST_SERVED_AT_LEAST = 22
const DEFAULT_PER_SOURCE = 8
/** The start of an upgrade request, never finished: the headers' blank line never comes. */
const HALF_AN_UPGRADE = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n', 'latin1')

interface Report {
  code: ShsError['code']
  host: string
  message: string
}

describe('listenWebSocket under hostile load: admission from the first byte of the HTTP request', function () {
  this.timeout(60_000)
  const onCleanup = useLeakChecks()

  async function startServer (options: Partial<WebSocketListenOptions> = {}): Promise<{ port: number, errors: Report[], streams: SecureStream[], pending: () => number }> {
    const errors: Report[] = []
    const streams: SecureStream[] = []
    const listener = await listenWebSocket({
      port: 0,
      keys: serverKeys,
      networkKey,
      onHandshakeError: (err, remote) => { errors.push({ code: err.code, host: remote.host, message: err.message }) },
      ...options
    }, (stream) => {
      streams.push(stream)
      stream.sink(stream.source).catch(() => {})
    })
    onCleanup(async () => { await listener.close() })
    return { port: listener.address().port, errors, streams, pending: () => listener.stats().pendingHandshakes }
  }

  /** One honest request over WebSocket: a round trip through the echo server; false if it failed. */
  async function honestRoundTrip (port: number): Promise<boolean> {
    try {
      const stream = await connectWebSocket({ url: `ws://127.0.0.1:${port}`, keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey })
      const message = new Uint8Array([1, 2, 3])
      const [echoed] = await Promise.all([drain(stream.source), stream.sink([message])])
      return echoed.error === undefined && Buffer.from(echoed.delivered).equals(message)
    } catch {
      return false
    }
  }

  /**
   * `count` slowloris clients from `source` (the shared stallers, test/helpers/stallers.ts): each
   * sends half an upgrade request and waits, and reconnects at most `reconnects` times when dropped.
   */
  function slowloris (port: number, source: string, count: number, reconnects: number): RawSockets {
    const attack = stallers(port, source, count, reconnects, HALF_AN_UPGRADE)
    onCleanup(() => { attack.destroyAll() })
    return attack
  }

  async function servedOf (port: number): Promise<number> {
    let served = 0
    for (let i = 0; i < HONEST; i++) if (await honestRoundTrip(port)) served++
    return served
  }

  it('256 half-sent upgrades from one source: the source holds 8, the rest are refused at accept (ERR_SHS_SOURCE_BUSY), honest clients are served', async () => {
    const STALLERS = 256
    const RECONNECTS = 2
    // Long deadlines: the stallers hold their slots for the whole test, so the per-source cap alone must do.
    const server = await startServer({ helloTimeout: 60_000, timeout: 60_000 })
    const attack = slowloris(server.port, '127.0.0.2', STALLERS, RECONNECTS)
    await waitFor(() => attack.size === DEFAULT_PER_SOURCE, 'only the held stallers to remain', WAIT_MS)
    const refusals = server.errors.length
    assert.ok(refusals >= (STALLERS - DEFAULT_PER_SOURCE) * (RECONNECTS + 1), `${refusals} refusals`)
    assert.ok(server.errors.every((e) => e.code === 'ERR_SHS_SOURCE_BUSY' && e.host === '127.0.0.2'), 'refused by the per-source cap, with its reason')
    assert.equal(server.pending(), DEFAULT_PER_SOURCE, 'stats(): the held stallers are the pending handshakes')

    const served = await servedOf(server.port)
    assert.ok(served >= HONEST_SERVED_AT_LEAST, `${served} of ${HONEST} honest clients served`)
    assert.equal(attack.size, DEFAULT_PER_SOURCE, 'the stallers still hold their sockets')
  })

  it('1 024 half-sent upgrades from 16 sources (127.0.0.2..17): 16 x 8 held, below the random-drop zone, honest clients are served', async () => {
    const SOURCES = 16
    const PER_SOURCE = 64
    const RECONNECTS = 1
    const server = await startServer({ helloTimeout: 60_000, timeout: 60_000 })
    const attacks = Array.from({ length: SOURCES }, (_, i) => slowloris(server.port, `127.0.0.${i + 2}`, PER_SOURCE, RECONNECTS))
    await waitFor(() => attacks.every((a) => a.size === DEFAULT_PER_SOURCE), 'only the held stallers to remain', WAIT_MS)
    assert.ok(server.errors.every((e) => e.code === 'ERR_SHS_SOURCE_BUSY'))

    const served = await servedOf(server.port)
    assert.ok(served >= HONEST_SERVED_AT_LEAST, `${served} of ${HONEST} honest clients served`)
    assert.ok(attacks.every((a) => a.size === DEFAULT_PER_SOURCE), 'the stallers still hold their sockets')
  })

  it('a half-sent upgrade is dropped at helloTimeout, which counts from TCP accept, with ERR_SHS_HANDSHAKE_TIMEOUT', async () => {
    const server = await startServer({ helloTimeout: 200, timeout: 20_000 })
    const staller = slowloris(server.port, '127.0.0.2', 1, 0)
    await waitFor(() => staller.size === 0, 'the server to drop the staller', WAIT_MS)
    await waitFor(() => server.errors.length === 1, 'the staller to be reported', WAIT_MS)
    assert.equal(server.errors[0]?.code, 'ERR_SHS_HANDSHAKE_TIMEOUT')
    assert.match(server.errors[0]?.message ?? '', /no complete hello \(message 1\) within 200 ms/)
    assert.ok(await honestRoundTrip(server.port), 'an honest client is served with the same deadline')
  })

  it('a plain HTTP request (no upgrade) is answered 426 and closed, reported as ERR_SHS_CLIENT_HUNG_UP; its slot is free again', async () => {
    let connections = 0
    const server = await startServer({ maxPendingPerSource: 1, onConnection: () => { connections++ } })
    const socket = net.connect({ host: '127.0.0.1', port: server.port, localAddress: '127.0.0.2' })
    onCleanup(() => { socket.destroy() })
    socket.on('error', () => {})
    let answer = ''
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1') })
    socket.once('connect', () => { socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n') })
    await new Promise((resolve) => socket.once('close', resolve))
    assert.match(answer, /^HTTP\/1\.1 426 /)
    await waitFor(() => server.errors.length === 1, 'the request to be reported', WAIT_MS)
    assert.equal(server.errors[0]?.code, 'ERR_SHS_CLIENT_HUNG_UP')
    // The same source gets its one slot back.
    slowloris(server.port, '127.0.0.2', 1, 0)
    await waitFor(() => connections === 2, 'the next connection', WAIT_MS)
    // Past the turn in which a refusal would be reported.
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(server.errors.length, 1, 'not refused: the slot was released')
  })
})
