/**
 * The implementation under test as a process: `sh -c CMD` in its own process group, so that
 * stopping it also stops whatever the shell started (a `node` or `go` child). We observe only
 * what a process shows: its stdout (kept, up to a bound), its stderr (scanned for crash reports,
 * not kept), its exit status, and whether it is still running.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { Changes, waitUntil } from './changes.ts'
import { type CrashLog, type ProcessExit, StderrScanner, describeExit, isCrashExit } from './crash.ts'
import { ECHO_SERVER_HINT } from './hints.ts'

/** The most stdout kept: more than any check sends a client (1 MiB and 256 KiB); past it the pipe is paused. */
export const STDOUT_LIMIT_BYTES = 2 * 1024 * 1024
/** After the exit, how long its output may take to drain (a child it left behind may hold the pipes). */
const OUTPUT_DRAIN_MS = 2000
/** What sh reports for a command it could not start at all. */
const NOT_STARTED_STATUS = 127

export interface PeerProcessOptions {
  /** Keep stdout to judge it (a client); a server's is discarded. */
  readonly keepStdout: boolean
  /** The process's stderr as it comes (default: only scanned). */
  readonly onStderr?: ((chunk: Uint8Array) => void) | undefined
  /** Where crash reports on stderr, and a crash exit that we did not cause, are recorded. */
  readonly crashes: CrashLog
  /**
   * A server must never exit on its own: any exit we did not cause is recorded, a non-zero one
   * as a crash, status 0 (a server that serves one client and stops) with the way to fix it.
   */
  readonly server?: boolean
}

/** For a server that exited with status 0 by itself. */
const KEEP_SERVING = `exited with status 0: a server under test must keep serving every client (${ECHO_SERVER_HINT})`

export class PeerProcess {
  readonly #child: ChildProcess
  readonly #stdout: Buffer[] = []
  #stdoutLength = 0
  #stdoutOverflow = false
  #exit: ProcessExit | undefined
  #stoppedByUs = false
  #stdinError: Error | undefined
  /** The exit, once the process ended and its output was read (or OUTPUT_DRAIN_MS passed). */
  readonly exited: Promise<ProcessExit>
  /** Notified on every chunk of stdout and on the exit. */
  readonly changes = new Changes()

  constructor (command: string, env: NodeJS.ProcessEnv, options: PeerProcessOptions) {
    this.#child = spawn('sh', ['-c', command], { env, detached: true, stdio: ['pipe', options.keepStdout ? 'pipe' : 'ignore', 'pipe'] })
    this.#child.stdout?.on('data', (chunk: Buffer) => { this.#keep(chunk) })
    const scanner = new StderrScanner((evidence) => { options.crashes.add(evidence) })
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      scanner.feed(chunk)
      options.onStderr?.(chunk)
    })
    this.#child.stderr?.on('end', () => { scanner.end() })
    // The command may exit before it reads its input: that is its business; kept for the curious.
    this.#child.stdin?.on('error', (err) => { this.#stdinError = err })
    this.exited = new Promise((resolve) => {
      let drain: NodeJS.Timeout | undefined
      const settle = (exit: ProcessExit): void => {
        clearTimeout(drain)
        if (this.#exit !== undefined) return
        this.#exit = exit
        if (!this.#stoppedByUs) {
          if (isCrashExit(exit) || (options.server === true && exit.code !== 0)) options.crashes.add({ crash: true, what: describeExit(exit) })
          else if (options.server === true) options.crashes.add({ crash: false, what: KEEP_SERVING })
        }
        resolve(exit)
        this.changes.notify()
      }
      this.#child.once('exit', (code, signal) => {
        drain = setTimeout(() => { settle({ code, signal }) }, OUTPUT_DRAIN_MS)
        this.#child.once('close', () => { settle({ code, signal }) })
      })
      this.#child.once('error', () => { settle({ code: NOT_STARTED_STATUS, signal: null }) })
    })
  }

  /** What it printed, up to STDOUT_LIMIT_BYTES. */
  get stdout (): Buffer {
    return Buffer.concat(this.#stdout, this.#stdoutLength)
  }

  get stdoutLength (): number {
    return this.#stdoutLength
  }

  /** It printed more than STDOUT_LIMIT_BYTES (the rest was not read). */
  get stdoutOverflow (): boolean {
    return this.#stdoutOverflow
  }

  /** Undefined while it runs. */
  get exit (): ProcessExit | undefined {
    return this.#exit
  }

  /** Why writing its stdin failed (it exited before reading it all), if it did. */
  get stdinError (): Error | undefined {
    return this.#stdinError
  }

  writeStdin (bytes: Uint8Array): void {
    if (this.#child.stdin?.writable === true) this.#child.stdin.write(bytes)
  }

  endStdin (): void {
    this.#child.stdin?.end()
  }

  /** Resolves with the exit, or undefined if the process still runs after `ms`. */
  async waitForExit (ms: number): Promise<ProcessExit | undefined> {
    await waitUntil([this.changes], () => this.#exit !== undefined, ms)
    return this.#exit
  }

  /** Stops the whole process group (an exit we cause is no crash) and waits for the exit. */
  async stop (): Promise<void> {
    if (this.#child.pid !== undefined) {
      if (this.#child.exitCode === null && this.#child.signalCode === null) this.#stoppedByUs = true
      try {
        // The whole group, even after sh exited: what it started in the background goes too.
        process.kill(-this.#child.pid, 'SIGKILL')
      } catch (err) {
        // ESRCH: the group is already gone.
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
      }
    }
    await this.exited
    this.#child.stdout?.destroy()
    this.#child.stderr?.destroy()
    this.#child.stdin?.destroy()
  }

  #keep (chunk: Buffer): void {
    const room = STDOUT_LIMIT_BYTES - this.#stdoutLength
    if (chunk.byteLength > room) {
      this.#stdoutOverflow = true
      this.#child.stdout?.pause()
    }
    const kept = chunk.subarray(0, Math.max(0, room))
    this.#stdout.push(kept)
    this.#stdoutLength += kept.byteLength
    this.changes.notify()
  }
}
