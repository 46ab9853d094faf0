/** The WebSocket ways in of Node: `listenWebSocket()` and `connectWebSocket()` (the `ws` package). */
import { once } from 'node:events'
import { type AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { type SecureStream, connectWebSocket, listenWebSocket } from '../../../src/index.ts'
import { secureStreamApp } from './app.ts'
import { webSocketRaw } from './raw.ts'
import type { Opened, RawEnd, WayIn } from './types.ts'

const HOST = '127.0.0.1'

export const webSocket: WayIn = {
  name: 'WebSocket (connectWebSocket/listenWebSocket)',
  roles: ['client', 'server'],
  idleTimeout: true,
  async open (role, identities, handshake, options = {}): Promise<Opened> {
    if (role === 'server') {
      let delivered: (stream: SecureStream) => void = () => {}
      const accepted = new Promise<SecureStream>((resolve) => { delivered = resolve })
      const listener = await listenWebSocket({ port: 0, host: HOST, keys: identities.ours, networkKey: identities.networkKey, ...options }, (stream) => { delivered(stream) })
      const socket = new WebSocket(`ws://${HOST}:${listener.address().port}`)
      const raw = webSocketRaw(socket)
      await once(socket, 'open')
      const [stream] = await Promise.all([accepted, handshake(raw)])
      return { app: secureStreamApp(stream), raw, close: async () => { await listener.close() } }
    }
    const server = new WebSocketServer({ host: HOST, port: 0 })
    await once(server, 'listening')
    let raw: RawEnd | undefined
    let peer: Promise<void> | undefined
    server.on('connection', (socket) => {
      raw = webSocketRaw(socket)
      peer = handshake(raw)
    })
    const close = async (): Promise<void> => {
      for (const client of server.clients) client.terminate()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
    try {
      const stream = await connectWebSocket({
        url: `ws://${HOST}:${(server.address() as AddressInfo).port}`,
        keys: identities.ours,
        networkKey: identities.networkKey,
        remotePublicKey: identities.theirs.publicKey,
        ...options
      })
      await peer
      return { app: secureStreamApp(stream), raw: raw as RawEnd, close }
    } catch (err) {
      await close()
      throw err
    }
  }
}
