/**
 * `listen`'s stdin/stdout mode. The first client to finish the handshake gets them, as with
 * `nc -l`, and the server stops accepting. With -k (as `nc -lk`) it keeps listening and serves
 * one client at a time: a client that arrives meanwhile waits for its turn. stdin goes to
 * whoever is connected until it ends; a later client gets its end at once and can still send.
 */
import { PassThrough, Readable } from 'node:stream'
import type { SecureStream } from '../index.ts'
import type { ExitCode } from './exit-codes.ts'
import type { Log } from './log.ts'
import type { Progress } from './progress.ts'
import type { ConnectionInfo } from './secure-net.ts'
import { joinStdio } from './stdio.ts'

export interface StdioHooks {
  log: Log
  progress: Progress
  /** Without -k: no more clients are wanted. */
  stopAccepting: () => void
  /** A session takes Ctrl-C over (goodbye, then exit); between sessions it is the server's again. */
  sessionStarted: () => void
  sessionEnded: () => void
  /** Without -k: the one session ended, with this exit code. */
  done: (code: ExitCode) => void
}

interface Waiting {
  stream: SecureStream
  connection: ConnectionInfo
}

export class StdioSessions {
  readonly #keep: boolean
  readonly #hooks: StdioHooks
  readonly #waiting: Waiting[] = []
  #current: ConnectionInfo | undefined
  #taken = false

  constructor (keep: boolean, hooks: StdioHooks) {
    this.#keep = keep
    this.#hooks = hooks
  }

  /** Without -k, whether the one client has come (handshakes aborted after that were ours). */
  get taken (): boolean {
    return this.#taken
  }

  offer (stream: SecureStream, connection: ConnectionInfo): void {
    const { log } = this.#hooks
    if (!this.#keep) {
      // Two handshakes may finish together; only the first gets stdin/stdout.
      if (this.#taken) {
        log.info(`${connection.label} dropped: stdin/stdout already belong to the first client`)
        stream.abort()
        return
      }
      this.#taken = true
      this.#hooks.stopAccepting()
      this.#hooks.sessionStarted()
      void joinStdio(stream, this.#hooks.progress, log).then(this.#hooks.done)
      return
    }
    if (this.#current !== undefined) {
      log.info(`${connection.label} waits: stdin/stdout belong to ${this.#current.label} until it is done`)
      this.#waiting.push({ stream, connection })
      return
    }
    void this.#serve({ stream, connection })
  }

  /** -k: one session, then the next client waiting, if any. */
  async #serve (next: Waiting | undefined): Promise<void> {
    while (next !== undefined) {
      this.#current = next.connection
      const input = stdinView()
      this.#hooks.sessionStarted()
      try {
        await joinStdio(next.stream, this.#hooks.progress, this.#hooks.log, { input: input.stream, keepProgress: true, label: next.connection.label })
      } finally {
        input.release()
        this.#hooks.sessionEnded()
      }
      this.#hooks.log.verbose(`${next.connection.label} done; listening for the next client`)
      next = this.#waiting.shift()
    }
    this.#current = undefined
  }
}

/** What is left of stdin, for one session; once stdin has ended, an input that ends at once. */
function stdinView (): { stream: Readable, release: () => void } {
  const stdin = process.stdin
  if (stdin.readableEnded || stdin.destroyed) return { stream: Readable.from([]), release: () => {} }
  // A session that fails destroys its input: a view of stdin, so the next client still gets the rest.
  const view = new PassThrough()
  stdin.pipe(view)
  return { stream: view, release: () => { stdin.unpipe(view) } }
}
