/**
 * Hostile peers over real TCP, against our `listen` and `connect`: every shs1-test negative
 * family, tampered and forged box-stream packets, slow and stuck peers, aborts at each step, a
 * flood, and the pending-handshake cap. The hostile side is played by raw sockets running SHS1
 * written out by hand (test/helpers/adversary.ts), so it can send what no honest peer would.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { mock } from 'node:test'
import v8 from 'node:v8'
import vm from 'node:vm'
import {
  AbortError, BoxStreamDecoder, BoxStreamError, HandshakeTimeoutError, SSB_NETWORK_KEY, type SecureStream, type SessionKeys, ShsError,
  type ShsErrorCode, connect, generateKeyPair, listen, type ListenOptions, type Listener, serverHandshake
} from '../src/index.ts'
import { sealOnce } from '../src/crypto/primitives.ts'
import { concat, randomPayload } from './helpers/bytes.ts'
import {
  BOX_HEADER_BYTES, BOX_MAX_BODY, CLIENT_AUTH_BYTES, ClientSteps, type Drained, HELLO_BYTES, HOST,
  NO_TAMPERING, RawPeer, SERVER_ACCEPT_BYTES, ServerSteps, craftPacket, curvePublicKey, drain, handRolledAccept,
  handRolledClient, helloFor, rawServer, sealHeader, socketAsDuplex, tamperingRelay
} from './helpers/adversary.ts'
import { useLeakChecks, waitFor } from './helpers/resources.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const NETWORK_KEY = SSB_NETWORK_KEY

/** Handshake timeouts for the slow-peer tests: short, so the suite stays fast. */
const SHORT_TIMEOUT_MS = 600
/** One full box-stream packet on the wire. */
const PACKET_BYTES = BOX_HEADER_BYTES + BOX_MAX_BODY
/** Where the box stream starts in each direction: after messages 1 and 3, or 2 and 4. */
const CLIENT_HANDSHAKE_BYTES = HELLO_BYTES + CLIENT_AUTH_BYTES
const SERVER_HANDSHAKE_BYTES = HELLO_BYTES + SERVER_ACCEPT_BYTES
const MiB = 1024 * 1024

function expectCode (code: ShsErrorCode) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ShsError, `expected an ShsError with ${code}, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return true
  }
}

function isAbortError (err: unknown): boolean {
  return err instanceof AbortError && err.name === 'AbortError' && err.code === 'ERR_SHS_ABORTED'
}

/** A full garbage collection, so memory readings count what is still held, not garbage. */
const collectGarbage: () => void = (() => {
  v8.setFlagsFromString('--expose-gc')
  return vm.runInNewContext('gc') as () => void
})()

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * onStream for servers that answer with what they get. How the echo ends is not what those tests
 * observe: a client that hangs up mid-echo (as some of them do on purpose) is no failure.
 */
function echo (stream: SecureStream): void {
  stream.sink(stream.source).catch(() => {})
}

/** Three 4096-byte writes: on the wire, exactly three full packets whatever the batching. */
function threePackets (): { chunks: Uint8Array[], payload: Uint8Array } {
  const payload = randomPayload(3 * BOX_MAX_BODY)
  const chunks = [0, 1, 2].map((i) => payload.subarray(i * BOX_MAX_BODY, (i + 1) * BOX_MAX_BODY))
  return { chunks, payload }
}

interface TestServer {
  port: number
  listener: Listener
  streams: SecureStream[]
  /** What each accepted stream's source delivered (only with the default onStream). */
  outcomes: Array<Promise<Drained>>
  errors: ShsError[]
}

describe('adversarial peers over TCP', function () {
  this.timeout(20_000)
  const onCleanup = useLeakChecks()

  async function waitForStream (server: TestServer): Promise<SecureStream> {
    await waitFor(() => server.streams.length > 0, 'the server to accept a stream')
    return server.streams[0] as SecureStream
  }

  async function startServer (options: Partial<ListenOptions> = {}, onStream?: (stream: SecureStream) => void): Promise<TestServer> {
    const streams: SecureStream[] = []
    const outcomes: Array<Promise<Drained>> = []
    const errors: ShsError[] = []
    const listener = await listen({
      port: 0, keys: serverKeys, networkKey: NETWORK_KEY, onHandshakeError: (err) => errors.push(err), ...options
    }, (stream) => {
      streams.push(stream)
      if (onStream === undefined) outcomes.push(drain(stream.source))
      else onStream(stream)
    })
    onCleanup(async () => { await listener.close() })
    return { port: listener.address().port, listener, streams, outcomes, errors }
  }

  async function dial (port: number, overrides: Record<string, unknown> = {}): Promise<SecureStream> {
    const stream = await connect({ host: HOST, port, keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: NETWORK_KEY, ...overrides })
    onCleanup(() => { stream.abort() })
    return stream
  }

  async function rawConnect (port: number): Promise<RawPeer> {
    const peer = await RawPeer.connect(port)
    onCleanup(() => { peer.destroy() })
    return peer
  }

  async function evilServer (handle: (peer: RawPeer) => Promise<void>): ReturnType<typeof rawServer> {
    const server = await rawServer(handle)
    onCleanup(async () => { await server.close() })
    return server
  }

  describe('shs1-test negative families against listen(): the server writes nothing more and never calls onStream', () => {
    it('control: a hand-rolled client completes the handshake and its packets are accepted', async () => {
      const server = await startServer()
      const { peer, session } = await handRolledClient(server.port, { keys: clientKeys, networkKey: NETWORK_KEY, serverKey: serverKeys.publicKey })
      onCleanup(() => { peer.destroy() })
      const body = randomPayload(100)
      peer.write(concat([craftPacket(session, 0, body), sealHeader(session, 1, new Uint8Array(18))]))
      const outcome = await server.outcomes[0]
      assert.equal(outcome?.error, undefined)
      assert.deepEqual(outcome?.delivered, body)
      assert.deepEqual(server.streams[0]?.remotePublicKey, clientKeys.publicKey)
    })

    const families: Array<{ name: string, at: 1 | 3, code: ShsErrorCode, build: (steps: ClientSteps) => Uint8Array }> = [
      { name: 'a random message 1', at: 1, code: 'ERR_SHS_INVALID_HELLO', build: () => randomPayload(HELLO_BYTES) },
      { name: 'message 1 made with a random network key', at: 1, code: 'ERR_SHS_INVALID_HELLO', build: (steps) => helloFor(randomPayload(32), steps.ephemeral.publicKey) },
      { name: 'a random message 3', at: 3, code: 'ERR_SHS_INVALID_CLIENT_AUTH', build: () => randomPayload(CLIENT_AUTH_BYTES) },
      { name: 'message 3 sealed with a random key', at: 3, code: 'ERR_SHS_INVALID_CLIENT_AUTH', build: (steps) => sealOnce(randomPayload(32), steps.authPayload()) },
      { name: 'message 3 sealed with the right key around random contents', at: 3, code: 'ERR_SHS_INVALID_CLIENT_AUTH', build: (steps) => sealOnce(steps.authKey(), randomPayload(CLIENT_AUTH_BYTES - 16)) }
    ]
    for (const { name, at, code, build } of families) {
      it(`${name}: hang-up with zero further bytes, ${code}`, async () => {
        const server = await startServer()
        const peer = await rawConnect(server.port)
        const steps = new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey)
        let answered = 0
        if (at === 3) {
          peer.write(steps.hello)
          const msg2 = await peer.read(HELLO_BYTES)
          assert.ok(msg2 !== undefined && steps.acceptHello(msg2), 'a valid message 1 is answered with a valid message 2')
          answered = HELLO_BYTES
        }
        peer.write(build(steps))
        await peer.waitClosed()
        assert.equal(peer.bytesReceived, answered, 'not one byte after the bad message')
        await waitFor(() => server.errors.length === 1, 'the server to report the refusal')
        assert.equal(server.errors[0]?.code, code)
        assert.equal(server.streams.length, 0)
      })
    }
  })

  describe('shs1-test negative families against connect(): the client writes nothing more and fails with a typed error', () => {
    it('control: a hand-rolled server completes the handshake and its packets are accepted', async () => {
      const body = randomPayload(100)
      const evil = await evilServer(async (peer) => {
        const session = await handRolledAccept(peer, serverKeys, NETWORK_KEY)
        peer.write(concat([craftPacket(session, 0, body), sealHeader(session, 1, new Uint8Array(18))]))
      })
      const stream = await dial(evil.port)
      const outcome = await drain(stream.source)
      assert.equal(outcome.error, undefined)
      assert.deepEqual(outcome.delivered, body)
      await evil.handled[0]
    })

    const families: Array<{ name: string, at: 2 | 4, code: ShsErrorCode, build: (steps: ServerSteps) => Uint8Array }> = [
      { name: 'a random message 2', at: 2, code: 'ERR_SHS_INVALID_HELLO', build: () => randomPayload(HELLO_BYTES) },
      { name: 'message 2 made with a random network key', at: 2, code: 'ERR_SHS_INVALID_HELLO', build: (steps) => helloFor(randomPayload(32), steps.ephemeral.publicKey) },
      { name: 'a random message 4', at: 4, code: 'ERR_SHS_INVALID_SERVER_ACCEPT', build: () => randomPayload(SERVER_ACCEPT_BYTES) },
      { name: 'message 4 sealed with a random key', at: 4, code: 'ERR_SHS_INVALID_SERVER_ACCEPT', build: (steps) => sealOnce(randomPayload(32), steps.acceptPayload()) },
      { name: 'message 4 sealed with the right key around random contents', at: 4, code: 'ERR_SHS_INVALID_SERVER_ACCEPT', build: (steps) => sealOnce(steps.acceptKey(), randomPayload(SERVER_ACCEPT_BYTES - 16)) }
    ]
    for (const { name, at, code, build } of families) {
      it(`${name}: ${code}, and not one byte after it`, async () => {
        let afterBadMessage = -1
        const evil = await evilServer(async (peer) => {
          const steps = new ServerSteps(serverKeys, NETWORK_KEY)
          const msg1 = await peer.read(HELLO_BYTES)
          assert.ok(msg1 !== undefined && steps.acceptHello(msg1), 'our client sends a valid message 1')
          if (at === 4) {
            peer.write(steps.hello)
            const msg3 = await peer.read(CLIENT_AUTH_BYTES)
            assert.ok(msg3 !== undefined && steps.acceptAuth(msg3), 'our client sends a valid message 3')
          }
          const before = peer.bytesReceived
          peer.write(build(steps))
          await peer.waitClosed()
          afterBadMessage = peer.bytesReceived - before
        })
        await assert.rejects(dial(evil.port), expectCode(code))
        await evil.handled[0]
        assert.equal(afterBadMessage, 0)
      })
    }
  })

  describe('box stream after a good handshake', () => {
    // Offsets inside packet 2 of three: packet 1 precedes the damage and must arrive intact.
    const regions: Array<[string, number, ShsErrorCode]> = [
      ['header MAC', 5, 'ERR_BOX_STREAM_BAD_HEADER'],
      ['header contents', 16 + 1, 'ERR_BOX_STREAM_BAD_HEADER'],
      ['body', BOX_HEADER_BYTES + 1000, 'ERR_BOX_STREAM_BAD_BODY']
    ]
    for (const direction of ['toServer', 'toClient'] as const) {
      for (const [region, offsetInPacket, code] of regions) {
        it(`a relay flipping one bit in the ${region} of packet 2 (${direction === 'toServer' ? 'client to server' : 'server to client'}): ${code}, packet 1 delivered intact, nothing after`, async () => {
          const { chunks } = threePackets()
          const server = await startServer({}, direction === 'toServer'
            ? undefined
            : (stream) => {
                // The client tears the connection down once it detects the damage, so this sink
                // may fail; what matters is what the client delivered.
                stream.sink(chunks).catch(() => {})
              })
          const start = direction === 'toServer' ? CLIENT_HANDSHAKE_BYTES : SERVER_HANDSHAKE_BYTES
          const relay = await tamperingRelay(server.port, { direction, offset: start + PACKET_BYTES + offsetInPacket, mask: 0x10 })
          onCleanup(async () => { await relay.close() })
          const client = await dial(relay.port)
          let outcome: Drained | undefined
          if (direction === 'toServer') {
            // As above: the server hangs up on detecting the damage, which may fail this sink.
            client.sink(chunks).catch(() => {})
            outcome = await server.outcomes[0]
          } else {
            outcome = await drain(client.source)
          }
          assert.ok(outcome !== undefined)
          expectCode(code)(outcome.error)
          assert.deepEqual(outcome.delivered, chunks[0])
        })
      }
    }

    interface Scenario {
      name: string
      /** Undefined: the stream must end cleanly. */
      code?: ShsErrorCode
      /** How many of the three packets' plaintexts must be delivered. */
      delivered: number
      send: (peer: RawPeer, packet: (index: number) => Uint8Array, goodbye: (index: number) => Uint8Array, session: SessionKeys) => void
    }
    const scenarios: Scenario[] = [
      { name: 'control: three packets and goodbye end cleanly', delivered: 3, send: (peer, packet, goodbye) => { peer.write(concat([packet(0), packet(1), packet(2), goodbye(3)])) } },
      { name: 'a stream cut at a packet boundary', code: 'ERR_BOX_STREAM_TRUNCATED', delivered: 1, send: (peer, packet) => { peer.write(packet(0)); peer.socket.end() } },
      { name: 'a stream cut before its first packet', code: 'ERR_BOX_STREAM_TRUNCATED', delivered: 0, send: (peer) => { peer.socket.end() } },
      { name: 'a stream cut inside a header', code: 'ERR_BOX_STREAM_TRUNCATED', delivered: 1, send: (peer, packet) => { peer.write(concat([packet(0), packet(1).subarray(0, 17)])); peer.socket.end() } },
      { name: 'a stream cut inside a body', code: 'ERR_BOX_STREAM_TRUNCATED', delivered: 1, send: (peer, packet) => { peer.write(concat([packet(0), packet(1).subarray(0, BOX_HEADER_BYTES + 100)])); peer.socket.end() } },
      { name: 'reordered packets (1, 3, 2)', code: 'ERR_BOX_STREAM_BAD_HEADER', delivered: 1, send: (peer, packet) => { peer.write(concat([packet(0), packet(2), packet(1)])) } },
      { name: 'a replayed packet (1, 2, 1)', code: 'ERR_BOX_STREAM_BAD_HEADER', delivered: 2, send: (peer, packet) => { peer.write(concat([packet(0), packet(1), packet(0)])) } },
      { name: 'a duplicated packet (1, 1)', code: 'ERR_BOX_STREAM_BAD_HEADER', delivered: 1, send: (peer, packet) => { peer.write(concat([packet(0), packet(0)])) } },
      {
        name: 'a header announcing 4097 bytes, correctly sealed with a 4097-byte body',
        code: 'ERR_BOX_STREAM_BAD_LENGTH',
        delivered: 1,
        send: (peer, packet, _goodbye, session) => { peer.write(concat([packet(0), craftPacket(session, 1, randomPayload(BOX_MAX_BODY + 1))])) }
      },
      {
        name: 'a header announcing 65535 bytes',
        code: 'ERR_BOX_STREAM_BAD_LENGTH',
        delivered: 1,
        send: (peer, packet, _goodbye, session) => { peer.write(concat([packet(0), craftPacket(session, 1, randomPayload(100), 0xffff)])) }
      },
      {
        name: 'a zero-length header whose MAC does not match an empty body',
        code: 'ERR_BOX_STREAM_BAD_BODY',
        delivered: 1,
        send: (peer, packet, _goodbye, session) => {
          const notGoodbye = new Uint8Array(18)
          notGoodbye[10] = 1
          peer.write(concat([packet(0), sealHeader(session, 1, notGoodbye)]))
        }
      },
      {
        // pull-box-stream and go-secretstream accept it as an empty message; the references win.
        name: 'a valid zero-length packet that is not goodbye, then goodbye',
        delivered: 1,
        send: (peer, packet, goodbye, session) => { peer.write(concat([packet(0), craftPacket(session, 1, new Uint8Array(0)), goodbye(2)])) }
      },
      { name: 'bytes after goodbye (in the same segment)', code: 'ERR_BOX_STREAM_AFTER_GOODBYE', delivered: 1, send: (peer, packet, goodbye) => { peer.write(concat([packet(0), goodbye(1), new Uint8Array([1, 2, 3])])) } }
    ]

    for (const victim of ['listen', 'connect'] as const) {
      for (const scenario of scenarios) {
        const ending = scenario.code === undefined ? 'clean end' : `${scenario.code}, then a hang-up`
        it(`crafted, to ${victim}(): ${scenario.name}: ${ending}; exactly the ${scenario.delivered} packet(s) before it delivered`, async () => {
          const { chunks } = threePackets()
          const run = (peer: RawPeer, session: SessionKeys): void => {
            scenario.send(peer, (i) => craftPacket(session, i, chunks[i] as Uint8Array), (i) => sealHeader(session, i, new Uint8Array(18)), session)
          }
          let outcome: Drained | undefined
          let attacker: RawPeer | undefined
          if (victim === 'listen') {
            const server = await startServer()
            const { peer, session } = await handRolledClient(server.port, { keys: clientKeys, networkKey: NETWORK_KEY, serverKey: serverKeys.publicKey })
            onCleanup(() => { peer.destroy() })
            attacker = peer
            run(peer, session)
            outcome = await server.outcomes[0]
          } else {
            const evil = await evilServer(async (peer) => {
              attacker = peer
              run(peer, await handRolledAccept(peer, serverKeys, NETWORK_KEY))
            })
            const stream = await dial(evil.port)
            outcome = await drain(stream.source)
            await evil.handled[0]
          }
          assert.ok(outcome !== undefined && attacker !== undefined)
          assert.deepEqual(outcome.delivered, concat(chunks.slice(0, scenario.delivered)))
          if (scenario.code === undefined) {
            assert.equal(outcome.error, undefined)
            return
          }
          assert.ok(outcome.error instanceof BoxStreamError, String(outcome.error))
          expectCode(scenario.code)(outcome.error)
          await attacker.waitClosed()
        })
      }
    }

    it('bytes that arrive after goodbye in a later segment are never delivered, fail the stream with ERR_BOX_STREAM_AFTER_GOODBYE and close the socket', async () => {
      let sinkOutcome: Promise<unknown> | undefined
      // The server reads to the end and keeps its own side open (a slow writer): the connection is not finished.
      let stopWriting: () => void = () => {}
      const server = await startServer({}, (stream) => {
        // A source that yields nothing until stopWriting() ends it.
        const silent: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: async () => { await new Promise<void>((resolve) => { stopWriting = resolve }); return { done: true, value: undefined } } }) }
        sinkOutcome = stream.sink(silent)
          .then(() => undefined, (err: unknown) => err)
      })
      onCleanup(() => { stopWriting() })
      const { peer, session } = await handRolledClient(server.port, { keys: clientKeys, networkKey: NETWORK_KEY, serverKey: serverKeys.publicKey })
      onCleanup(() => { peer.destroy() })
      const body = randomPayload(500)
      peer.write(concat([craftPacket(session, 0, body), sealHeader(session, 1, new Uint8Array(18))]))
      const outcome = await drain((server.streams[0] ?? await waitForStream(server)).source)
      assert.equal(outcome.error, undefined)
      assert.deepEqual(outcome.delivered, body)
      // Sealed as if goodbye had not happened: a well-formed packet 3, in a later segment.
      peer.write(craftPacket(session, 2, randomPayload(500)))
      // The same rule as in the goodbye's own segment: a typed error, and the socket closes (no FIN from the peer needed).
      await peer.waitClosed()
      expectCode('ERR_BOX_STREAM_AFTER_GOODBYE')(await sinkOutcome)
    })
  })

  describe('what an eavesdropper, a replayer or a man in the middle learns', () => {
    const bannedKeys = generateKeyPair()
    const refuseBanned = (key: Uint8Array): boolean => !Buffer.from(key).equals(bannedKeys.publicKey)

    /** One whole session (handshake, data both ways, goodbyes) recorded by an eavesdropping relay. */
    async function capturedSession (port: number, secret: Uint8Array): Promise<{ toServer: Uint8Array, toClient: Uint8Array }> {
      const relay = await tamperingRelay(port, NO_TAMPERING)
      onCleanup(async () => { await relay.close() })
      const stream = await dial(relay.port)
      const [echoed] = await Promise.all([drain(stream.source), stream.sink([secret])])
      assert.deepEqual(echoed.delivered, secret)
      return { toServer: concat(relay.captured.toServer), toClient: concat(relay.captured.toClient) }
    }

    const contains = (haystack: Uint8Array, needle: Uint8Array): boolean => Buffer.from(haystack).includes(Buffer.from(needle))

    it('a captured session holds neither long-term public key (nor its curve form) nor any plaintext', async () => {
      const server = await startServer({}, echo)
      const secret = new TextEncoder().encode('meet me at the usual place at nine; bring the documents')
      const { toServer, toClient } = await capturedSession(server.port, secret)
      const wire = concat([toServer, toClient])
      assert.equal(toServer.byteLength > CLIENT_HANDSHAKE_BYTES && toClient.byteLength > SERVER_HANDSHAKE_BYTES, true, 'the capture holds the whole session')
      for (const [name, key] of [['client', clientKeys.publicKey], ['server', serverKeys.publicKey]] as const) {
        assert.equal(contains(wire, key), false, `the ${name} key travels in the clear`)
        assert.equal(contains(wire, curvePublicKey(key)), false, `the ${name} key's curve form travels in the clear`)
      }
      assert.equal(contains(wire, secret.subarray(0, 16)), false, 'plaintext travels in the clear')
    })

    it('two captured sessions between the same two peers share no 16-byte sequence: nothing on the wire links them', async () => {
      const WINDOW = 16
      const server = await startServer({}, echo)
      const secret = randomPayload(100)
      const first = await capturedSession(server.port, secret)
      const second = await capturedSession(server.port, secret)
      const windows = new Set<string>()
      const firstWire = concat([first.toServer, first.toClient])
      for (let i = 0; i + WINDOW <= firstWire.byteLength; i++) windows.add(Buffer.from(firstWire.subarray(i, i + WINDOW)).toString('hex'))
      const secondWire = concat([second.toServer, second.toClient])
      for (let i = 0; i + WINDOW <= secondWire.byteLength; i++) {
        assert.equal(windows.has(Buffer.from(secondWire.subarray(i, i + WINDOW)).toString('hex')), false, `bytes ${i}.. of the second session repeat the first`)
      }
    })

    it('replaying the captured messages 1 and 3 of an authorized and of a refused client gets the same answer, and authorize is never asked', async () => {
      const asked: Uint8Array[] = []
      const server = await startServer({ authorize: (key) => { asked.push(key); return refuseBanned(key) } }, echo)
      const authorized = await capturedSession(server.port, randomPayload(10))
      const relay = await tamperingRelay(server.port, NO_TAMPERING)
      onCleanup(async () => { await relay.close() })
      await assert.rejects(dial(relay.port, { keys: bannedKeys }), expectCode('ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH'))
      const refused = concat(relay.captured.toServer)
      assert.equal(asked.length, 2, 'both original clients were put to authorize')

      const answers: number[] = []
      for (const capture of [authorized.toServer, refused]) {
        const peer = await rawConnect(server.port)
        peer.write(capture.subarray(0, CLIENT_HANDSHAKE_BYTES))
        await peer.waitClosed()
        answers.push(peer.bytesReceived)
      }
      assert.deepEqual(answers, [HELLO_BYTES, HELLO_BYTES], 'a fresh message 2, then a hang-up, for both')
      assert.equal(asked.length, 2, 'authorize was not asked about the replays')
    })

    it('a client that dialled the wrong server key and a client the server refuses see exactly the same: message 2, then a hang-up', async () => {
      const server = await startServer({ authorize: refuseBanned })
      const seen: Array<{ code: string, bytes: number }> = []
      for (const overrides of [{ remotePublicKey: generateKeyPair().publicKey }, { keys: bannedKeys }]) {
        const relay = await tamperingRelay(server.port, NO_TAMPERING)
        onCleanup(async () => { await relay.close() })
        const error = await dial(relay.port, overrides).then(() => undefined, (err: unknown) => err)
        assert.ok(error instanceof ShsError)
        seen.push({ code: error.code, bytes: relay.counts.toClient })
      }
      assert.deepEqual(seen[0], seen[1])
      assert.deepEqual(seen[0], { code: 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH', bytes: HELLO_BYTES })
    })

    it('a man in the middle with the network key but not the server\'s secret key cannot open message 3, so never learns the client\'s key', async () => {
      let opened: boolean | undefined
      const impostor = await evilServer(async (peer) => {
        const steps = new ServerSteps(generateKeyPair(), NETWORK_KEY)
        const msg1 = await peer.read(HELLO_BYTES)
        assert.ok(msg1 !== undefined && steps.acceptHello(msg1), 'the network key is enough to answer message 1')
        peer.write(steps.hello)
        const msg3 = await peer.read(CLIENT_AUTH_BYTES)
        assert.ok(msg3 !== undefined)
        opened = steps.acceptAuth(msg3)
        assert.equal(contains(msg3, clientKeys.publicKey), false)
        peer.destroy()
      })
      await assert.rejects(dial(impostor.port), expectCode('ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH'))
      await impostor.handled[0]
      assert.equal(opened, false)
    })
  })

  describe('slow and stuck peers', () => {
    it('a client dripping a valid hello one byte every 100 ms is cut off by the handshake timeout: activity does not extend it (fake timers)', async () => {
      const DRIP_MS = 100
      const TICKS = SHORT_TIMEOUT_MS / DRIP_MS
      let accepted: () => void = () => {}
      const acceptedNow = new Promise<void>((resolve) => { accepted = resolve })
      const server = await startServer({ timeout: SHORT_TIMEOUT_MS, onConnection: () => { accepted() } })
      // Only setTimeout is faked (the handshake deadline's timer): sockets and setImmediate stay real.
      mock.timers.enable({ apis: ['setTimeout'] })
      onCleanup(() => { mock.timers.reset() })
      const peer = await rawConnect(server.port)
      // The deadline's timer starts as the server accepts: from here fake time is the handshake's time.
      await acceptedNow
      const hello = new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey).hello
      for (let sent = 0; sent < TICKS; sent++) {
        assert.equal(peer.socket.destroyed, false, `still connected after ${sent * DRIP_MS} ms of a ${SHORT_TIMEOUT_MS} ms timeout`)
        peer.write(hello.subarray(sent, sent + 1))
        mock.timers.tick(DRIP_MS)
      }
      // Six bytes of 64 sent, each one "in time": the timeout fired anyway and the server hangs up.
      await peer.closed
      mock.timers.reset()
      assert.equal(peer.bytesReceived, 0)
      await waitFor(() => server.errors.length === 1, 'the timeout to be reported')
      assert.ok(server.errors[0] instanceof HandshakeTimeoutError)
      assert.match(server.errors[0].message, /clientHello/)
    })

    it('a client that sends message 1 and then message 3 at one byte a second is cut off by the timeout: it covers the whole handshake', async () => {
      const DRIP_MS = 1000
      const server = await startServer({ timeout: SHORT_TIMEOUT_MS })
      const peer = await rawConnect(server.port)
      const steps = new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey)
      peer.write(steps.hello)
      const msg2 = await peer.read(HELLO_BYTES)
      assert.ok(msg2 !== undefined && steps.acceptHello(msg2))
      const msg3 = steps.auth()
      let sent = 0
      const dripOne = (): void => { if (!peer.socket.destroyed) peer.write(msg3.subarray(sent, ++sent)) }
      dripOne()
      const drip = setInterval(dripOne, DRIP_MS)
      onCleanup(() => { clearInterval(drip) })
      await peer.waitClosed()
      clearInterval(drip)
      assert.equal(peer.bytesReceived, HELLO_BYTES, 'message 2 and nothing more')
      await waitFor(() => server.errors.length === 1, 'the timeout to be reported')
      expectCode('ERR_SHS_HANDSHAKE_TIMEOUT')(server.errors[0])
      assert.match(server.errors[0]?.message ?? '', /clientAuth/)
    })

    it('a server dripping message 2 one byte every 100 ms is cut off by the client timeout', async () => {
      const DRIP_MS = 100
      let drip: ReturnType<typeof setInterval> | undefined
      onCleanup(() => { clearInterval(drip) })
      const evil = await evilServer(async (peer) => {
        const steps = new ServerSteps(serverKeys, NETWORK_KEY)
        await peer.read(HELLO_BYTES)
        let sent = 0
        drip = setInterval(() => { if (!peer.socket.destroyed) peer.write(steps.hello.subarray(sent, ++sent)) }, DRIP_MS)
        await peer.waitClosed()
      })
      // The whole message would take 6.4 s to drip: a timeout naming serverHello proves the
      // bytes that kept arriving did not extend the 600 ms deadline (no wall-clock reading needed).
      await assert.rejects(dial(evil.port, { timeout: SHORT_TIMEOUT_MS }), (err: unknown) => {
        assert.ok(err instanceof HandshakeTimeoutError, String(err))
        assert.match(err.message, /serverHello/)
        return true
      })
      await evil.handled[0]
      assert.equal(evil.peers[0]?.bytesReceived, HELLO_BYTES, 'message 1 and nothing more')
    })

    it('a server that answers message 1 and then stalls is cut off by the client timeout while waiting for message 4', async () => {
      const evil = await evilServer(async (peer) => {
        const steps = new ServerSteps(serverKeys, NETWORK_KEY)
        const msg1 = await peer.read(HELLO_BYTES)
        assert.ok(msg1 !== undefined && steps.acceptHello(msg1))
        peer.write(steps.hello)
        await peer.waitClosed()
      })
      await assert.rejects(dial(evil.port, { timeout: SHORT_TIMEOUT_MS }), (err: unknown) => {
        assert.ok(err instanceof HandshakeTimeoutError, String(err))
        assert.match(err.message, /serverAccept/)
        return true
      })
      await evil.handled[0]
      assert.equal(evil.peers[0]?.bytesReceived, CLIENT_HANDSHAKE_BYTES, 'messages 1 and 3, nothing more')
    })

    describe('a peer that stops reading: the writer stalls instead of buffering', () => {
      const ATTEMPT_BYTES = 200 * MiB
      const CHUNK_BYTES = 64 * 1024
      /** Loopback socket buffers hold a few MiB; anything near the attempt means no backpressure. */
      const STALL_LIMIT_BYTES = 64 * MiB
      const MEMORY_LIMIT_BYTES = 64 * MiB
      const STILL_MS = 500

      /** An application source of fresh 64 KiB chunks that counts what the sink pulled. */
      function counted (): { source: AsyncGenerator<Uint8Array>, pulled: () => number, closed: () => boolean } {
        let pulled = 0
        let closed = false
        async function * generate (): AsyncGenerator<Uint8Array> {
          try {
            while (pulled < ATTEMPT_BYTES) {
              pulled += CHUNK_BYTES
              yield new Uint8Array(CHUNK_BYTES)
            }
          } finally {
            closed = true
          }
        }
        return { source: generate(), pulled: () => pulled, closed: () => closed }
      }

      /** Waits until `pulled` has not moved for STILL_MS, then checks that it stays still. */
      async function assertStalls (pulled: () => number): Promise<number> {
        collectGarbage()
        const memoryBefore = process.memoryUsage()
        let last = -1
        let stillSince = performance.now()
        await waitFor(() => {
          const now = pulled()
          if (now !== last) { last = now; stillSince = performance.now() }
          return performance.now() - stillSince >= STILL_MS
        }, 'the writer to stall', 15_000)
        const stalledAt = pulled()
        assert.ok(stalledAt < STALL_LIMIT_BYTES, `the sink pulled ${stalledAt / MiB} MiB of ${ATTEMPT_BYTES / MiB} MiB from a peer that reads nothing`)
        await sleep(STILL_MS)
        assert.equal(pulled(), stalledAt, 'no progress while the peer does not read')
        // Measured after a full collection: what is left is what the stalled connection holds.
        collectGarbage()
        const memoryAfter = process.memoryUsage()
        const growth = (memoryAfter.heapUsed + memoryAfter.arrayBuffers) - (memoryBefore.heapUsed + memoryBefore.arrayBuffers)
        assert.ok(growth < MEMORY_LIMIT_BYTES, `memory grew by ${Math.round(growth / MiB)} MiB`)
        return stalledAt
      }

      it('a hand-rolled client that stops reading after the handshake: the server\'s sink stalls, memory stays flat, and its hang-up fails the sink and closes the application\'s source', async () => {
        const writer = counted()
        let sinkDone: Promise<unknown> | undefined
        const server = await startServer({}, (stream) => { sinkDone = stream.sink(writer.source).then(() => 'finished', (err: unknown) => err) })
        const { peer } = await handRolledClient(server.port, { keys: clientKeys, networkKey: NETWORK_KEY, serverKey: serverKeys.publicKey })
        onCleanup(() => { peer.destroy() })
        peer.socket.pause()
        await waitFor(() => sinkDone !== undefined, 'the server to accept the stream')
        await assertStalls(writer.pulled)
        peer.destroy()
        assert.ok(await sinkDone instanceof ShsError, 'the sink fails with a typed error once the reader hangs up')
        await waitFor(writer.closed, 'the application source to be closed (its finally ran)')
      })

      it('our client whose application never reads its source: the server\'s sink stalls too (backpressure crosses the decoder)', async () => {
        const writer = counted()
        let sinkDone: Promise<unknown> | undefined
        const server = await startServer({}, (stream) => { sinkDone = stream.sink(writer.source).then(() => 'finished', (err: unknown) => err) })
        const client = await dial(server.port)
        await waitFor(() => sinkDone !== undefined, 'the server to accept the stream')
        await assertStalls(writer.pulled)
        client.abort()
        assert.ok(await sinkDone instanceof ShsError, 'the sink fails with a typed error once the client aborts')
        await waitFor(writer.closed, 'the application source to be closed (its finally ran)')
      })
    })

    describe('half-open sockets', () => {
      it('a client that half-closes after message 1 is fully disconnected, gets at most message 2, and is reported as a hang-up', async () => {
        const server = await startServer()
        const peer = await rawConnect(server.port)
        peer.write(new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey).hello)
        peer.socket.end()
        await peer.waitClosed()
        assert.ok(peer.bytesReceived <= HELLO_BYTES, `got ${peer.bytesReceived} bytes`)
        await waitFor(() => server.errors.length === 1, 'the hang-up to be reported')
        expectCode('ERR_SHS_CLIENT_HUNG_UP')(server.errors[0])
        assert.equal(server.streams.length, 0)
      })

      it('a server that half-closes after message 2 makes our client fail with a hang-up after auth and close the socket', async () => {
        const evil = await evilServer(async (peer) => {
          const steps = new ServerSteps(serverKeys, NETWORK_KEY)
          const msg1 = await peer.read(HELLO_BYTES)
          assert.ok(msg1 !== undefined && steps.acceptHello(msg1))
          peer.write(steps.hello)
          peer.socket.end()
          await peer.waitClosed()
        })
        await assert.rejects(dial(evil.port), expectCode('ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH'))
        await evil.handled[0]
        assert.ok((evil.peers[0]?.bytesReceived ?? Infinity) <= CLIENT_HANDSHAKE_BYTES)
      })

      for (const [how, hangUp] of [['half-closes (FIN)', (peer: RawPeer) => { peer.socket.end() }], ['resets the connection', (peer: RawPeer) => { peer.destroy() }]] as const) {
        it(`a client that ${how} while a slow authorize decides: the stream handed to onStream fails at once, and the socket is released`, async () => {
          /** Long enough for the hang-up to reach the server before authorize answers. */
          const HANG_UP_SETTLE_MS = 100
          let decide: (accepted: boolean) => void = () => {}
          let asked = false
          const server = await startServer({ authorize: async () => await new Promise<boolean>((resolve) => { asked = true; decide = resolve }) })
          onCleanup(() => { decide(false) })
          const peer = await rawConnect(server.port)
          const steps = new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey)
          peer.write(steps.hello)
          const msg2 = await peer.read(HELLO_BYTES)
          assert.ok(msg2 !== undefined && steps.acceptHello(msg2))
          peer.write(steps.auth())
          await waitFor(() => asked, 'authorize to be called')
          hangUp(peer)
          await sleep(HANG_UP_SETTLE_MS)
          decide(true)
          await waitFor(() => server.outcomes.length === 1, 'the server to hand over the stream')
          const outcome = await (server.outcomes[0] as Promise<Drained>)
          assert.ok(outcome.error instanceof ShsError, String(outcome.error))
          assert.ok(['ERR_BOX_STREAM_TRUNCATED', 'ERR_SHS_CONNECTION'].includes(outcome.error.code), outcome.error.code)
          assert.equal(outcome.delivered.byteLength, 0)
          await peer.closed
        })
      }

      it('a client that sends goodbye and half-closes still gets the whole reply, then both sides close', async () => {
        const reply = randomPayload(100_000)
        const server = await startServer({}, (stream) => {
          void (async () => {
            const question = await drain(stream.source)
            assert.equal(question.error, undefined)
            await stream.sink([reply])
          })()
        })
        const { peer, session } = await handRolledClient(server.port, { keys: clientKeys, networkKey: NETWORK_KEY, serverKey: serverKeys.publicKey })
        onCleanup(() => { peer.destroy() })
        peer.write(sealHeader(session, 0, new Uint8Array(18)))
        peer.socket.end()
        await peer.waitClosed()
        const rest = await peer.read(peer.bytesReceived - SERVER_ACCEPT_BYTES - HELLO_BYTES)
        assert.ok(rest !== undefined)
        const decoder = new BoxStreamDecoder(session.decryptKey, session.decryptNonce)
        const plaintext = concat(decoder.push(rest))
        assert.ok(decoder.ended, 'the server ended with goodbye')
        assert.deepEqual(plaintext, reply)
      })
    })
  })

  describe('aborts at each handshake step reject promptly with an AbortError and release the socket', () => {
    it('client, while connecting (before message 1): the server never receives a byte', async () => {
      const silent = await evilServer(async (peer) => { await peer.waitClosed() })
      const controller = new AbortController()
      const attempt = dial(silent.port, { signal: controller.signal })
      controller.abort()
      // An AbortError (not the 10 s HandshakeTimeoutError) is the proof it did not wait.
      await assert.rejects(attempt, isAbortError)
      await Promise.all(silent.handled)
      assert.ok(silent.peers.every((peer) => peer.bytesReceived === 0))
    })

    for (const [step, answer, stage] of [['waiting for message 2', false, /serverHello/], ['waiting for message 4', true, /serverAccept/]] as const) {
      it(`client, ${step}`, async () => {
        let ready = false
        const evil = await evilServer(async (peer) => {
          const steps = new ServerSteps(serverKeys, NETWORK_KEY)
          const msg1 = await peer.read(HELLO_BYTES)
          assert.ok(msg1 !== undefined && steps.acceptHello(msg1))
          if (answer) {
            peer.write(steps.hello)
            assert.ok(await peer.read(CLIENT_AUTH_BYTES) !== undefined)
          }
          ready = true
          await peer.waitClosed()
        })
        const controller = new AbortController()
        const attempt = dial(evil.port, { signal: controller.signal })
        await waitFor(() => ready, 'the client to reach the step')
        controller.abort()
        await assert.rejects(attempt, (err: unknown) => {
          assert.ok(isAbortError(err), String(err))
          assert.match((err as Error).message, stage)
          return true
        })
        await evil.handled[0]
      })
    }

    describe('server (serverHandshake over a TCP socket)', () => {
      async function abortableServer (authorize?: (key: Uint8Array) => Promise<boolean>): Promise<{ port: number, attempts: Array<Promise<SecureStream>>, controller: AbortController }> {
        const controller = new AbortController()
        const attempts: Array<Promise<SecureStream>> = []
        const sockets = new Set<net.Socket>()
        const server = net.createServer({ allowHalfOpen: true }, (socket) => {
          sockets.add(socket)
          socket.once('close', () => sockets.delete(socket))
          const attempt = serverHandshake(socketAsDuplex(socket), { keys: serverKeys, networkKey: NETWORK_KEY, signal: controller.signal, ...(authorize === undefined ? {} : { authorize }) })
          // Awaited by the test; until then a rejection must not count as unhandled.
          attempt.catch(() => {})
          attempts.push(attempt)
        })
        await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
        onCleanup(async () => {
          for (const socket of sockets) socket.destroy()
          await new Promise<void>((resolve) => server.close(() => { resolve() }))
        })
        return { port: (server.address() as net.AddressInfo).port, attempts, controller }
      }

      async function expectAbort (attempt: Promise<SecureStream> | undefined, controller: AbortController, stage: RegExp): Promise<void> {
        assert.ok(attempt !== undefined)
        controller.abort()
        // An AbortError naming the stage, not the 10 s timeout, is the proof it did not wait.
        await assert.rejects(attempt, (err: unknown) => {
          assert.ok(isAbortError(err), String(err))
          assert.match((err as Error).message, stage)
          return true
        })
      }

      it('waiting for message 1: the client gets zero bytes and a closed socket', async () => {
        const { port, attempts, controller } = await abortableServer()
        const peer = await rawConnect(port)
        await waitFor(() => attempts.length === 1, 'the server to accept')
        await expectAbort(attempts[0], controller, /clientHello/)
        await peer.closed
        assert.equal(peer.bytesReceived, 0)
      })

      it('waiting for message 3: the client gets message 2 only and a closed socket', async () => {
        const { port, attempts, controller } = await abortableServer()
        const peer = await rawConnect(port)
        const steps = new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey)
        peer.write(steps.hello)
        assert.ok(await peer.read(HELLO_BYTES) !== undefined)
        await expectAbort(attempts[0], controller, /clientAuth/)
        await peer.closed
        assert.equal(peer.bytesReceived, HELLO_BYTES)
      })

      it('during a slow async authorize: no message 4 is ever sent, even when authorize later says yes', async () => {
        let decide: (accepted: boolean) => void = () => {}
        let asked = false
        const { port, attempts, controller } = await abortableServer(async () => await new Promise<boolean>((resolve) => { asked = true; decide = resolve }))
        const peer = await rawConnect(port)
        const steps = new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey)
        peer.write(steps.hello)
        const msg2 = await peer.read(HELLO_BYTES)
        assert.ok(msg2 !== undefined && steps.acceptHello(msg2))
        peer.write(steps.auth())
        await waitFor(() => asked, 'authorize to be called')
        await expectAbort(attempts[0], controller, /authorize/)
        decide(true)
        await peer.closed
        assert.equal(peer.bytesReceived, HELLO_BYTES)
      })
    })

    it('listener.close() during a slow authorize: the handshake ends with ERR_SHS_ABORTED, close() does not wait for authorize', async () => {
      let decide: (accepted: boolean) => void = () => {}
      let asked = false
      const server = await startServer({ authorize: async () => await new Promise<boolean>((resolve) => { asked = true; decide = resolve }) })
      onCleanup(() => { decide(false) })
      const attempt = dial(server.port)
      await waitFor(() => asked, 'authorize to be called')
      // authorize has not decided when close() returns: close() did not wait for it.
      await server.listener.close()
      await assert.rejects(attempt, expectCode('ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH'))
      await waitFor(() => server.errors.length === 1, 'the abort to be reported')
      expectCode('ERR_SHS_ABORTED')(server.errors[0])
      assert.equal(server.streams.length, 0)
    })
  })

  describe('floods and the pending-handshake cap', () => {
    it('1000 concurrent connections mixing valid clients, garbage and stalls: every valid client succeeds, memory stays bounded', async function () {
      this.timeout(30_000)
      const CONNECTIONS = 1000
      const FLOOD_TIMEOUT_MS = 2000
      const MEMORY_LIMIT_BYTES = 128 * MiB
      // All from one address, all at once: the per-source cap is not what this test is about.
      const server = await startServer({ timeout: FLOOD_TIMEOUT_MS, maxPendingHandshakes: 2 * CONNECTIONS, maxPendingPerSource: Infinity }, (stream) => {
        echo(stream)
      })
      collectGarbage()
      const memoryBefore = process.memoryUsage()
      let peakGrowth = 0
      const sampler = setInterval(() => {
        const now = process.memoryUsage()
        peakGrowth = Math.max(peakGrowth, (now.heapUsed + now.arrayBuffers) - (memoryBefore.heapUsed + memoryBefore.arrayBuffers))
      }, 50)
      onCleanup(() => { clearInterval(sampler) })

      const kinds = ['valid', 'garbage', 'stall', 'partial'] as const
      const results = await Promise.all(Array.from({ length: CONNECTIONS }, async (_, i) => {
        const kind = kinds[i % kinds.length] as typeof kinds[number]
        if (kind === 'valid') {
          const message = randomPayload(1024)
          const stream = await dial(server.port)
          const [echoed] = await Promise.all([drain(stream.source), stream.sink([message])])
          return { kind, ok: echoed.error === undefined && Buffer.from(echoed.delivered).equals(message) }
        }
        const peer = await rawConnect(server.port)
        if (kind === 'garbage') peer.write(randomPayload(HELLO_BYTES + (i % 200)))
        if (kind === 'partial') peer.write(new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey).hello.subarray(0, 10))
        await peer.waitClosed(FLOOD_TIMEOUT_MS + 5000)
        return { kind, ok: peer.bytesReceived === 0 }
      }))
      clearInterval(sampler)

      for (const kind of kinds) {
        const ofKind = results.filter((r) => r.kind === kind)
        assert.equal(ofKind.filter((r) => r.ok).length, ofKind.length, `${kind}: every connection behaved`)
      }
      const count = (code: ShsErrorCode): number => server.errors.filter((e) => e.code === code).length
      assert.equal(count('ERR_SHS_INVALID_HELLO'), CONNECTIONS / kinds.length, 'each garbage hello refused at once')
      assert.equal(count('ERR_SHS_HANDSHAKE_TIMEOUT'), 2 * CONNECTIONS / kinds.length, 'each stall dropped at the timeout')
      assert.equal(server.streams.length, CONNECTIONS / kinds.length)
      assert.ok(peakGrowth < MEMORY_LIMIT_BYTES, `memory grew by up to ${Math.round(peakGrowth / MiB)} MiB`)
      const after = await dial(server.port)
      const [echoed] = await Promise.all([drain(after.source), after.sink([new Uint8Array([42])])])
      assert.deepEqual(echoed.delivered, new Uint8Array([42]), 'the server still serves after the flood')
    })

    it('at the cap, extra connections are closed at once, unread and unanswered (ERR_SHS_BUSY); valid clients succeed once the flood drains', async () => {
      const CAP = 8
      const FLOOD = 40
      // No random early drop and no per-source cap: this is about the hard limit alone.
      const server = await startServer({ maxPendingHandshakes: CAP, earlyDropFrom: CAP, maxPendingPerSource: Infinity, timeout: 10_000 })
      const stalls: RawPeer[] = []
      // One at a time, so the server has accepted these before any of the extra ones below.
      for (let i = 0; i < CAP; i++) stalls.push(await rawConnect(server.port))

      const extra = await Promise.all(Array.from({ length: FLOOD - CAP }, async () => await rawConnect(server.port)))
      for (const peer of extra) peer.write(new ClientSteps(clientKeys, NETWORK_KEY, serverKeys.publicKey).hello)
      // Closed as busy (ERR_SHS_BUSY below), not by the 10 s handshake timeout.
      await Promise.all(extra.map(async (peer) => { await peer.closed }))
      assert.ok(extra.every((peer) => peer.bytesReceived === 0), 'a valid hello over the cap gets no message 2')
      await waitFor(() => server.errors.length === FLOOD - CAP, 'every refusal to be reported')
      assert.ok(server.errors.every((err) => err.code === 'ERR_SHS_BUSY'))

      await assert.rejects(dial(server.port), expectCode('ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO'), 'a valid client at the cap is turned away too')

      for (const peer of stalls) peer.destroy()
      await waitFor(() => server.errors.filter((e) => e.code === 'ERR_SHS_CLIENT_HUNG_UP').length === CAP, 'the stalls to be released')
      const streams = await Promise.all(Array.from({ length: CAP }, async () => await dial(server.port)))
      assert.equal(streams.length, CAP)
      assert.equal(server.streams.length, CAP)
    })

    it('the cap counts handshakes in progress, not established streams', async () => {
      const CAP = 2
      const server = await startServer({ maxPendingHandshakes: CAP })
      const streams = []
      for (let i = 0; i < 3 * CAP; i++) streams.push(await dial(server.port))
      assert.equal(server.streams.length, 3 * CAP)
      assert.equal(server.errors.length, 0)
    })

    it('the default hard cap is 256 pending handshakes', async () => {
      const DEFAULT_CAP = 256
      const server = await startServer({ timeout: 10_000, maxPendingPerSource: Infinity, earlyDropFrom: DEFAULT_CAP })
      const peers = await Promise.all(Array.from({ length: DEFAULT_CAP + 1 }, async () => await rawConnect(server.port)))
      await waitFor(() => server.errors.length === 1, 'the one connection over the cap to be refused')
      expectCode('ERR_SHS_BUSY')(server.errors[0])
      await waitFor(() => peers.filter((peer) => peer.socket.destroyed).length === 1, 'exactly one connection to be closed')
    })
  })
})
