/** The raw far end of each kind of transport, as the contract's peer drives it. */
import { once } from 'node:events'
import type net from 'node:net'
import type { MessageStream } from '@libp2p/interface'
import type { WebSocket } from 'ws'
import { Channel } from './channel.ts'
import type { RawEnd } from './types.ts'

/** `closed`, and a way to ask whether it has happened yet. */
function tracked (closed: Promise<void>): { closed: Promise<void>, isClosed: () => boolean } {
  let done = false
  void closed.then(() => { done = true })
  return { closed, isClosed: () => done }
}

/** A TCP socket: pulled through its own async iterator, so a slow peer is TCP backpressure. */
export function socketRaw (socket: net.Socket): RawEnd {
  // A reset is one of the outcomes the contract provokes, not a failure of the test.
  socket.on('error', () => {})
  // The way in closed the transport: its FIN (we are half open, so that alone is no 'close'), or a reset.
  const closed = Promise.race([once(socket, 'end'), once(socket, 'close')]).then(() => {})
  const chunks = socket[Symbol.asyncIterator]()
  return {
    incoming: {
      next: async () => {
        try {
          return await chunks.next() as IteratorResult<Uint8Array>
        } catch {
          return { value: undefined, done: true }
        }
      }
    },
    write: async (bytes) => {
      if (socket.destroyed) return
      if (!socket.write(bytes)) await Promise.race([once(socket, 'drain'), closed])
    },
    end: () => { socket.end() },
    destroy: () => { socket.resetAndDestroy() },
    ...tracked(closed)
  }
}

/**
 * One end of an in-memory byte pipe: `incoming` is what the other side wrote, `write` pushes the
 * other way with backpressure; `closed` once both directions ended.
 */
export function channelRaw (incoming: Channel, outgoing: Channel): RawEnd {
  const closed = Promise.all([new Promise<void>((resolve) => { incoming.onEnd(resolve) }), new Promise<void>((resolve) => { outgoing.onEnd(resolve) })]).then(() => {})
  return {
    incoming,
    write: async (bytes) => { await outgoing.push(bytes) },
    end: () => { outgoing.end() },
    destroy: () => { outgoing.end(); incoming.end() },
    ...tracked(closed)
  }
}

/** A WebSocket of the `ws` package: every write one binary message, paused while unread messages pile up. */
export function webSocketRaw (socket: WebSocket): RawEnd {
  socket.on('error', () => {})
  const queue: Uint8Array[] = []
  let wake: (() => void) | undefined
  let ended = false
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => { ended = true; wake?.(); resolve() })
  })
  socket.on('message', (data: Buffer) => {
    queue.push(new Uint8Array(data))
    if (queue.length >= 16) socket.pause()
    wake?.()
  })
  return {
    incoming: {
      next: async () => {
        for (;;) {
          const bytes = queue.shift()
          if (bytes !== undefined) {
            if (queue.length < 8) socket.resume()
            return { value: bytes, done: false }
          }
          if (ended) return { value: undefined, done: true }
          await new Promise<void>((resolve) => { wake = resolve })
        }
      }
    },
    write: async (bytes) => {
      if (socket.readyState !== socket.OPEN) return
      await new Promise<void>((resolve) => { socket.send(bytes, { binary: true }, () => { resolve() }) })
    },
    end: () => { socket.close() },
    destroy: () => { socket.terminate() },
    ...tracked(closed)
  }
}

/** A libp2p raw connection (a `MessageStream` such as a multiaddr connection). */
export function messageStreamRaw (stream: MessageStream): RawEnd {
  const queue: Uint8Array[] = []
  let wake: (() => void) | undefined
  let ended = false
  const closed = new Promise<void>((resolve) => {
    stream.addEventListener('close', () => { ended = true; wake?.(); resolve() }, { once: true })
  })
  stream.addEventListener('remoteCloseWrite', () => { ended = true; wake?.() })
  stream.addEventListener('message', (evt) => {
    queue.push(evt.data.subarray())
    if (queue.length >= 16) stream.pause()
    wake?.()
  })
  return {
    incoming: {
      next: async () => {
        for (;;) {
          const bytes = queue.shift()
          if (bytes !== undefined) {
            if (queue.length < 8) stream.resume()
            return { value: bytes, done: false }
          }
          if (ended) return { value: undefined, done: true }
          await new Promise<void>((resolve) => { wake = resolve })
        }
      }
    },
    write: async (bytes) => {
      if (stream.status !== 'open') return
      if (!stream.send(bytes)) await Promise.race([once(stream as unknown as EventTarget, 'drain'), closed])
    },
    end: () => { stream.close().catch(() => { stream.abort(new Error('the contract peer could not close')) }) },
    destroy: () => { stream.abort(new Error('the contract peer aborted')) },
    ...tracked(closed)
  }
}

export { Channel }
