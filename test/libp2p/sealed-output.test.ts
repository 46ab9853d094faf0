/**
 * The libp2p connection seals a send into the buffer of an earlier one only when a `node:net`
 * socket proved it let go of that buffer. What that safety rests on: the proof is read from a
 * real `node:net` socket only (never from a lookalike, nor from a stream that hands written chunks
 * on), a spare goes to one send at a time, and only buffers that own their memory are kept.
 * That the bytes stay intact while buffers are reused is the 6 MiB echo of nodes.test.ts.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { PassThrough } from 'node:stream'
import type { Connection, MessageStream, MultiaddrConnection, Upgrader } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { SpareOutput, kernelSocketOf } from '../../src/libp2p/sealed-output.ts'

const KiB = 1024
const LARGE_SEND = 64 * KiB
/** Below the size a spare is used for: such sends go to Node's shared pool. */
const SMALL_SEND = 4 * KiB

function rawWith (socket: unknown): MessageStream {
  return { socket } as unknown as MessageStream
}

describe('libp2p sealed output buffers', () => {
  it('trusts only a node:net socket: not a lookalike with writableLength, nor a stream that hands its chunks on', () => {
    assert.equal(kernelSocketOf(rawWith(undefined)), undefined)
    assert.equal(kernelSocketOf(rawWith({ writableLength: 0 })), undefined)
    assert.equal(kernelSocketOf(rawWith(new PassThrough())), undefined)
    const socket = new net.Socket()
    try {
      assert.equal(kernelSocketOf(rawWith(socket)), socket)
    } finally {
      socket.destroy()
    }
  })

  it('finds the socket of a @libp2p/tcp connection (else TCP sends would never reuse a buffer)', async () => {
    const server = net.createServer((peer) => { peer.destroy() })
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
    let maConn: MultiaddrConnection | undefined
    const upgrader = {
      upgradeOutbound: async (connection: MultiaddrConnection) => {
        maConn = connection
        return {} as unknown as Connection
      }
    } as unknown as Upgrader
    try {
      const { port } = server.address() as net.AddressInfo
      const transport = tcp()({ logger: defaultLogger() })
      await transport.dial(multiaddr(`/ip4/127.0.0.1/tcp/${port}`), { upgrader, signal: AbortSignal.timeout(5000) })
      assert.ok(maConn !== undefined, 'the transport handed its connection to the upgrader')
      assert.ok(kernelSocketOf(maConn) instanceof net.Socket)
    } finally {
      maConn?.abort(new Error('test over'))
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  })

  it('hands a spare to one send at a time, only to a large send it fits', () => {
    const spares = new SpareOutput()
    const buffer = new Uint8Array(LARGE_SEND + KiB)
    spares.giveBack(buffer)
    assert.equal(spares.take(SMALL_SEND), undefined, 'small sends use the shared pool')
    assert.equal(spares.take(buffer.byteLength + 1), undefined, 'too small for this send')
    assert.equal(spares.take(LARGE_SEND), buffer)
    assert.equal(spares.take(LARGE_SEND), undefined, 'taken: no second send gets it')
  })

  it('keeps only buffers that own their memory, and the larger of two', () => {
    const spares = new SpareOutput()
    const shared = new Uint8Array(4 * LARGE_SEND)
    spares.giveBack(shared.subarray(LARGE_SEND, 2 * LARGE_SEND + KiB))
    assert.equal(spares.take(LARGE_SEND), undefined, 'a view into a larger buffer is never kept')

    const smaller = new Uint8Array(LARGE_SEND)
    const larger = new Uint8Array(2 * LARGE_SEND)
    spares.giveBack(larger)
    spares.giveBack(smaller)
    assert.equal(spares.take(LARGE_SEND), larger)
  })
})
