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

const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', ExitCode>> = {
  SIGINT: EXIT.INTERRUPTED,
  SIGTERM: EXIT.TERMINATED
}

/**
 * Long-running commands (servers, tunnels) stop on Ctrl-C or SIGTERM: `cleanup` closes what they
 * own (child processes, sockets, the progress line) before we exit with 128 + signal number.
 */
export function exitOnSignal (cleanup: Cleanup): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup()
      void flushAndExit(SIGNAL_EXIT[signal])
    })
  }
}
