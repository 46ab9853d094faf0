/**
 * The secure stream on an it-pipe duplex: a thin transport under `ConnectionStream`. One
 * pushable feeds the raw sink for the connection's whole life (handshake messages first, then
 * sealed packets), and one pump reads the raw source into the connection until it ends, the
 * read queue is full (it then waits), or the connection is over.
 */
import { pushable, type Pushable } from 'it-pushable'
import { ConnectionStream, type StreamTransport, connectionBroke } from '../connection/stream.ts'
import type { SessionKeys } from '../handshake/session.ts'
import type { ByteReader } from './reader.ts'
import type { ByteDuplex, SecureStream } from './types.ts'

/** The outbound half of a duplex: everything we write goes through this one pushable. */
export class Outbound {
  readonly #messages: Pushable<Uint8Array> = pushable()
  readonly done: Promise<void>

  constructor (raw: ByteDuplex) {
    this.done = Promise.resolve().then(async () => { await raw.sink(this.#messages) })
    // During the handshake a failed sink shows as the peer hanging up; afterwards the secure
    // stream tears down on it (see createSecureStream). Either way it is never unhandled.
    this.done.catch(() => {})
  }

  /** Queues bytes; the promise resolves once the raw sink has taken everything queued. */
  push (bytes: Uint8Array): Promise<void> {
    this.#messages.push(bytes)
    return this.#messages.onEmpty()
  }

  /** Nothing more will be written (goodbye was the last, or the connection failed). */
  end (): void {
    this.#messages.end()
  }
}

export function createSecureStream (raw: ByteDuplex, reader: ByteReader, outbound: Outbound, session: SessionKeys): SecureStream {
  const stream = new ConnectionStream(session)
  let wake: (() => void) | undefined
  let paused = false
  let stopped = false
  const stop = (): void => {
    stopped = true
    reader.close()
    wake?.()
  }
  const transport: StreamTransport = {
    write: async (sealed) => { await outbound.push(sealed) },
    flush: async (sealed) => {
      const taken = outbound.push(sealed)
      // Goodbye is the last thing we write: ending the raw sink is the duplex's half-close.
      outbound.end()
      await taken
    },
    end: stop,
    destroy: (error) => {
      outbound.end()
      stop()
      raw.abort?.(error)
    },
    pause: () => { paused = true },
    resume: () => {
      paused = false
      wake?.()
    }
  }
  stream.attach(transport)
  outbound.done.catch((err: unknown) => { if (!stopped) stream.transportFailed(connectionBroke(err)) })

  async function pump (): Promise<void> {
    try {
      for (;;) {
        while (paused && !stopped) await new Promise<void>((resolve) => { wake = resolve })
        if (stopped) return
        const chunk = await reader.readChunk()
        if (stopped) return
        if (chunk === undefined) {
          stream.receiveEnd()
          return
        }
        stream.receive(chunk)
      }
    } catch (err) {
      if (!stopped) stream.transportFailed(connectionBroke(err))
    }
  }
  void pump()
  return stream
}
