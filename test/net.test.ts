/** `connect` and `listen` over real TCP: data, half-close, and every way a connection can fail. */
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import sodium from 'sodium-native'
import {
  AbortError, ConnectionError, HandshakeTimeoutError, SSB_NETWORK_KEY, type SecureStream, ShsError,
  connect, generateKeyPair, listen, type ListenOptions, type Listener
} from '../src/index.ts'
import { collect, concat, randomPayload, splitIrregular } from './helpers/bytes.ts'
import { useLeakChecks, waitFor } from './helpers/resources.ts'
import { craftPacket, handRolledAccept, rawServer } from './helpers/adversary.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const HOST = '127.0.0.1'

function hasCode (code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ShsError, `expected an ShsError, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return true
  }
}

interface TestServer {
  listener: Listener
  port: number
  streams: SecureStream[]
  errors: ShsError[]
}

async function startServer (options: Partial<ListenOptions> = {}, onStream: (stream: SecureStream) => void = (s) => { void s.sink(s.source) }): Promise<TestServer> {
  const streams: SecureStream[] = []
  const errors: ShsError[] = []
  const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY, onHandshakeError: (err) => errors.push(err), ...options }, (stream) => {
    streams.push(stream)
    onStream(stream)
  })
  return { listener, port: listener.address().port, streams, errors }
}

function dial (port: number, overrides: Record<string, unknown> = {}): Promise<SecureStream> {
  return connect({ host: HOST, port, keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: SSB_NETWORK_KEY, ...overrides })
}

/** A TCP server that accepts and then says nothing at all. */
async function silentServer (): Promise<{ port: number, close: () => Promise<void>, sockets: net.Socket[] }> {
  const sockets: net.Socket[] = []
  const server = net.createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    socket.resume() // read (and ignore) everything, so the peer's hang-up is seen
  })
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

/** Sends raw bytes and records everything the server writes back until it hangs up. */
async function rawExchange (port: number, bytes: Uint8Array): Promise<{ reply: Uint8Array }> {
  const socket = net.connect(port, HOST)
  socket.on('error', () => {})
  const chunks: Uint8Array[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  await once(socket, 'connect')
  socket.write(bytes)
  await once(socket, 'close')
  return { reply: concat(chunks) }
}

describe('net: connect and listen over TCP', function () {
  this.timeout(30_000)
  let server: TestServer | undefined
  const onCleanup = useLeakChecks()
  beforeEach(() => {
    onCleanup(async () => {
      await server?.listener.close()
      server = undefined
    })
  })

  it('carries several MiB both ways at once and ends cleanly with goodbye both ways', async () => {
    const toServer = randomPayload(3 * 1024 * 1024 + 7)
    const toClient = randomPayload(2 * 1024 * 1024 + 3)
    let onServer: Promise<Uint8Array> | undefined
    server = await startServer({}, (stream) => {
      onServer = Promise.all([collect(stream.source), stream.sink(splitIrregular(toClient))]).then(([received]) => received)
    })
    const stream = await dial(server.port)
    const [received] = await Promise.all([collect(stream.source), stream.sink(splitIrregular(toServer))])
    assert.deepEqual(received, toClient)
    assert.deepEqual(await onServer, toServer)
    assert.deepEqual(stream.remotePublicKey, serverKeys.publicKey)
    assert.deepEqual(server.streams[0]?.remotePublicKey, clientKeys.publicKey)
  })

  it('half-closes: the client finishes writing, then the server answers after reading everything', async () => {
    server = await startServer({}, (stream) => {
      void (async () => {
        const question = await collect(stream.source)
        await stream.sink([new TextEncoder().encode(`got ${question.byteLength} bytes`)])
      })()
    })
    const stream = await dial(server.port)
    await stream.sink([randomPayload(10_000), randomPayload(5)])
    assert.equal(new TextDecoder().decode(await collect(stream.source)), 'got 10005 bytes')
  })

  it('listens on a free port with port 0 and on 127.0.0.1 by default', async () => {
    server = await startServer()
    assert.ok(server.port > 0)
    assert.equal(server.listener.address().host, '127.0.0.1')
  })

  describe('refusals', () => {
    it('wrong network key: the client learns "wrong network key", the server never calls onStream', async () => {
      server = await startServer()
      await assert.rejects(dial(server.port, { networkKey: randomPayload(32) }), (err: unknown) => {
        hasCode('ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')(err)
        assert.match((err as Error).message, /wrong network key/)
        return true
      })
      assert.equal(server.streams.length, 0)
      await waitFor(() => server?.errors.length === 1, 'the server to report the failure')
      assert.equal(server.errors[0]?.code, 'ERR_SHS_INVALID_HELLO')
    })

    it('wrong server key: the client learns it after message 3, the server never calls onStream', async () => {
      server = await startServer()
      await assert.rejects(dial(server.port, { remotePublicKey: generateKeyPair().publicKey }), hasCode('ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH'))
      assert.equal(server.streams.length, 0)
      await waitFor(() => server?.errors.length === 1, 'the server to report the failure')
      assert.equal(server.errors[0]?.code, 'ERR_SHS_INVALID_CLIENT_AUTH')
    })

    it('an unauthorized client gets no message 4 and onStream is never called; authorize may be async', async () => {
      const asked: Uint8Array[] = []
      server = await startServer({ authorize: async (key) => { asked.push(key); return false } })
      await assert.rejects(dial(server.port), hasCode('ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH'))
      assert.deepEqual(asked, [clientKeys.publicKey])
      assert.equal(server.streams.length, 0)
      await waitFor(() => server?.errors.length === 1, 'the server to report the failure')
      assert.equal(server.errors[0]?.code, 'ERR_SHS_UNAUTHORIZED')
    })

    it('an authorize hook that throws refuses the client without crashing the server', async () => {
      server = await startServer({ authorize: () => { throw new Error('lookup failed') } })
      await assert.rejects(dial(server.port), hasCode('ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH'))
      await waitFor(() => server?.errors.length === 1, 'the server to report the failure')
      assert.equal(server.errors[0]?.code, 'ERR_SHS_AUTHORIZE_FAILED')
    })

    it('a cold caller with garbage gets zero bytes back and a hang-up', async () => {
      server = await startServer()
      const { reply } = await rawExchange(server.port, randomPayload(64))
      assert.equal(reply.byteLength, 0)
      assert.equal(server.streams.length, 0)
    })

    it('a replayed client hello gets message 2 but a replayed message 3 gets nothing: no session', async () => {
      // Record a real client's first and third messages through a relay, then replay them.
      const recorded: Uint8Array[] = []
      server = await startServer()
      const relay = net.createServer((inbound) => {
        const outbound = net.connect(server?.port ?? 0, HOST)
        inbound.on('data', (chunk: Buffer) => { recorded.push(new Uint8Array(chunk)); outbound.write(chunk) })
        outbound.on('data', (chunk: Buffer) => inbound.write(chunk))
        inbound.on('close', () => outbound.destroy())
        outbound.on('close', () => inbound.destroy())
        inbound.on('error', () => {})
        outbound.on('error', () => {})
      })
      await new Promise<void>((resolve) => relay.listen(0, HOST, resolve))
      const stream = await dial((relay.address() as net.AddressInfo).port)
      await Promise.all([stream.sink([]), collect(stream.source)])
      await new Promise<void>((resolve) => relay.close(() => { resolve() }))
      const captured = concat(recorded)
      const { reply } = await rawExchange(server.port, captured.subarray(0, 64 + 112))
      assert.equal(reply.byteLength, 64, 'the replayed hello is answered with a fresh message 2, and nothing more')
      assert.equal(server.streams.length, 1, 'only the original client got a stream')
    })
  })

  describe('timeouts, aborts and network failures', () => {
    it('times out a server that never answers, with a typed error that says where it was stuck', async () => {
      const silent = await silentServer()
      try {
        await assert.rejects(dial(silent.port, { timeout: 200 }), (err: unknown) => {
          assert.ok(err instanceof HandshakeTimeoutError)
          assert.equal(err.code, 'ERR_SHS_HANDSHAKE_TIMEOUT')
          assert.match(err.message, /200 ms.*serverHello/)
          return true
        })
      } finally {
        await silent.close()
      }
    })

    it('drops a client that connects and stays silent once the server timeout passes', async () => {
      server = await startServer({ timeout: 150 })
      const socket = net.connect(server.port, HOST)
      socket.on('error', () => {})
      await once(socket, 'close')
      await waitFor(() => server?.errors.length === 1, 'the server to report the failure')
      assert.equal(server.errors[0]?.code, 'ERR_SHS_HANDSHAKE_TIMEOUT')
    })

    it('rejects promptly with an AbortError when the signal fires mid-handshake', async () => {
      const silent = await silentServer()
      try {
        const controller = new AbortController()
        const attempt = dial(silent.port, { signal: controller.signal })
        await waitFor(() => silent.sockets.length === 1, 'the silent peer to connect')
        const started = performance.now()
        controller.abort()
        await assert.rejects(attempt, (err: unknown) => err instanceof AbortError && err.name === 'AbortError' && err.code === 'ERR_SHS_ABORTED')
        assert.ok(performance.now() - started < 1000)
        await once(silent.sockets[0] as net.Socket, 'close')
      } finally {
        await silent.close()
      }
    })

    it('rejects at once with an AbortError for a signal that already fired, opening no socket', async () => {
      const originalConnect = net.Socket.prototype.connect
      let sockets = 0
      net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
        sockets++
        return Reflect.apply(originalConnect, this, args) as net.Socket
      } as typeof originalConnect
      try {
        await assert.rejects(dial(1, { signal: AbortSignal.abort() }), (err: unknown) => err instanceof AbortError)
      } finally {
        net.Socket.prototype.connect = originalConnect
      }
      assert.equal(sockets, 0, 'no socket was even opened')
    })

    it('explains a refused TCP connection', async () => {
      const silent = await silentServer()
      const port = silent.port
      await silent.close()
      await assert.rejects(dial(port), (err: unknown) => err instanceof ConnectionError && /ECONNREFUSED.*nothing is listening/.test(err.message))
    })

    it('reports a stream cut off without goodbye (a FIN, no goodbye) as ERR_BOX_STREAM_TRUNCATED, not as a clean end', async () => {
      const body = randomPayload(1000)
      // A hand-rolled server: one packet, then TCP's FIN without the box-stream goodbye.
      const cutting = await rawServer(async (peer) => {
        const session = await handRolledAccept(peer, serverKeys, SSB_NETWORK_KEY)
        peer.write(craftPacket(session, 0, body))
        peer.socket.end()
      })
      try {
        const stream = await dial(cutting.port)
        const received: Uint8Array[] = []
        await assert.rejects((async () => { for await (const chunk of stream.source) received.push(chunk) })(), hasCode('ERR_BOX_STREAM_TRUNCATED'))
        assert.deepEqual(concat(received), body, 'what came before the cut was delivered')
        stream.abort()
      } finally {
        await cutting.close()
      }
    })

    it('tears the connection down when the application source throws, without sending goodbye', async () => {
      let serverOutcome: Promise<unknown> | undefined
      server = await startServer({}, (stream) => { serverOutcome = collect(stream.source).then(() => 'clean', (err: ShsError) => err.code) })
      const stream = await dial(server.port)
      const failure = new Error('application failed')
      await assert.rejects(stream.sink((async function * () { yield randomPayload(10); throw failure })()), (err: unknown) => err === failure)
      await waitFor(() => serverOutcome !== undefined, 'the server side to settle')
      assert.notEqual(await serverOutcome, 'clean')
    })
  })

  it('reports handshake progress on both sides, and tells authorize where the client connects from', async () => {
    const serverSteps: string[] = []
    const remotes: string[] = []
    server = await startServer({
      onHandshakeProgress: (step, remote) => { serverSteps.push(`${step.event} ${step.message}`); remotes.push(remote.host) },
      authorize: (_key, remote) => { remotes.push(remote.host); return true }
    })
    const clientSteps: string[] = []
    const stream = await dial(server.port, { onHandshakeProgress: (step: { event: string, message: string }) => clientSteps.push(`${step.event} ${step.message}`) })
    await Promise.all([stream.sink([]), collect(stream.source)])
    assert.deepEqual(clientSteps, ['sent clientHello', 'received serverHello', 'sent clientAuth', 'received serverAccept'])
    assert.deepEqual(serverSteps, ['received clientHello', 'sent serverHello', 'received clientAuth', 'sent serverAccept'])
    assert.ok(remotes.length === 5 && remotes.every((host) => host === HOST))
  })

  it('stopAccepting() refuses new connections while established streams carry on', async () => {
    const payload = randomPayload(50_000)
    server = await startServer()
    const stream = await dial(server.port)
    server.listener.stopAccepting()
    await assert.rejects(dial(server.port), (err: unknown) => err instanceof ConnectionError)
    const [echoed] = await Promise.all([collect(stream.source), stream.sink([payload])])
    assert.deepEqual(echoed, payload)
  })

  it('prepares the Curve25519 form of its secret key once for all handshakes, and close() wipes it', async () => {
    const curveSecret = new Uint8Array(32)
    sodium.crypto_sign_ed25519_sk_to_curve25519(curveSecret, serverKeys.secretKey)
    // Our own spy on X25519: which buffers held the server's long-term Curve25519 secret.
    const used = new Set<Uint8Array>()
    const library = sodium as unknown as Record<string, (...args: unknown[]) => unknown>
    const original = library.crypto_scalarmult as (...args: unknown[]) => unknown
    library.crypto_scalarmult = (...args: unknown[]) => {
      const secret = args[1] as Uint8Array
      if (Buffer.compare(secret, curveSecret) === 0) used.add(secret)
      return Reflect.apply(original, library, args)
    }
    try {
      server = await startServer()
      for (let round = 0; round < 2; round++) {
        const stream = await dial(server.port)
        await Promise.all([collect(stream.source), stream.sink([])])
      }
    } finally {
      library.crypto_scalarmult = original
    }
    assert.equal(used.size, 1, 'two handshakes used one prepared copy of the key')
    const [prepared] = [...used] as [Uint8Array]
    assert.ok(prepared.some((byte) => byte !== 0), 'handshakes leave the prepared key in place')
    await server.listener.close()
    server = undefined
    assert.ok(prepared.every((byte) => byte === 0), 'close() wiped it')
  })

  it('close() stops accepting and closes the connections it accepted', async () => {
    server = await startServer({}, () => {})
    const stream = await dial(server.port)
    await server.listener.close()
    await assert.rejects(collect(stream.source), (err: unknown) => err instanceof ShsError)
    await assert.rejects(dial(server.port), (err: unknown) => err instanceof ConnectionError)
    server = undefined
  })
})
