/** The `nc` mode of listen and connect: one secure stream on stdin/stdout. */
import type { Readable } from 'node:stream'
import type { SecureStream } from '../index.ts'
import { type Failure, describeFailure, type FailureContext } from './errors/format.ts'
import { EXIT, type ExitCode } from './exit-codes.ts'
import { SIGNAL_EXIT, flushAndExit, onStopSignals } from './exit.ts'
import type { Log } from './log.ts'
import { join } from './pipe.ts'
import type { Progress } from './progress.ts'
import { describeRekeys } from './rekey.ts'

export interface StdioOptions {
  context?: FailureContext
  /** What to send instead of process.stdin itself (`listen -k` hands each client a view of it). */
  input?: Readable
  /** Leave the progress line running afterwards, for the next session (`listen -k`). */
  keepProgress?: boolean
  /** Names the session in the failure line (`#N`), when there are several. */
  label?: string
}

/**
 * Resolves (never rejects) once both directions ended, with the exit code; failures are reported
 * here. The first SIGINT or SIGTERM ends the session the way `nc` users expect Ctrl-C to: what
 * stdin gave so far is sent, then goodbye, and we exit 0 (at once if stdin had already ended).
 * A second one aborts at once (exit 130 or 143): the peer then sees a truncation.
 */
export async function joinStdio (stream: SecureStream, progress: Progress, log: Log, options: StdioOptions = {}): Promise<ExitCode> {
  const { context = {}, input = process.stdin } = options
  const timer = log.timer('stdio')
  const stopInput = new AbortController()
  let sent = false
  let interrupted = false
  const exitOk = (): void => {
    progress.stop()
    void flushAndExit(EXIT.OK)
  }
  const removeSignals = onStopSignals((signal) => {
    if (interrupted) {
      log.info(`${signal} again: aborting the connection without goodbye`)
      stream.abort()
      progress.stop()
      void flushAndExit(SIGNAL_EXIT[signal])
      return
    }
    interrupted = true
    if (sent) {
      timer.stage(`${signal}: our goodbye was already sent; exiting`)
      exitOk()
      return
    }
    log.info(`${signal}: sending goodbye, then exiting (again to abort at once)`)
    stopInput.abort()
  })
  // The progress line (and its clock) starts with the stream, not with the command.
  progress.connectionOpened()
  try {
    await join(stream, input, process.stdout, {
      // stdout belongs to the process, which may still print; it is flushed at exit.
      endOutput: false,
      traffic: progress,
      onOutputError: (err) => { log.verbose(`stdout closed (${err.code ?? err.message}); discarding the rest of what arrives`) },
      stopInput: stopInput.signal,
      onSent: () => {
        sent = true
        if (interrupted) exitOk()
      }
    })
    timer.stage('both directions ended with goodbye')
    return EXIT.OK
  } catch (err) {
    const failure = streamFailure(err, context)
    log.info(options.label === undefined ? failure.message : `${options.label} ${failure.message}`)
    return failure.exitCode
  } finally {
    const rekeys = describeRekeys(stream)
    if (rekeys !== undefined) timer.stage(rekeys)
    removeSignals()
    progress.connectionClosed()
    if (options.keepProgress !== true) progress.stop()
  }
}

/**
 * Once the handshake is done, a reset and a FIN without goodbye are the same event for the user
 * (the peer vanished; what arrived may be incomplete), and which one the kernel reports depends
 * on timing. Both get the stream exit code, not the network one.
 */
export function streamFailure (err: unknown, context: FailureContext = {}): Failure {
  const failure = describeFailure(err, context)
  if (failure.exitCode !== EXIT.NETWORK) return failure
  return { exitCode: EXIT.STREAM, message: `the secure stream was cut off, so what arrived may be incomplete: ${failure.message}` }
}
