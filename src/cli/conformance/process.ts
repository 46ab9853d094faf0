/**
 * The implementation under test as a process: `sh -c CMD` in its own process group, so that
 * stopping it also stops whatever the shell started (a `node` or `go` child). We observe only
 * what a process shows: its stdout, its exit status, and whether it is still running.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'

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

  constructor (command: string, env: NodeJS.ProcessEnv, options: { stdout: boolean }) {
    this.#child = spawn('sh', ['-c', command], {
      env, detached: true, stdio: ['pipe', options.stdout ? 'pipe' : 'ignore', 'ignore']
    })
    this.#child.stdout?.on('data', (chunk: Buffer) => { this.#stdout.push(chunk) })
    // The command may exit before it reads its input: that is its business, not an error of ours.
    this.#child.stdin?.on('error', () => {})
    this.exited = new Promise((resolve) => {
      const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.#exit ??= { code, signal, at: performance.now() }
        resolve(this.#exit)
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
    if (this.#exit !== undefined) return this.#exit
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => { resolve(undefined) }, ms) })
    try {
      return await Promise.race([this.exited, timeout])
    } finally {
      clearTimeout(timer)
    }
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

/** How a process ended, in words; a signal is a crash (or our own kill). */
export function describeExit (exit: ProcessExit): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with status ${String(exit.code)}`
}

/** A crash is death by a signal we did not send: SIGSEGV, SIGABRT and the like. */
export function isCrash (exit: ProcessExit): boolean {
  return exit.signal !== null
}
