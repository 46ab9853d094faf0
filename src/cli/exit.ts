/** Leaving the process: flush what we wrote, then exit with a documented code. */
import { EXIT, type ExitCode } from './exit-codes.ts'

/**
 * process.exit() right after a write could cut output still queued for a slow pipe; an empty
 * write's callback runs once everything before it is flushed.
 */
export async function flushAndExit (code: number): Promise<never> {
  await Promise.all([flush(process.stdout), flush(process.stderr)])
  process.exit(code)
}

function flush (stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) {
      resolve()
      return
    }
    stream.write('', () => { resolve() })
  })
}

export type Cleanup = () => void

export type StopSignal = 'SIGINT' | 'SIGTERM'

export const SIGNAL_EXIT: Readonly<Record<StopSignal, ExitCode>> = {
  SIGINT: EXIT.INTERRUPTED,
  SIGTERM: EXIT.TERMINATED
}

/**
 * Long-running commands (servers, tunnels) stop on Ctrl-C or SIGTERM: `cleanup` closes what they
 * own (child processes, sockets, the progress line) before we exit with 128 + signal number.
 */
export function exitOnSignal (cleanup: Cleanup): () => void {
  return onStopSignals((signal, stop) => {
    stop()
    cleanup()
    void flushAndExit(SIGNAL_EXIT[signal])
  })
}

/**
 * Calls `handler` on every SIGINT and SIGTERM (Node then no longer exits by itself) until the
 * returned function, also passed to the handler, removes it.
 */
export function onStopSignals (handler: (signal: StopSignal, stop: () => void) => void): () => void {
  const listeners = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const listener = (): void => { handler(signal, stop) }
    process.on(signal, listener)
    return { signal, listener }
  })
  function stop (): void {
    for (const { signal, listener } of listeners) process.off(signal, listener)
  }
  return stop
}
