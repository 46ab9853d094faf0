/** Plain TCP with `node:net`: no handshake, no encryption; what the secure transports build on. */
import net from 'node:net'
import {
  ACK, type BenchServer, HOST, type Held, type ServerMode, type Target, type Transport, ignore, pieces
} from './types.ts'

const NO_KEY = new Uint8Array(0)

async function serve (mode: ServerMode): Promise<BenchServer> {
  const sockets = new Set<net.Socket>()
  let accepted = 0
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', ignore)
    handle(socket, mode)
  })
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
  return {
    target: { port: (server.address() as net.AddressInfo).port, publicKey: NO_KEY },
    accepted: () => accepted,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => { resolve() }))
      for (const socket of sockets) socket.destroy()
      await closed
    }
  }
}

function handle (socket: net.Socket, mode: ServerMode): void {
  switch (mode.kind) {
    case 'echo':
      socket.pipe(socket)
      return
    case 'idle':
      socket.on('end', () => socket.end())
      socket.resume()
      return
    case 'sink': {
      let total = 0
      let answered = false
      socket.on('data', (data: Buffer) => {
        total += data.byteLength
        if (!answered && total >= mode.bytes) {
          answered = true
          socket.write(ACK)
        }
      })
      socket.on('end', () => socket.end())
    }
  }
}

function open (target: Target): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: target.port, host: HOST, noDelay: true, allowHalfOpen: true })
    socket.once('connect', () => { socket.off('error', reject); socket.on('error', ignore); resolve(socket) })
    socket.once('error', reject)
  })
}

function closed (socket: net.Socket): Promise<void> {
  return socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => { resolve() }))
}

async function transfer (target: Target, bytes: number, chunk: Uint8Array): Promise<number> {
  const socket = await open(target)
  const started = performance.now()
  const answered = new Promise<number>((resolve, reject) => {
    socket.once('data', () => { resolve(performance.now() - started) })
    socket.once('close', () => { reject(new Error('tcp: the sink closed without answering')) })
  })
  answered.catch(ignore)
  for (const piece of pieces(bytes, chunk)) {
    if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve))
  }
  const elapsed = await answered
  socket.end()
  socket.resume()
  await closed(socket)
  return elapsed
}

async function connectAndClose (target: Target): Promise<void> {
  const socket = await open(target)
  socket.end()
  socket.resume()
  await closed(socket)
}

async function hold (target: Target): Promise<Held> {
  const socket = await open(target)
  socket.resume()
  return { close: () => { socket.destroy() } }
}

export const tcp: Transport = { name: 'tcp', serve, transfer, connectAndClose, hold }
