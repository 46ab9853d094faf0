/** Plain TCP with `node:net`: no handshake, no encryption; what the secure transports build on. */
import net from 'node:net'
import { HOST } from '../config.ts'
import { type BenchServer, ONE_BYTE, type ServerMode, type Target, type Transport, ignore, writes } from './types.ts'

async function serve (mode: ServerMode, host = HOST): Promise<BenchServer> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', ignore)
    socket.on('end', () => socket.end())
    if (mode.kind === 'echo') socket.on('data', (data) => socket.write(data))
    else if (mode.kind === 'idle') socket.resume()
    else {
      let total = 0
      socket.on('data', (data: Buffer) => {
        const before = total
        total += data.byteLength
        if (before < mode.bytes && total >= mode.bytes) socket.write(ONE_BYTE)
      })
    }
  })
  let accepted = 0
  server.on('connection', () => { accepted++ })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return {
    target: { port: (server.address() as net.AddressInfo).port, publicKey: new Uint8Array(0) },
    accepted: () => accepted,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => { resolve() }))
      for (const socket of sockets) socket.destroy()
      await closed
    }
  }
}

async function open (target: Target): Promise<net.Socket> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect({ port: target.port, host: HOST, noDelay: true, allowHalfOpen: true })
    socket.once('connect', () => { socket.off('error', reject); socket.on('error', ignore); resolve(socket) })
    socket.once('error', reject)
  })
}

/** Ends our side and waits until the server has ended its side too. */
async function close (socket: net.Socket): Promise<void> {
  socket.end()
  socket.resume()
  if (!socket.destroyed) await new Promise((resolve) => socket.once('close', resolve))
}

async function nextData (socket: net.Socket): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onClose = (): void => { reject(new Error('tcp: the server closed without answering')) }
    socket.once('close', onClose)
    socket.once('data', () => { socket.off('close', onClose); resolve() })
  })
}

async function transfer (target: Target, bytes: number, writeBytes: number): Promise<number> {
  const socket = await open(target)
  const started = performance.now()
  const answered = nextData(socket).then(() => performance.now() - started)
  answered.catch(ignore)
  for (const piece of writes(bytes, writeBytes)) {
    if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve))
  }
  const elapsed = await answered
  await close(socket)
  return elapsed
}

async function roundTrip (target: Target, count: number): Promise<number> {
  const socket = await open(target)
  const started = performance.now()
  for (let trip = 0; trip < count; trip++) {
    const echoed = nextData(socket)
    socket.write(ONE_BYTE)
    await echoed
  }
  const elapsed = performance.now() - started
  await close(socket)
  return elapsed / count
}

/** SHS1's message sizes (docs/PROTOCOL.md, "The four messages") and a box-stream goodbye, for the shaped exchange. */
const SHAPED_MESSAGES = [64, 112, 34].map((length) => Buffer.alloc(length))

/**
 * Against the echo server, the pattern of an SHS1 connection without its crypto: the client's
 * hello, message 3 and goodbye, each echoed (as the server's hello, message 4 and goodbye), then
 * both ends close. What node:net and the kernel cost a server per handshake, for the bench's bound.
 */
async function connectAndClose (target: Target): Promise<void> {
  const socket = await open(target)
  for (const message of SHAPED_MESSAGES) {
    const echoed = exactly(socket, message.byteLength)
    socket.write(message)
    await echoed
  }
  await close(socket)
}

/** Resolves once `length` bytes arrived on `socket` (the echo of what was just written). */
export async function exactly (socket: net.Socket, length: number): Promise<void> {
  let received = 0
  await new Promise<void>((resolve, reject) => {
    const onClose = (): void => { reject(new Error('tcp: the server closed mid-exchange')) }
    const onData = (data: Buffer): void => {
      received += data.byteLength
      if (received < length) return
      socket.off('data', onData)
      socket.off('close', onClose)
      resolve()
    }
    socket.on('data', onData)
    socket.once('close', onClose)
  })
}

export const tcp: Transport = {
  serve,
  transfer,
  connectAndClose,
  hold: async (target) => {
    const socket = await open(target)
    socket.resume()
    return () => { socket.destroy() }
  },
  roundTrip
}
