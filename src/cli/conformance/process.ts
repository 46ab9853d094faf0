/**
 * The implementation under test as a process: `sh -c CMD` in its own process group, so that
 * stopping it also stops whatever the shell started (a `node` or `go` child). We observe only
 * what a process shows: its stdout, its exit status, and whether it is still running.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { Changes, waitUntil } from './changes.ts'

export interface ProcessExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  /** performance.now() when it exited. */
  readonly at: number
}

export class ClientProcess {
  readonly #child: ChildProcess
  readonly #stdout: Buffer[] = []
  #exit: ProcessExit | undefined
  readonly exited: Promise<ProcessExit>
  /** Notified on every chunk of stdout and on the exit. */
  readonly changes = new Changes()

  /** `stdout`: keep it to judge (a client); `stderr`: pass it through to ours (with --verbose). */
  constructor (command: string, env: NodeJS.ProcessEnv, options: { stdout: boolean, stderr: boolean }) {
    this.#child = spawn('sh', ['-c', command], {
      env, detached: true, stdio: ['pipe', options.stdout ? 'pipe' : 'ignore', options.stderr ? 'inherit' : 'ignore']
    })
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      this.#stdout.push(chunk)
      this.changes.notify()
    })
    // The command may exit before it reads its input: that is its business, not an error of ours.
    this.#child.stdin?.on('error', () => {})
    this.exited = new Promise((resolve) => {
      const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.#exit ??= { code, signal, at: performance.now() }
        resolve(this.#exit)
        this.changes.notify()
      }
      this.#child.once('exit', settle)
      // A command that cannot be started at all (no sh) counts as exit 127, as sh reports it.
      this.#child.once('error', () => { settle(127, null) })
    })
  }

  get stdout (): Buffer {
    return Buffer.concat(this.#stdout)
  }

  /** Undefined while it runs. */
  get exit (): ProcessExit | undefined {
    return this.#exit
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

  /** Stops the whole process group and waits for the exit. */
  async stop (): Promise<void> {
    if (this.#exit === undefined && this.#child.pid !== undefined) {
      try {
        process.kill(-this.#child.pid, 'SIGKILL')
      } catch (err) {
        // ESRCH: the group is already gone, between our check and the kill.
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
      }
    }
    await this.exited
    this.#child.stdout?.destroy()
    this.#child.stdin?.destroy()
  }
}

/**
 * Signals that mean a crash (or the kernel's OOM killer), never a deliberate exit. A shell that
 * ran the command reports them as exit status 128 + the signal's number.
 */
const CRASH_SIGNALS: readonly NodeJS.Signals[] = ['SIGSEGV', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGTRAP', 'SIGSYS', 'SIGKILL']
const SHELL_SIGNAL_BASE = 128

function crashSignal (exit: ProcessExit): NodeJS.Signals | undefined {
  if (exit.signal !== null) return CRASH_SIGNALS.includes(exit.signal) ? exit.signal : undefined
  if (exit.code === null || exit.code <= SHELL_SIGNAL_BASE) return undefined
  return CRASH_SIGNALS.find((signal) => os.constants.signals[signal] === (exit.code as number) - SHELL_SIGNAL_BASE)
}

/** How a process ended, in words. */
export function describeExit (exit: ProcessExit): string {
  if (exit.signal !== null) return `was killed by ${exit.signal}`
  const signal = crashSignal(exit)
  return `exited with status ${String(exit.code)}${signal === undefined ? '' : ` (death by ${signal}, as the shell reports it)`}`
}

/** A crash: death by SIGSEGV, SIGABRT and the like, directly or as the shell reports it. */
export function isCrash (exit: ProcessExit): boolean {
  return crashSignal(exit) !== undefined
}
