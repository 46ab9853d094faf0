/**
 * The application's end of a connection, spoken through each API the library hands out: a
 * `SecureStream`, a Node `Duplex`, a libp2p `MessageStream`, a multiserver pull-stream duplex.
 * Each writes the way its users write, and releases a chunk exactly when that API says the
 * writer may reuse it.
 */
import { once } from 'node:events'
import type { Duplex } from 'node:stream'
import type { MessageStream } from '@libp2p/interface'
import type { SecureStream } from '../../../src/index.ts'
import type { ShsPullStream } from '../../../src/multiserver/index.ts'
import { fillChunk } from './pattern.ts'
import type { AppEnd } from './types.ts'

type Source = AsyncIterable<Uint8Array> | Iterable<Uint8Array>
type Write = (source: Source) => Promise<void>

/** The writes every app end makes, from the one `write` its API gives. */
function writes (write: Write): Pick<AppEnd, 'writeReusing' | 'writeEndless'> {
  return {
    writeReusing: async (size, count) => {
      const buffer = new Uint8Array(size)
      await write((async function * () {
        for (let i = 0; i < count; i++) {
          fillChunk(buffer, i)
          yield buffer
        }
      })())
    },
    writeEndless: async () => {
      const chunk = new Uint8Array(16_384)
      await write((async function * () { for (;;) yield chunk })())
    }
  }
}

export function secureStreamApp (stream: SecureStream): AppEnd {
  return {
    remotePublicKey: stream.remotePublicKey,
    read: () => stream.source,
    ...writes(async (source) => { await stream.sink(source) }),
    // As README.md and docs/LIBRARY.md write it: the promise is not awaited.
    echoIgnoringOutcome: () => { void stream.sink(stream.source) },
    abort: () => { stream.abort() }
  }
}

/** A Node Duplex: `write(chunk, callback)`, where the callback releases the chunk, as on a socket. */
export function nodeDuplexApp (duplex: Duplex, remotePublicKey: Uint8Array): AppEnd {
  const failed = new Promise<never>((_resolve, reject) => { duplex.once('error', reject) })
  failed.catch(() => {})
  return {
    remotePublicKey,
    // A plain for-await would destroy the duplex at the end of the readable side, half-open or not.
    read: () => duplex.iterator({ destroyOnReturn: false }),
    ...writes(async (source) => {
      for await (const chunk of source) {
        await Promise.race([new Promise<void>((resolve, reject) => {
          duplex.write(chunk, (err) => { if (err == null) resolve(); else reject(err) })
        }), failed])
      }
      duplex.end()
      await Promise.race([once(duplex, 'finish'), failed])
    }),
    echoIgnoringOutcome: () => {
      duplex.on('error', () => {})
      duplex.pipe(duplex)
    },
    abort: () => { duplex.destroy() }
  }
}

/**
 * A libp2p stream, read as a muxer reads the connection under it: listened to from the start
 * (libp2p's own async iterator, begun after the remote closed its writing, would wait forever),
 * paused while 1 MiB waits unread. `send()` returns false when its buffer is full; a chunk is the
 * stream's until it was sent.
 */
export function messageStreamApp (stream: MessageStream, remotePublicKey: Uint8Array): AppEnd {
  // How the stream ended, as libp2p tells it: the close event carries the error of an abort.
  let closeError: Error | undefined
  let ended = false
  const unread: Uint8Array[] = []
  let unreadBytes = 0
  let wake: (() => void) | undefined
  stream.addEventListener('message', (evt) => {
    const bytes = evt.data.subarray()
    unread.push(bytes)
    unreadBytes += bytes.byteLength
    if (unreadBytes > UNREAD_LIMIT_BYTES) stream.pause()
    wake?.()
  })
  stream.addEventListener('remoteCloseWrite', () => { ended = true; wake?.() })
  stream.addEventListener('close', (evt) => { closeError = evt.error; ended = true; wake?.() }, { once: true })
  const failure = (): Error => closeError ?? new Error(`the libp2p stream is ${stream.status}`)
  const write = async (source: Source): Promise<void> => {
    for await (const chunk of source) {
      if (stream.status !== 'open') throw failure()
      // libp2p keeps what it could not send yet by reference: the writer waits for it to go.
      if (!stream.send(chunk) || stream.writeBufferLength > 0) await drainedOrClosed(stream, failure)
    }
    await stream.close()
    if (closeError !== undefined) throw closeError
  }
  async function * read (): AsyncGenerator<Uint8Array> {
    for (;;) {
      const bytes = unread.shift()
      if (bytes !== undefined) {
        unreadBytes -= bytes.byteLength
        if (unreadBytes <= UNREAD_LIMIT_BYTES / 2) stream.resume()
        yield bytes
        continue
      }
      if (closeError !== undefined) throw closeError
      if (ended) return
      await new Promise<void>((resolve) => { wake = resolve })
    }
  }
  return {
    remotePublicKey,
    read,
    ...writes(write),
    echoIgnoringOutcome: () => { void write(read()).catch(() => {}) },
    abort: () => { stream.abort(new Error('the application aborted')) }
  }
}

const UNREAD_LIMIT_BYTES = 1024 * 1024

async function drainedOrClosed (stream: MessageStream, failure: () => Error): Promise<void> {
  if (stream.writeBufferLength === 0 && stream.writableNeedsDrain !== true) return
  await new Promise<void>((resolve, reject) => {
    const onDrain = (): void => { cleanup(); resolve() }
    const onClose = (): void => { cleanup(); reject(failure()) }
    const cleanup = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  })
}

/** A multiserver pull-stream duplex: its sink reads a pull source; a chunk is released when the next is asked for. */
export function pullStreamApp (stream: ShsPullStream): AppEnd {
  const write = async (source: Source): Promise<void> => {
    const iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<Uint8Array>)[Symbol.iterator]()
    await new Promise<void>((resolve, reject) => {
      stream.sink((abort, cb) => {
        if (abort !== null && abort !== undefined && abort !== false) {
          void iterator.return?.()
          if (abort === true) resolve()
          else reject(abort)
          cb(abort)
          return
        }
        Promise.resolve(iterator.next()).then((result) => {
          if (result.done === true) { resolve(); cb(true) } else cb(null, Buffer.from(result.value))
        }, (err: unknown) => { reject(err); cb(err as Error) })
      })
    })
  }
  return {
    remotePublicKey: new Uint8Array(stream.remote),
    read: () => readPullSource(stream.source),
    ...writes(write),
    echoIgnoringOutcome: () => { stream.sink(stream.source) },
    abort: () => { stream.source(new Error('the application aborted'), () => {}) }
  }
}

async function * readPullSource (source: ShsPullStream['source']): AsyncGenerator<Uint8Array> {
  for (;;) {
    const { end, data } = await new Promise<{ end: unknown, data?: Buffer }>((resolve) => {
      source(null, (end, data) => { resolve({ end, data }) })
    })
    if (end === true) return
    if (end !== null && end !== undefined && end !== false) throw end
    yield new Uint8Array(data as Buffer)
  }
}
