/**
 * What a black box shows when it crashed: death by a signal, a panic or abort status, or a crash
 * report on stderr (a panic, a traceback, an uncaught exception), which a peer that dies in one
 * thread or task prints while the process lives on. Evidence goes to a CrashLog, which the runner
 * reads per check, so the check that caused a crash is the one reported as a CRASH.
 */
import os from 'node:os'

export interface ProcessExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface Evidence {
  /** A crash (CRASH), or an exit that is only a failure (a server that exited with status 0). */
  readonly crash: boolean
  /** What the process did, in words: "was killed by SIGSEGV", "printed a Go panic on stderr (…)". */
  readonly what: string
  /**
   * Printed late, when the failed task was garbage-collected (asyncio's "Task exception was never
   * retrieved"), so it cannot be blamed on the check running at the time.
   */
  readonly deferred?: boolean
}

/** Signals that mean a crash (or the kernel's OOM killer), never a deliberate exit. */
const CRASH_SIGNALS: readonly NodeJS.Signals[] = ['SIGSEGV', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGTRAP', 'SIGSYS', 'SIGKILL']
/** A shell reports death by signal N as exit status 128 + N. */
const SHELL_SIGNAL_BASE = 128
/** The exit status of a Rust program whose main thread panicked. */
const RUST_PANIC_STATUS = 101

function shellSignal (code: number | null): NodeJS.Signals | undefined {
  if (code === null || code <= SHELL_SIGNAL_BASE) return undefined
  return CRASH_SIGNALS.find((signal) => os.constants.signals[signal] === code - SHELL_SIGNAL_BASE)
}

/** How a process ended, in words. */
export function describeExit (exit: ProcessExit): string {
  if (exit.signal !== null) return `was killed by ${exit.signal}`
  if (exit.code === RUST_PANIC_STATUS) return `exited with status ${RUST_PANIC_STATUS} (the status of a Rust panic)`
  const signal = shellSignal(exit.code)
  return `exited with status ${String(exit.code)}${signal === undefined ? '' : ` (death by ${signal}, as the shell reports it)`}`
}

/** Death by SIGSEGV, SIGABRT and the like (directly or as the shell reports it), or a panic status. */
export function isCrashExit (exit: ProcessExit): boolean {
  if (exit.signal !== null) return CRASH_SIGNALS.includes(exit.signal)
  return exit.code === RUST_PANIC_STATUS || shellSignal(exit.code) !== undefined
}

/** The most evidence kept at once; older entries go first (each is a short sentence). */
const MAX_ENTRIES = 256

/** Evidence in the order it came, numbered, so a runner can ask for what came since a mark. */
export class CrashLog {
  readonly #entries: Array<{ readonly seq: number, readonly evidence: Evidence }> = []
  #count = 0

  add (evidence: Evidence): void {
    this.#entries.push({ seq: this.#count++, evidence })
    if (this.#entries.length > MAX_ENTRIES) this.#entries.shift()
  }

  mark (): number {
    return this.#count
  }

  since (mark: number): Evidence[] {
    return this.between(mark, this.#count)
  }

  between (from: number, to: number): Evidence[] {
    return this.#entries.filter((entry) => entry.seq >= from && entry.seq < to).map((entry) => entry.evidence)
  }
}

interface Signature {
  readonly name: string
  readonly pattern: RegExp
  /** The line that says what went wrong, once the report is complete; the matching line by default. */
  readonly detail?: (lines: readonly string[]) => string | undefined
}

/** Node prints the error line above the stack, and its version line last. */
function nodeError (lines: readonly string[]): string | undefined {
  return [...lines].reverse().find((line) => /^(Uncaught )?[\w.$]*(Error|Exception)\b/.test(line))
}

const SIGNATURES: readonly Signature[] = [
  { name: 'a Rust panic', pattern: /^thread '.*' panicked at/ },
  { name: 'a Go panic', pattern: /^(panic|fatal error): / },
  { name: 'an uncaught JavaScript exception', pattern: /^Node\.js v\d+\.\d+\.\d+$/, detail: nodeError },
  { name: 'a Java exception', pattern: /^Exception in thread "/ },
  { name: 'a sanitizer report', pattern: /^==\d+==ERROR: \w*Sanitizer/ },
  { name: 'stack smashing', pattern: /^\*\*\* stack smashing detected \*\*\*/ }
]

const PYTHON_TRACEBACK = /^Traceback \(most recent call last\):$/
/** asyncio prints it, a `future:` line, then the traceback, when a task whose exception nobody read is collected. */
const ASYNCIO_LATE_REPORT = 'Task exception was never retrieved'
const MAX_NESTED_TRACEBACKS = 4

/** Lines kept to find a report's detail, and the longest line kept (the rest is cut off). */
const WINDOW_LINES = 40
const MAX_LINE_CHARS = 400

/**
 * Reads a process's stderr as it comes, line by line, in bounded memory, and reports each crash
 * report once. A Python traceback is reported at its last line, the exception it names (each of a
 * chain on its own); asyncio's
 * late report of another task may be printed in the middle of one (the garbage collector runs
 * it whenever it likes), so tracebacks nest, a few deep at most.
 */
export class StderrScanner {
  readonly #report: (evidence: Evidence) => void
  readonly #decoder = new TextDecoder()
  readonly #window: string[] = []
  #partial = ''
  /** The tracebacks open now, innermost last: each is late (asyncio's) or not. */
  readonly #tracebacks: Array<{ readonly deferred: boolean }> = []
  /** The next traceback is asyncio's late report of a task that failed earlier. */
  #lateNext = false

  constructor (report: (evidence: Evidence) => void) {
    this.#report = report
  }

  feed (chunk: Uint8Array): void {
    const lines = (this.#partial + this.#decoder.decode(chunk, { stream: true })).split('\n')
    this.#partial = (lines.pop() as string).slice(0, MAX_LINE_CHARS)
    for (const line of lines) this.#line(line.replace(/\r$/, '').slice(0, MAX_LINE_CHARS))
  }

  /** The end of stderr: a report cut short is reported as it is. */
  end (): void {
    if (this.#partial !== '') this.#line(this.#partial)
    this.#partial = ''
    while (this.#tracebacks.length > 0) this.#endTraceback(undefined)
  }

  #line (line: string): void {
    this.#window.push(line)
    if (this.#window.length > WINDOW_LINES) this.#window.shift()
    if (line === ASYNCIO_LATE_REPORT) {
      this.#lateNext = true
      return
    }
    if (this.#lateNext && line.startsWith('future: ')) return
    if (PYTHON_TRACEBACK.test(line)) {
      if (this.#tracebacks.length < MAX_NESTED_TRACEBACKS) this.#tracebacks.push({ deferred: this.#lateNext })
      this.#lateNext = false
      return
    }
    if (this.#tracebacks.length > 0) {
      // Frames are indented; the first line that is not ends the report (and names the exception).
      if (/^\s/.test(line) || line === '') return
      this.#endTraceback(line)
      return
    }
    const signature = SIGNATURES.find((candidate) => candidate.pattern.test(line))
    if (signature !== undefined) this.#found(signature.name, signature.detail === undefined ? line : signature.detail(this.#window))
  }

  #endTraceback (detail: string | undefined): void {
    const traceback = this.#tracebacks.pop()
    if (traceback !== undefined) this.#found('a Python traceback', detail, traceback.deferred)
  }

  #found (name: string, detail: string | undefined, deferred = false): void {
    const what = `printed ${name} on stderr${detail === undefined ? '' : ` (${detail.trim()})`}`
    this.#report(deferred ? { crash: true, what, deferred } : { crash: true, what })
  }
}
