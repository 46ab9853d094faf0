/** A hand-rolled SHS client over a `ws` WebSocket, for tests that play a misbehaving WebSocket peer. */
import assert from 'node:assert/strict'
import { WebSocket } from 'ws'
import { type KeyPair, SSB_NETWORK_KEY, type SessionKeys } from '../../src/index.ts'
import { ClientSteps, HELLO_BYTES, SERVER_ACCEPT_BYTES } from './adversary.ts'

export interface WebSocketPeer {
  readonly socket: WebSocket
  readonly session: SessionKeys
  /** One binary message; resolves once the socket wrote it. */
  send: (bytes: Uint8Array) => Promise<void>
  /** Exactly `length` bytes across message boundaries, or undefined if the socket closed first. */
  read: (length: number) => Promise<Uint8Array | undefined>
}

/** SHS1 by hand over a `ws` WebSocket: each write one binary message, reads across message boundaries. */
export async function handRolledWebSocketClient (url: string, keys: KeyPair, serverKey: Uint8Array): Promise<WebSocketPeer> {
  const socket = new WebSocket(url)
  socket.on('error', () => {})
  let unread = Buffer.alloc(0)
  let ended = false
  let wake = (): void => {}
  socket.on('message', (data: Buffer) => { unread = Buffer.concat([unread, data]); wake() })
  socket.on('close', () => { ended = true; wake() })
  await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject) })
  const read = async (length: number): Promise<Uint8Array | undefined> => {
    while (unread.byteLength < length) {
      if (ended) return undefined
      await new Promise<void>((resolve) => { wake = resolve })
    }
    const message = unread.subarray(0, length)
    unread = unread.subarray(length)
    return message
  }
  const send = async (bytes: Uint8Array): Promise<void> => {
    await new Promise<void>((resolve, reject) => { socket.send(bytes, { binary: true }, (err) => { if (err == null) resolve(); else reject(err) }) })
  }
  const steps = new ClientSteps(keys, SSB_NETWORK_KEY, serverKey)
  void send(steps.hello)
  const hello = await read(HELLO_BYTES)
  assert.ok(hello !== undefined && steps.acceptHello(hello))
  void send(steps.auth())
  const accept = await read(SERVER_ACCEPT_BYTES)
  assert.ok(accept !== undefined && steps.acceptServerAccept(accept))
  return { socket, session: steps.session(), send, read }
}
