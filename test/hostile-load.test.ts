/**
 * The hostile-load table of docs/HOSTILE-LOAD.md, at a size that runs in seconds: stallers from 127.0.0.2
 * and up (Linux routes all of 127.0.0.0/8 to loopback) while honest clients from 127.0.0.1
 * are served; caps on established connections; idle and stalled peers dropped. Every load loop
 * is bounded in count; every wait is for an event (or a bounded poll of a counter).
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { connect, generateKeyPair, listen, type ListenOptions, type SecureStream, type ShsError, SSB_NETWORK_KEY } from '../src/index.ts'
import { BOX_HEADER_BYTES, ClientSteps, craftPacket, drain, handRolledClient, HELLO_BYTES, RawPeer } from './helpers/adversary.ts'
import { useLeakChecks, waitFor } from './helpers/resources.ts'
import { type RawSockets, stallers as openStallers } from './helpers/stallers.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const NETWORK_KEY = SSB_NETWORK_KEY
/** A wait that runs out fails the test instead of hanging it. */
const WAIT_MS = 15_000

interface Refusal {
  code: ShsError['code']
  host: string
  message: string
}

describe('hostile load: admission control, connection caps, idle timeout', function () {
  this.timeout(60_000)
  const onCleanup = useLeakChecks()

  async function startServer (options: Partial<ListenOptions> = {}, onStream: (stream: SecureStream) => void = echo): Promise<{ port: number, errors: Refusal[], streams: SecureStream[] }> {
    const errors: Refusal[] = []
    const streams: SecureStream[] = []
    const listener = await listen({
      port: 0,
      keys: serverKeys,
      networkKey: NETWORK_KEY,
      onHandshakeError: (err, remote) => { errors.push({ code: err.code, host: remote.host, message: err.message }) },
      ...options
    }, (stream) => { streams.push(stream); onStream(stream) })
    onCleanup(async () => { await listener.close() })
    return { port: listener.address().port, errors, streams }
  }

  async function dial (port: number, keys = clientKeys, extra: { idleTimeout?: number } = {}): Promise<SecureStream> {
    const stream = await connect({ host: '127.0.0.1', port, keys, networkKey: NETWORK_KEY, remotePublicKey: serverKeys.publicKey, ...extra })
    onCleanup(() => { stream.abort() })
    return stream
  }

  /** One honest request: a round trip through the echo server. */
  async function honestRoundTrip (port: number): Promise<void> {
    const stream = await dial(port)
    const message = new Uint8Array([1, 2, 3])
    const [echoed] = await Promise.all([drain(stream.source), stream.sink([message])])
    assert.equal(echoed.error, undefined)
    assert.deepEqual(echoed.delivered, message)
  }

  function stallers (port: number, source: string, count: number, reconnects: number): RawSockets {
    const sockets = openStallers(port, source, count, reconnects)
    onCleanup(() => { sockets.destroyAll() })
    return sockets
  }

  describe('row 1: 256 sockets from one source that each send 1 byte, stall, and reconnect when dropped', () => {
    it('honest clients from another address are all served, with default limits; the flood is refused per source (ERR_SHS_SOURCE_BUSY)', async () => {
      const STALLERS = 256
      const RECONNECTS = 2
      const HONEST = 24
      // Long deadlines, so the stallers hold their slots for the whole test: the per-source cap
      // alone (default 8) must keep the honest clients served.
      const server = await startServer({ timeout: 60_000, helloTimeout: 60_000 })
      const attack = stallers(server.port, '127.0.0.2', STALLERS, RECONNECTS)
      const DEFAULT_PER_SOURCE = 8
      // Every staller but the 8 holders ran out of attempts: the holders never let go.
      await waitFor(() => attack.size === DEFAULT_PER_SOURCE, 'only the held stallers to remain', WAIT_MS)
      const refusals = server.errors.length
      assert.ok(refusals >= (STALLERS - DEFAULT_PER_SOURCE) * (RECONNECTS + 1), `${refusals} refusals`)
      assert.ok(server.errors.every((e) => e.code === 'ERR_SHS_SOURCE_BUSY' && e.host === '127.0.0.2'), 'refused by the per-source cap, with its reason')

      for (let i = 0; i < HONEST; i++) await honestRoundTrip(server.port)
      assert.equal(server.streams.length, HONEST)
      assert.equal(attack.size, DEFAULT_PER_SOURCE, 'the stallers still hold their sockets')
      assert.equal(server.errors.length, refusals, 'no honest client was refused')
    })
  })

  describe('row 2: the same from 16 source addresses, 1 024 sockets', () => {
    it('honest clients are all served with default limits: 16 sources x 8 stay below the random-drop zone (192 of 256)', async () => {
      const SOURCES = 16
      const PER_SOURCE = 64
      const RECONNECTS = 1
      const HONEST = 24
      const server = await startServer({ timeout: 60_000, helloTimeout: 60_000 })
      const attacks = Array.from({ length: SOURCES }, (_, i) => stallers(server.port, `127.0.0.${i + 2}`, PER_SOURCE, RECONNECTS))
      await waitFor(() => attacks.every((a) => a.size === 8), 'only the held stallers to remain', WAIT_MS)
      const refusals = server.errors.length
      assert.ok(refusals >= SOURCES * (PER_SOURCE - 8) * (RECONNECTS + 1), `${refusals} refusals`)
      assert.ok(server.errors.every((e) => e.code === 'ERR_SHS_SOURCE_BUSY'))

      for (let i = 0; i < HONEST; i++) await honestRoundTrip(server.port)
      assert.equal(server.streams.length, HONEST)
      assert.ok(attacks.every((a) => a.size === 8), 'the stallers still hold their sockets')
      assert.equal(server.errors.length, refusals, 'no honest client was refused')
    })

    it('an attacker with more sources than the global cap can fill it: new connections are then refused with ERR_SHS_BUSY (what remains possible)', async () => {
      let accepted = 0
      const server = await startServer({
        timeout: 60_000, helloTimeout: 60_000, maxPendingHandshakes: 16, earlyDropFrom: 16, maxPendingPerSource: 2, onConnection: () => { accepted++ }
      })
      const attacks = Array.from({ length: 8 }, (_, i) => stallers(server.port, `127.0.0.${i + 2}`, 2, 0))
      await waitFor(() => accepted === 16, 'the slots to be taken', WAIT_MS)
      assert.ok(attacks.every((a) => a.size === 2) && server.errors.length === 0, 'every slot held by a staller')
      await assert.rejects(dial(server.port), (err: ShsError) => err.code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO' && /or the server is busy \(try again\)/.test(err.message))
      await waitFor(() => server.errors.length === 1, 'the refusal to be reported', WAIT_MS)
      assert.equal(server.errors[0]?.code, 'ERR_SHS_BUSY')
    })
  })

  describe('the hello deadline and penalties', () => {
    it('a client that sends part of its hello is dropped at helloTimeout with ERR_SHS_HANDSHAKE_TIMEOUT naming the hello; one that sent it waits for the whole timeout', async () => {
      const server = await startServer({ helloTimeout: 200, timeout: 20_000 })
      const staller = await RawPeer.connect(server.port)
      onCleanup(() => { staller.destroy() })
      staller.write(new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey).hello.subarray(0, HELLO_BYTES - 1))
      await staller.waitClosed(WAIT_MS)
      assert.equal(staller.bytesReceived, 0)
      assert.equal(server.errors.length, 1)
      assert.equal(server.errors[0]?.code, 'ERR_SHS_HANDSHAKE_TIMEOUT')
      assert.match(server.errors[0]?.message ?? '', /no complete hello \(message 1\) within 200 ms/)

      // A whole hello, then silence: past the hello deadline, still waiting for message 3.
      const patient = await RawPeer.connect(server.port)
      onCleanup(() => { patient.destroy() })
      patient.write(new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey).hello)
      assert.ok(await patient.read(HELLO_BYTES) !== undefined, 'the server answered with message 2')
      // Twice the hello deadline (at least: timers never fire early), then check it is still held.
      await new Promise((resolve) => setTimeout(resolve, 400))
      assert.equal(patient.socket.destroyed, false)
      assert.equal(server.errors.length, 1)
      patient.destroy()
      await waitFor(() => server.errors.length === 2, 'the patient client to be reported', WAIT_MS)
      assert.equal(server.errors[1]?.code, 'ERR_SHS_CLIENT_HUNG_UP', 'not dropped by the hello deadline once its hello was in')
    })

    it('with penalties on, a source whose handshakes keep failing is refused (ERR_SHS_PENALIZED) while other sources are served', async () => {
      const server = await startServer({ penalties: { perFailure: 10_000, blockAbove: 25_000 } })
      for (let i = 0; i < 3; i++) {
        const socket = net.connect({ host: '127.0.0.1', port: server.port, localAddress: '127.0.0.2' })
        socket.on('error', () => {})
        socket.once('connect', () => { socket.write(new Uint8Array(HELLO_BYTES)) })
        await new Promise((resolve) => socket.once('close', resolve))
      }
      await waitFor(() => server.errors.length === 3, 'three failures', WAIT_MS)
      assert.ok(server.errors.every((e) => e.code === 'ERR_SHS_INVALID_HELLO'))
      const again = net.connect({ host: '127.0.0.1', port: server.port, localAddress: '127.0.0.2' })
      again.on('error', () => {})
      await new Promise((resolve) => again.once('close', resolve))
      await waitFor(() => server.errors.length === 4, 'the penalized connection to be reported', WAIT_MS)
      assert.equal(server.errors[3]?.code, 'ERR_SHS_PENALIZED')
      await honestRoundTrip(server.port)
    })
  })

  describe('row 5: many authenticated connections from one key; idle and stalled peers', () => {
    it('maxConnectionsPerKey and maxConnections refuse the client before message 4 (ERR_SHS_TOO_MANY_CONNECTIONS); a closed connection frees its slot', async () => {
      const server = await startServer({ maxConnections: 3, maxConnectionsPerKey: 2 }, () => {})
      const first = await dial(server.port)
      await dial(server.port)
      await assert.rejects(dial(server.port), (err: ShsError) => err.code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH' && /too many connections/.test(err.message))
      await waitFor(() => server.errors.length === 1, 'the refusal to be reported', WAIT_MS)
      assert.equal(server.errors[0]?.code, 'ERR_SHS_TOO_MANY_CONNECTIONS')
      assert.match(server.errors[0]?.message ?? '', /maxConnectionsPerKey/)

      const other = generateKeyPair()
      await dial(server.port, other)
      await assert.rejects(dial(server.port, generateKeyPair()), (err: ShsError) => err.code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH')
      await waitFor(() => server.errors.length === 2, 'the second refusal to be reported', WAIT_MS)
      assert.match(server.errors[1]?.message ?? '', /maxConnections\)/)

      first.abort()
      // The slot frees when the server's socket closes; poll with whole handshakes, bounded.
      let reconnected: SecureStream | undefined
      for (let attempt = 0; attempt < 100 && reconnected === undefined; attempt++) {
        reconnected = await dial(server.port).catch(() => undefined)
        if (reconnected === undefined) await new Promise((resolve) => setTimeout(resolve, 20))
      }
      assert.ok(reconnected !== undefined, 'a slot was freed')
      assert.equal(server.streams.length, 4)
    })

    it('a silent authenticated peer is dropped at idleTimeout with ERR_SHS_IDLE_TIMEOUT; an active one is kept', async () => {
      const outcomes: Array<Promise<unknown>> = []
      // The active client writes every 25 ms for 1.5 s, well past the 1 s idle timeout.
      const server = await startServer({ idleTimeout: 1000 }, (stream) => { outcomes.push(drain(stream.source)) })
      const silent = await dial(server.port)
      const active = await dial(server.port)
      const WRITES = 60
      const ticking = active.sink((async function * () {
        for (let i = 0; i < WRITES; i++) {
          yield new Uint8Array([i])
          await new Promise((resolve) => setTimeout(resolve, 25))
        }
      })())
      const [silentResult] = await Promise.all([outcomes[0], ticking]) as [{ error: ShsError }, unknown]
      assert.equal(silentResult.error.code, 'ERR_SHS_IDLE_TIMEOUT')
      const activeResult = await outcomes[1] as { delivered: Uint8Array, error: unknown }
      assert.equal(activeResult.error, undefined, 'the active client ended with goodbye, never idle')
      assert.equal(activeResult.delivered.byteLength, WRITES)
      const clientSide = await drain(silent.source)
      assert.ok(clientSide.error !== undefined, 'the silent client saw its connection cut')
    })

    it('a peer that sends a packet header and stalls before the body counts as idle', async () => {
      const outcomes: Array<Promise<{ delivered: Uint8Array, error: unknown }>> = []
      const server = await startServer({ idleTimeout: 200 }, (stream) => { outcomes.push(drain(stream.source)) })
      const { peer, session } = await handRolledClient(server.port, { keys: clientKeys, networkKey: NETWORK_KEY, serverKey: serverKeys.publicKey })
      onCleanup(() => { peer.destroy() })
      const packet = craftPacket(session, 0, new Uint8Array(100))
      peer.write(packet.subarray(0, BOX_HEADER_BYTES + 10))
      await waitFor(() => outcomes.length === 1, 'the stream', WAIT_MS)
      const result = await outcomes[0]
      assert.equal((result?.error as ShsError).code, 'ERR_SHS_IDLE_TIMEOUT')
      assert.equal(result?.delivered.byteLength, 0)
      await peer.waitClosed(WAIT_MS)
    })

    it('connect({ idleTimeout }): a server that goes silent ends the client\'s stream with ERR_SHS_IDLE_TIMEOUT', async () => {
      const server = await startServer({}, () => {})
      const stream = await dial(server.port, clientKeys, { idleTimeout: 200 })
      const result = await drain(stream.source)
      assert.equal((result.error as ShsError).code, 'ERR_SHS_IDLE_TIMEOUT')
    })

    it('a bad option fails at the call with ERR_SHS_INVALID_OPTION naming it', async () => {
      await assert.rejects(listen({ port: 0, keys: serverKeys, networkKey: NETWORK_KEY, idleTimeout: 0 }, () => {}),
        (err: ShsError) => err.code === 'ERR_SHS_INVALID_OPTION' && /idleTimeout must be a whole number of milliseconds from 1/.test(err.message))
      await assert.rejects(listen({ port: 0, keys: serverKeys, networkKey: NETWORK_KEY, maxPendingPerSource: -1 }, () => {}),
        (err: ShsError) => err.code === 'ERR_SHS_INVALID_OPTION' && /maxPendingPerSource/.test(err.message))
      await assert.rejects(connect({ host: '127.0.0.1', port: 1, keys: clientKeys, networkKey: NETWORK_KEY, remotePublicKey: serverKeys.publicKey, idleTimeout: 1.5 }),
        (err: ShsError) => err.code === 'ERR_SHS_INVALID_OPTION' && /idleTimeout/.test(err.message))
    })
  })
})

function echo (stream: SecureStream): void {
  stream.sink(stream.source).catch(() => {})
}
