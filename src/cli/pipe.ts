/**
 * Joins a secure stream to a pair of byte streams (stdio, a child process, a TCP socket) with
 * half-close: the end of `input` sends goodbye while data keeps arriving, the peer's goodbye
 * ends `output`, and the join is done only when both directions are.
 */
import type { Readable, Writable } from 'node:stream'
import type { SecureStream } from '../index.ts'

export interface Traffic {
  sent (bytes: number): void
  received (bytes: number): void
}

export interface JoinOptions {
  /** End `output` at the peer's goodbye. False for process.stdout, which stays open for the process. */
  endOutput: boolean
  traffic?: Traffic
  /** Told when `output` fails; what arrives after that is read and discarded so the peer can finish. */
  onOutputError?: (err: NodeJS.ErrnoException) => void
  /** Ends the input early, as if it had ended there: what was read is sent, then goodbye. */
  stopInput?: AbortSignal
  /** Told once our side is done: all input sent and goodbye flushed. */
  onSent?: () => void
}

export async function join (secure: SecureStream, input: Readable, output: Writable, options: JoinOptions): Promise<void> {
  const traffic = options.traffic
  const sending = secure.sink(counted(input, traffic, options.stopInput))
  if (options.onSent !== undefined) sending.then(options.onSent, () => {})
  const receiving = receive(secure, output, options)
  try {
    await Promise.all([sending, receiving])
  } catch (err) {
    // One direction failed: the other cannot finish cleanly, so stop both at once.
    secure.abort(err instanceof Error ? err : undefined)
    input.destroy()
    throw err
  }
}

async function * counted (input: Readable, traffic: Traffic | undefined, stop: AbortSignal | undefined): AsyncGenerator<Uint8Array, void, undefined> {
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>
  // A stop while a read is pending must not wait for that read: stdin may never say more.
  const stopped = new Promise<undefined>((resolve) => {
    if (stop?.aborted === true) resolve(undefined)
    else stop?.addEventListener('abort', () => { resolve(undefined) }, { once: true })
  })
  let stoppedWhileReading = false
  try {
    for (;;) {
      const reading = chunks.next()
      const next = await Promise.race([reading, stopped])
      if (next === undefined) {
        // The iterator's return() would queue behind the pending read; destroying the input
        // ends that read instead (its outcome no longer matters).
        stoppedWhileReading = true
        reading.catch(() => {})
        input.destroy()
        return
      }
      if (next.done === true) return
      traffic?.sent(next.value.byteLength)
      yield next.value
    }
  } finally {
    if (!stoppedWhileReading) await chunks.return?.()
  }
}

async function receive (secure: SecureStream, output: Writable, options: JoinOptions): Promise<void> {
  let writable = true
  const onError = (err: NodeJS.ErrnoException): void => {
    // EPIPE and friends: whoever read our output is gone (`| head`, a command that exited).
    // Keep reading until goodbye anyway, so the peer's sending side ends cleanly.
    if (writable) options.onOutputError?.(err)
    writable = false
  }
  output.on('error', onError)
  try {
    for await (const chunk of secure.source) {
      options.traffic?.received(chunk.byteLength)
      if (!writable) continue
      if (!output.write(chunk)) await drained(output)
    }
    if (options.endOutput && writable) output.end()
  } finally {
    output.off('error', onError)
    // Late errors (after end) must still have a listener, or they would crash the process.
    output.on('error', ignoreLateError)
  }
}

/** Errors after we are done with a stream change nothing: the join already has its result. */
function ignoreLateError (): void {}

function drained (output: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      output.off('drain', done)
      output.off('error', done)
      output.off('close', done)
      resolve()
    }
    output.on('drain', done)
    output.on('error', done)
    output.on('close', done)
  })
}
