/** The TCP ways in: `listen()`, `connect()`, and `toNodeDuplex()` over them. */
import net from 'node:net'
import { once } from 'node:events'
import { type SecureStream, connect, listen, toNodeDuplex } from '../../../src/index.ts'
import { nodeDuplexApp, secureStreamApp } from './app.ts'
import { socketRaw } from './raw.ts'
import type { AppEnd, Identities, OpenOptions, Opened, RawEnd, Role, WayIn } from './types.ts'

const HOST = '127.0.0.1'

/** A SecureStream over TCP with the app in `role`, its far end a raw socket. */
export async function openTcp (role: Role, identities: Identities, handshake: (raw: RawEnd) => Promise<void>, options: OpenOptions = {}): Promise<{ stream: SecureStream, raw: RawEnd, close: () => Promise<void> }> {
  return role === 'server' ? await openServer(identities, handshake, options) : await openClient(identities, handshake, options)
}

async function openServer (identities: Identities, handshake: (raw: RawEnd) => Promise<void>, options: OpenOptions): Promise<{ stream: SecureStream, raw: RawEnd, close: () => Promise<void> }> {
  let delivered: (stream: SecureStream) => void = () => {}
  const accepted = new Promise<SecureStream>((resolve) => { delivered = resolve })
  const listener = await listen({ port: 0, host: HOST, keys: identities.ours, networkKey: identities.networkKey, ...options }, (stream) => { delivered(stream) })
  const socket = net.connect({ host: HOST, port: listener.address().port, allowHalfOpen: true })
  const raw = socketRaw(socket)
  await once(socket, 'connect')
  const [stream] = await Promise.all([accepted, handshake(raw)])
  return { stream, raw, close: async () => { await listener.close() } }
}

async function openClient (identities: Identities, handshake: (raw: RawEnd) => Promise<void>, options: OpenOptions): Promise<{ stream: SecureStream, raw: RawEnd, close: () => Promise<void> }> {
  let raw: RawEnd | undefined
  let peer: Promise<void> | undefined
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    raw = socketRaw(socket)
    peer = handshake(raw)
  })
  await new Promise<void>((resolve) => { server.listen(0, HOST, resolve) })
  const port = (server.address() as net.AddressInfo).port
  const stream = await connect({
    host: HOST, port, keys: identities.ours, networkKey: identities.networkKey, remotePublicKey: identities.theirs.publicKey, ...options
  })
  await peer
  const close = async (): Promise<void> => { await new Promise<void>((resolve) => { server.close(() => { resolve() }) }) }
  return { stream, raw: raw as RawEnd, close }
}

export const tcp: WayIn = {
  name: 'TCP (connect/listen)',
  roles: ['client', 'server'],
  idleTimeout: true,
  async open (role, identities, handshake, options): Promise<Opened> {
    const { stream, raw, close } = await openTcp(role, identities, handshake, options)
    return { app: secureStreamApp(stream), raw, close }
  }
}

export const nodeDuplex: WayIn = {
  name: 'toNodeDuplex over TCP',
  roles: ['client', 'server'],
  idleTimeout: true,
  async open (role, identities, handshake, options): Promise<Opened> {
    const { stream, raw, close } = await openTcp(role, identities, handshake, options)
    const app: AppEnd = nodeDuplexApp(toNodeDuplex(stream), stream.remotePublicKey)
    return { app, raw, close }
  }
}
