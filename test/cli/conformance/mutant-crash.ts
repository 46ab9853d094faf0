/**
 * The ways a mutant peer crashes on a bad message, as real implementations do: an uncaught
 * exception, a signal, an abort, a Rust panic's exit status, or a crash report on stderr while
 * the process lives on (a panicking thread or task, a logged traceback).
 */
export const CRASH_FLAWS = [
  'crash-on-bad-message', 'segv-on-bad-message', 'abort-on-bad-message', 'exit-101-on-bad-message',
  'panic-print-on-bad-message', 'traceback-on-bad-message'
] as const
export type CrashFlaw = typeof CRASH_FLAWS[number]

const RUST_PANIC_STATUS = 101

/** What a tokio task that panics prints (the process goes on). */
export const RUST_PANIC = "thread 'tokio-runtime-worker' panicked at src/handshake.rs:88:14:\ncalled `Result::unwrap()` on an `Err` value: BadMessage\n" +
  'note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n'

const PYTHON_TRACEBACK = 'Traceback (most recent call last):\n  File "peer.py", line 12, in handle\n    await handshake(reader, writer)\n' +
  'peer.HandshakeError: bad handshake message\n'

/** Crashes the way `flaw` says; returns true for the flaws that print a report and live on (stderr on a pipe is written at once). */
export function crash (flaw: CrashFlaw): boolean {
  switch (flaw) {
    case 'crash-on-bad-message':
      // An exception nobody catches: the process dies, as a careless one would.
      setImmediate(() => { throw new Error('mutant crashed on a bad message') })
      return false
    case 'segv-on-bad-message':
      process.kill(process.pid, 'SIGSEGV')
      return false
    case 'abort-on-bad-message':
      return process.abort()
    case 'exit-101-on-bad-message':
      return process.exit(RUST_PANIC_STATUS)
    case 'panic-print-on-bad-message':
      process.stderr.write(RUST_PANIC)
      return true
    case 'traceback-on-bad-message':
      process.stderr.write(PYTHON_TRACEBACK)
      return true
  }
}

/** Kuska's reader on a header announcing more than 4096 bytes: a panic, and the process exits 101. */
export function panicOnOversized (length: number): never {
  process.stderr.write(`thread 'main' panicked at src/boxstream.rs:61:13:\nbody of ${length} bytes is longer than the 4096 a packet holds\n`)
  process.exit(RUST_PANIC_STATUS)
}
