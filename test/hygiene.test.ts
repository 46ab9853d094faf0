/**
 * Resource hygiene: thousands of connections, good and bad, leave nothing behind; and every
 * buffer that held a secret is zero once it is no longer needed.
 *
 * The secret census wraps the libsodium functions that produce or consume secrets and keeps a
 * reference to each buffer involved (DH results, ephemeral and curve secret keys, hash outputs
 * and states, every secretbox key), so the test can look at the very memory the implementation
 * used, without any accessor into it.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  BoxStreamDecoder, BoxStreamEncoder, BoxStreamError, SSB_NETWORK_KEY, SecretHandshake, type SecureStream,
  type SessionKeys, ShsError, clientHandshake, connect, generateKeyPair, listen, serverHandshake
} from '../src/index.ts'
import { concatBytes as concatAllBytes, randomBytes } from '../src/crypto/primitives.ts'
import { BoxStream } from '../src/connection/box-stream.ts'

const concatAll = (chunks: Uint8Array[]): Uint8Array => concatAllBytes(...chunks)
import { collect, randomPayload } from './helpers/bytes.ts'
import { memoryDuplexPair } from './helpers/duplex.ts'
import { HOST, drain, tamperingRelay } from './helpers/adversary.ts'
import { useLeakChecks } from './helpers/resources.ts'
import { type Kind, SecretCensus } from './helpers/census.ts'

const here = path.dirname(fileURLToPath(import.meta.url))
const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const MiB = 1024 * 1024

describe('hygiene', function () {
  describe('10 000 connections, good and bad, 50 at a time (in a child process with --expose-gc)', function () {
    const CONNECTIONS = 10_000
    const CONCURRENCY = 50
    /** About 200 bytes per connection: a leaked socket, stream or closure per connection is far more. */
    const HEAP_GROWTH_LIMIT = 2 * MiB
    this.timeout(120_000)

    interface ChurnReport {
      connections: number
      churnMs: number
      outcomes: Record<string, number>
      expected: Record<string, number>
      serverOutcomes: Record<string, number>
      heapBefore: number
      heapAfter: number
      whileListening: Record<string, number>
      afterClose: Record<string, number>
      listenersBefore: Record<string, number>
      listenersAfter: Record<string, number>
      sharedSignalListeners: number
    }
    let report: ChurnReport

    before(async () => {
      const child = spawn(process.execPath, ['--expose-gc', path.join(here, 'helpers', 'churn.ts'), String(CONNECTIONS), String(CONCURRENCY)])
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
      const code = await new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('close', resolve) })
      assert.equal(code, 0, `the churn process failed:\n${stderr}`)
      report = JSON.parse(stdout) as ChurnReport
    })

    it('every connection ended the way its kind must (so the churn exercised what it claims)', () => {
      assert.deepEqual(report.outcomes, report.expected)
      const untyped = Object.keys(report.serverOutcomes).filter((key) => key.includes('untyped'))
      assert.deepEqual(untyped, [], 'the server met only typed errors')
      assert.equal(report.serverOutcomes['stream echoed'], report.expected['echo: ok'])
      assert.equal(report.serverOutcomes['stream ERR_BOX_STREAM_BAD_BODY'], report.expected['tamperedPacket: closed'])
    })

    it('no socket and no timer is left while the listeners still run, and nothing at all after they close', () => {
      assert.deepEqual(report.whileListening, { TCPServerWrap: 3 })
      for (const name of ['TCPSocketWrap', 'TCPServerWrap', 'Timeout']) assert.equal(report.afterClose[name], undefined, name)
    })

    it('no event listener is left: none on the AbortSignal every client was given, none added to process', () => {
      assert.equal(report.sharedSignalListeners, 0)
      assert.deepEqual(report.listenersAfter, report.listenersBefore)
    })

    it(`the heap grows by less than ${HEAP_GROWTH_LIMIT / MiB} MiB (measured after full collections)`, () => {
      const growth = report.heapAfter - report.heapBefore
      assert.ok(growth < HEAP_GROWTH_LIMIT, `heap grew by ${(growth / MiB).toFixed(2)} MiB over ${report.connections} connections`)
    })
  })

  describe('secrets are zero after use', function () {
    this.timeout(20_000)
    let census: SecretCensus
    beforeEach(() => { census = new SecretCensus() })
    afterEach(() => { census.uninstall() })

    it('sans-IO handshake, completed and handed to a connection that ended: every secret the census saw is zero, none excepted', () => {
      census.install()
      const client = SecretHandshake.client({ keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey })
      const server = SecretHandshake.server({ keys: serverKeys, networkKey: SSB_NETWORK_KEY })
      const sessions = runHandshake(client, server)
      // The session is handed over once: the connection machines take it (and wipe the session's copies).
      const [a, b] = sessions.map((session) => new BoxStream(session)) as [BoxStream, BoxStream]
      const received = b.receive(a.send(randomPayload(5000))).flatMap((event) => event.type === 'data' ? [event.plaintext] : [])
      assert.deepEqual(concatAll(received).byteLength, 5000)
      census.assertNotAllWiped('while the connection is open its keys are intact')
      b.receive(a.goodbye().bytes)
      a.receive(b.goodbye().bytes)
      assert.ok(a.finished && b.finished)
      census.assertWiped({ expectKinds: ['ephemeral secret key', 'DH result', 'curve secret key', 'hash output', 'hash input', 'secretbox key'] })
    })

    type Watch = (fn: () => void) => void
    const EMPTY: Uint8Array = new Uint8Array(0)
    const DEEP: Kind[] = ['ephemeral secret key', 'DH result', 'curve secret key', 'hash output', 'hash input', 'secretbox key']
    const failures: Array<{ name: string, role: 'client' | 'server', expectKinds: Kind[], run: (victim: SecretHandshake, peer: SecretHandshake, watch: Watch) => void }> = [
      {
        name: 'a random message 1',
        role: 'server',
        expectKinds: ['ephemeral secret key'],
        run: (victim, _peer, watch) => { watch(() => { assert.throws(() => { victim.receive(randomBytes(64)) }) }) }
      },
      {
        name: 'a random message 2',
        role: 'client',
        expectKinds: ['ephemeral secret key'],
        run: (victim, _peer, watch) => { watch(() => { written(victim); assert.throws(() => { victim.receive(randomBytes(64)) }) }) }
      },
      {
        name: 'a corrupted message 3',
        role: 'server',
        expectKinds: DEEP,
        run: (victim, peer, watch) => {
          const msg1 = written(peer)
          let msg2 = EMPTY
          watch(() => { victim.receive(msg1); msg2 = written(victim) })
          peer.receive(msg2)
          const msg3 = written(peer)
          msg3[50] = (msg3[50] as number) ^ 1
          watch(() => { assert.throws(() => { victim.receive(msg3) }) })
        }
      },
      {
        name: 'refusing the client',
        role: 'server',
        expectKinds: DEEP,
        run: (victim, peer, watch) => {
          const msg1 = written(peer)
          let msg2 = EMPTY
          watch(() => { victim.receive(msg1); msg2 = written(victim) })
          peer.receive(msg2)
          const msg3 = written(peer)
          watch(() => { victim.receive(msg3); victim.next(); assert.throws(() => { victim.authorize(false) }) })
        }
      },
      {
        name: 'a corrupted message 4',
        role: 'client',
        expectKinds: DEEP,
        run: (victim, peer, watch) => {
          let msg1 = EMPTY
          watch(() => { msg1 = written(victim) })
          peer.receive(msg1)
          const msg2 = written(peer)
          let msg3 = EMPTY
          watch(() => { victim.receive(msg2); msg3 = written(victim) })
          peer.receive(msg3)
          peer.next()
          peer.authorize(true)
          const msg4 = written(peer)
          msg4[20] = (msg4[20] as number) ^ 1
          watch(() => { assert.throws(() => { victim.receive(msg4) }) })
        }
      },
      {
        name: 'an abort while waiting for message 4',
        role: 'client',
        expectKinds: ['ephemeral secret key', 'DH result', 'hash output', 'secretbox key'],
        run: (victim, peer, watch) => {
          let msg1 = EMPTY
          watch(() => { msg1 = written(victim) })
          peer.receive(msg1)
          const msg2 = written(peer)
          watch(() => { victim.receive(msg2); written(victim); victim.abort(new ShsError('ERR_SHS_ABORTED', 'test abort')) })
        }
      },
      {
        name: 'the peer hanging up while waiting for message 3',
        role: 'server',
        expectKinds: ['ephemeral secret key', 'DH result', 'hash output'],
        run: (victim, peer, watch) => {
          const msg1 = written(peer)
          watch(() => { victim.receive(msg1); written(victim); victim.peerHungUp() })
        }
      }
    ]
    for (const { name, role, expectKinds, run } of failures) {
      it(`sans-IO handshake ending in ${name} (${role}): every secret the failed side held is zero`, () => {
        const make = (side: 'client' | 'server'): SecretHandshake => side === 'client'
          ? SecretHandshake.client({ keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey })
          : SecretHandshake.server({ keys: serverKeys, networkKey: SSB_NETWORK_KEY })
        // Only the failing side is watched: its honest peer is still mid-handshake, secrets and all.
        const watch: Watch = (fn) => {
          census.install()
          try { fn() } finally { census.uninstall() }
        }
        let victim: SecretHandshake | undefined
        watch(() => { victim = make(role) })
        assert.ok(victim !== undefined)
        run(victim, make(role === 'client' ? 'server' : 'client'), watch)
        census.assertWiped({ expectKinds })
      })
    }

    it('box-stream codec: the encoder\'s key copy is zero after goodbye, the decoder\'s after it opens goodbye', () => {
      const key = randomBytes(32)
      const nonce = randomBytes(24)
      census.install()
      const encoder = new BoxStreamEncoder(key, nonce)
      const decoder = new BoxStreamDecoder(key, nonce)
      const wire = encoder.encode(randomPayload(10_000))
      decoder.push(wire)
      assert.ok(census.has('secretbox key'))
      census.assertNotAllWiped('while the stream is open, its keys are of course intact')
      decoder.push(encoder.goodbye())
      assert.ok(decoder.ended)
      census.assertWiped({ expectKinds: ['secretbox key'] })
      assert.ok(key.some((b) => b !== 0), 'the caller\'s own key buffer is the caller\'s to wipe')
    })

    it('box-stream codec: the decoder\'s key copy is zero after a failure, the encoder\'s after destroy()', () => {
      const key = randomBytes(32)
      const nonce = randomBytes(24)
      census.install()
      const encoder = new BoxStreamEncoder(key, nonce)
      const decoder = new BoxStreamDecoder(key, nonce)
      const wire = encoder.encode(randomPayload(5000))
      wire[100] = (wire[100] as number) ^ 1
      assert.throws(() => decoder.push(wire), (err: unknown) => err instanceof BoxStreamError)
      encoder.destroy()
      census.assertWiped({ expectKinds: ['secretbox key'] })
    })

    describe('over TCP, both sides', () => {
      useLeakChecks()

      it('a full session (handshake, data both ways, goodbye both ways) leaves every key, DH result and key copy zero', async () => {
        census.install()
        let serverDone: Promise<unknown> | undefined
        const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, (stream) => { serverDone = stream.sink(stream.source) })
        try {
          const stream = await connect({ host: HOST, port: listener.address().port, keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey })
          const payload = randomPayload(100_000)
          const [echo] = await Promise.all([collect(stream.source), stream.sink([payload])])
          assert.deepEqual(echo, payload)
          await serverDone
        } finally {
          await listener.close()
        }
        census.assertWiped({ expectKinds: ['ephemeral secret key', 'DH result', 'curve secret key', 'hash output', 'secretbox key'] })
      })

      it('a session ended by tampering leaves every key copy zero on both sides', async () => {
        census.install()
        const outcomes: Array<Promise<unknown>> = []
        const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, (stream) => { outcomes.push(drain(stream.source)) })
        const relay = await tamperingRelay(listener.address().port, { direction: 'toServer', offset: 64 + 112 + 40, mask: 1 })
        let stream: SecureStream | undefined
        try {
          stream = await connect({ host: HOST, port: relay.port, keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey })
          const sent = stream.sink([randomPayload(1000)])
          const clientRead = drain(stream.source)
          // The server tears the connection down on the bad packet: this sink may fail.
          await sent.catch(() => {})
          assert.ok((await clientRead).error instanceof ShsError, 'the client sees the connection torn down')
          await Promise.all(outcomes)
        } finally {
          await listener.close()
          await relay.close()
        }
        census.assertWiped({ expectKinds: ['secretbox key'] })
      })

      it('the generic duplex path: a full session over an in-memory pair leaves everything zero', async () => {
        census.install()
        const [clientEnd, serverEnd] = memoryDuplexPair()
        const [client, server] = await Promise.all([
          clientHandshake(clientEnd, { keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: SSB_NETWORK_KEY }),
          serverHandshake(serverEnd, { keys: serverKeys, networkKey: SSB_NETWORK_KEY })
        ])
        await Promise.all([collect(client.source), client.sink([randomPayload(10_000)]), server.sink(server.source)])
        census.assertWiped({ expectKinds: ['ephemeral secret key', 'DH result', 'curve secret key', 'hash output', 'secretbox key'] })
      })
    })
  })
})

/** Plays a whole handshake between two sans-IO machines; returns both sessions. */
function runHandshake (client: SecretHandshake, server: SecretHandshake): SessionKeys[] {
  server.receive(written(client))
  client.receive(written(server))
  server.receive(written(client))
  server.next()
  server.authorize(true)
  client.receive(written(server))
  return [client, server].map((machine) => {
    const action = machine.next()
    assert.equal(action.type, 'complete')
    return (action as { session: SessionKeys }).session
  })
}

function written (machine: SecretHandshake): Uint8Array {
  const action = machine.next()
  assert.equal(action.type, 'write')
  return (action as { bytes: Uint8Array }).bytes
}
