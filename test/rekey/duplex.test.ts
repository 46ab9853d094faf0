/**
 * The rekey extension over it-pipe duplexes (`clientHandshake`/`serverHandshake`) and through
 * the wrappers of a secure stream (`toNodeDuplex`, `toPullDuplex`): two of ours rekey on demand
 * and after bytes with every byte intact; a `prefer` server still serves plain SHS1 clients (ours
 * and the npm reference); `require` refuses them; and a one-shot client refuses `prefer` at the call.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import net from 'node:net'
import { once } from 'node:events'
import {
  type ByteDuplex, InvalidOptionError, type RekeyOption, type SecureStream, ShsError, clientHandshake, serverHandshake, toNodeDuplex
} from '../../src/index.ts'
import { toPullDuplex } from '../../src/pull/index.ts'
import { collect, randomPayload } from '../helpers/bytes.ts'
import { memoryDuplexPair } from '../helpers/duplex.ts'
import { referenceClient } from '../helpers/reference.ts'
import { useLeakChecks } from '../helpers/resources.ts'
import { clientKeys, networkKey, serverKeys } from './helpers.ts'

const MiB = 1024 * 1024
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const client = { keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey }
const server = { keys: serverKeys, networkKey }

function isShs (code: string): (err: unknown) => boolean {
  return (err: unknown) => err instanceof ShsError && err.code === code
}

/** Both handshakes over an in-memory duplex pair; each promise settles as that side's call does. */
function handshakes (clientRekey: RekeyOption, serverRekey: RekeyOption, timeout?: number): [Promise<SecureStream>, Promise<SecureStream>] {
  const [ours, theirs] = memoryDuplexPair()
  return [
    clientHandshake(ours, { ...client, rekey: clientRekey, timeout }),
    serverHandshake(theirs, { ...server, rekey: serverRekey, timeout })
  ]
}

/** `payload` in 64 KiB writes. */
function * inPieces (payload: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < payload.byteLength; i += 65536) yield payload.subarray(i, i + 65536)
}

describe('rekey extension over it-pipe duplexes and the stream wrappers', function () {
  this.timeout(30_000)
  const onCleanup = useLeakChecks()

  for (const serverMode of ['prefer', 'require'] as const) {
    it(`client 'require', server '${serverMode}': rekey() and afterBytes rekeys, a 4 MiB echo arrives byte-exact`, async () => {
      const [dialed, accepted] = handshakes({ mode: 'require', afterBytes: MiB }, { mode: serverMode, afterBytes: MiB })
      const [stream, theirs] = await Promise.all([dialed, accepted])
      assert.equal(stream.rekeying, true)
      assert.equal(theirs.rekeying, true)
      await stream.rekey()
      assert.equal(stream.rekeys, 1)
      const payload = randomPayload(4 * MiB)
      const echoed = collect(stream.source)
      const echoing = theirs.sink(theirs.source)
      await stream.sink(inPieces(payload))
      assert.equal(sha(await echoed), sha(payload))
      await echoing
      // The server answered our afterBytes request before echoing what followed it.
      assert.ok(stream.rekeys >= 2, `afterBytes rekeyed too (${stream.rekeys} rekeys)`)
      assert.ok(theirs.rekeys >= 1, `the server counted them (${theirs.rekeys})`)
    })
  }

  it('a \'prefer\' server serves a plain SHS1 client of ours byte for byte; rekey() says the extension was not agreed', async () => {
    const [dialed, accepted] = handshakes(undefined, 'prefer')
    const [stream, theirs] = await Promise.all([dialed, accepted])
    assert.equal(stream.rekeying, false)
    assert.equal(theirs.rekeying, false)
    await assert.rejects(theirs.rekey(), isShs('ERR_SHS_REKEY_NOT_NEGOTIATED'))
    const payload = randomPayload(300_000)
    const echoed = collect(stream.source)
    void theirs.sink(theirs.source)
    await stream.sink(inPieces(payload))
    assert.equal(sha(await echoed), sha(payload))
  })

  it('a \'prefer\' server over a socket\'s duplex serves the npm reference client byte for byte', async () => {
    const streams: SecureStream[] = []
    const failures: unknown[] = []
    const sockets = new Set<net.Socket>()
    const tcp = net.createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
      serverHandshake(socketDuplex(socket), { ...server, rekey: 'prefer' }).then((stream) => {
        streams.push(stream)
        void stream.sink(stream.source)
      }, (err: unknown) => { failures.push(err) })
    })
    tcp.listen(0, '127.0.0.1')
    await once(tcp, 'listening')
    onCleanup(async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => tcp.close(() => { resolve() }))
    })
    const payload = randomPayload(300_000)
    const { received } = await referenceClient(clientKeys, networkKey, serverKeys.publicKey, (tcp.address() as net.AddressInfo).port, [payload], payload.byteLength)
    assert.equal(sha(received), sha(payload))
    assert.equal(streams[0]?.rekeying, false)
    assert.deepEqual(failures, [])
  })

  it('a \'require\' server refuses a plain client: ERR_SHS_REKEY_REQUIRED there, a hang-up after its hello at the client', async () => {
    const [dialed, accepted] = handshakes(undefined, 'require')
    await assert.rejects(accepted, isShs('ERR_SHS_REKEY_REQUIRED'))
    await assert.rejects(dialed, isShs('ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO'))
  })

  it('a \'require\' client and a plain server: ERR_SHS_REKEY_REQUIRED, the hang-up as its cause', async () => {
    const [dialed, accepted] = handshakes('require', undefined)
    await assert.rejects(accepted, isShs('ERR_SHS_INVALID_HELLO'))
    await assert.rejects(dialed, (err: unknown) => {
      assert.ok(err instanceof ShsError)
      assert.equal(err.code, 'ERR_SHS_REKEY_REQUIRED')
      assert.equal((err.cause as ShsError).code, 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')
      return true
    })
  })

  it('a \'require\' client and a server that never answers: ERR_SHS_REKEY_REQUIRED after half the timeout, and the duplex is released', async () => {
    let aborted: Error | undefined
    const silent: ByteDuplex = {
      // A source whose first read never settles: the server never says a word.
      source: { [Symbol.asyncIterator]: () => ({ next: async () => await new Promise<IteratorResult<Uint8Array>>(() => {}) }) },
      sink: async (source) => { for await (const chunk of source) void chunk },
      abort: (reason) => { aborted = reason }
    }
    await assert.rejects(clientHandshake(silent, { ...client, rekey: 'require', timeout: 400 }), (err: unknown) => {
      assert.ok(err instanceof ShsError)
      assert.equal(err.code, 'ERR_SHS_REKEY_REQUIRED')
      assert.match((err.cause as Error).message, /did not answer our hello/)
      return true
    })
    assert.ok(aborted !== undefined, 'the duplex was aborted')
  })

  for (const [name, rekey] of [['\'prefer\'', 'prefer'], ['true', true], ['an object without a mode', { afterBytes: MiB }]] as const) {
    it(`clientHandshake refuses rekey ${name} at the call, saying why and what to use, before a byte is written`, async () => {
      const [ours] = memoryDuplexPair()
      await assert.rejects(clientHandshake(ours, { ...client, rekey: rekey as RekeyOption }), (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError)
        assert.equal(err.option, 'rekey')
        assert.match(err.message, /cannot: it runs on the one transport/)
        assert.match(err.message, /rekey: 'require'/)
        assert.match(err.message, /connect\(\)/)
        return true
      })
      assert.deepEqual(ours.written, [])
    })
  }

  for (const [name, call] of [
    ['clientHandshake', (rekey: unknown) => clientHandshake(memoryDuplexPair()[0], { ...client, rekey: rekey as RekeyOption })],
    ['serverHandshake', (rekey: unknown) => serverHandshake(memoryDuplexPair()[1], { ...server, rekey: rekey as RekeyOption })]
  ] as const) {
    it(`${name} refuses a malformed rekey option with a typed error naming the field`, async () => {
      await assert.rejects(call('sometimes'), (err: unknown) => err instanceof InvalidOptionError && err.option === 'rekey')
      await assert.rejects(call({ mode: 'always' }), (err: unknown) => err instanceof InvalidOptionError && err.option === 'rekey.mode')
      await assert.rejects(call({ mode: 'require', afterBytes: 10 }), (err: unknown) => err instanceof InvalidOptionError && err.option === 'rekey.afterBytes')
    })
  }

  it('toNodeDuplex and toPullDuplex pass rekeying, rekeys and rekey() through; data crosses a rekey intact', async () => {
    const [dialed, accepted] = handshakes('require', 'require')
    const [stream, theirs] = await Promise.all([dialed, accepted])
    const node = toNodeDuplex(stream)
    const pulled = toPullDuplex(theirs)
    assert.equal(node.rekeying, true)
    assert.equal(pulled.rekeying, true)
    await node.rekey()
    assert.equal(node.rekeys, 1)
    // It resolves once a rekey completed after the call: the client's, or one of its own.
    await pulled.rekey()
    assert.ok(pulled.rekeys >= 1)
    const payload = randomPayload(200_000)
    // The pull side echoes; the Node side writes, then reads the echo back.
    pulled.sink(pulled.source)
    const echoed: Buffer[] = []
    node.on('data', (chunk: Buffer) => { echoed.push(chunk) })
    node.end(payload)
    await once(node, 'end')
    assert.equal(sha(Buffer.concat(echoed)), sha(payload))
  })

  it('the wrappers of a plain SHS1 stream say so: rekeying false, rekey() rejects with ERR_SHS_REKEY_NOT_NEGOTIATED', async () => {
    const [dialed, accepted] = handshakes(undefined, undefined)
    const [stream, theirs] = await Promise.all([dialed, accepted])
    const node = toNodeDuplex(stream)
    const pulled = toPullDuplex(theirs)
    assert.equal(node.rekeying, false)
    assert.equal(pulled.rekeying, false)
    await assert.rejects(node.rekey(), isShs('ERR_SHS_REKEY_NOT_NEGOTIATED'))
    await assert.rejects(pulled.rekey(), isShs('ERR_SHS_REKEY_NOT_NEGOTIATED'))
    node.destroy()
  })
})

/** A socket as an it-pipe duplex, the way an application wires one. */
function socketDuplex (socket: net.Socket): ByteDuplex {
  return {
    source: socket,
    async sink (source) {
      for await (const chunk of source) if (!socket.write(chunk)) await once(socket, 'drain')
      socket.end()
    },
    abort () { socket.destroy() }
  }
}
