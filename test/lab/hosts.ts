/**
 * The test's half of the lab's IPC: starts a role (a program under test/lab/roles/) inside one
 * of the lab's namespaces with `ip netns exec`, and calls its operations. Every call is bounded
 * in time; `stop` ends the role, and kills it if it does not end in time. The namespaces come
 * from test/lab/run.sh, which names them in SHS_LAB_PREFIX.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Reply, deadline } from './roles/serve.ts'

const ROLES = join(dirname(fileURLToPath(import.meta.url)), 'roles')
/** The namespaces of test/lab/net.sh. */
export type HostName = 'pub' | 'h1' | 'h1b' | 'h2' | 'line' | 'far'

const START_LIMIT_MS = 20_000
const CALL_LIMIT_MS = 30_000
const STOP_LIMIT_MS = 5_000
/** The end of a role's stderr kept for error messages. */
const STDERR_TAIL = 4000

export function labPrefix (): string {
  const prefix = process.env.SHS_LAB_PREFIX
  if (prefix === undefined || prefix === '') throw new Error('SHS_LAB_PREFIX is not set: the lab tests run through `npm run test:lab` (test/lab/run.sh), which builds the namespaces')
  return prefix
}

export function namespace (host: HostName): string {
  return `${labPrefix()}-${host}`
}

export class LabHost {
  readonly name: string
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (value: unknown) => void, reject: (err: Error) => void }>()
  #nextId = 0
  #stderr = ''
  readonly #exited: Promise<void>

  private constructor (name: string, child: ChildProcess) {
    this.name = name
    this.#child = child
    child.stderr?.on('data', (chunk: Buffer) => {
      if (process.env.SHS_LAB_VERBOSE !== undefined) process.stderr.write(`[${name}] ${chunk.toString()}`)
      this.#stderr = (this.#stderr + chunk.toString()).slice(-STDERR_TAIL)
    })
    child.on('message', (reply: Reply) => {
      const waiting = this.#pending.get(reply.id)
      if (waiting === undefined) return
      this.#pending.delete(reply.id)
      if ('error' in reply) waiting.reject(new Error(`${name}: ${reply.error}`))
      else waiting.resolve(reply.result)
    })
    this.#exited = new Promise((resolve) => {
      const ended = (why: string): void => {
        for (const waiting of this.#pending.values()) waiting.reject(this.#failure(`${why} while a call was open`))
        this.#pending.clear()
        resolve()
      }
      child.once('exit', (code, signal) => { ended(`exited (${signal ?? code})`) })
      child.once('error', (err) => { this.#stderr += `\n${err.message}`; ended('could not be started') })
    })
  }

  /** Starts `role` (a file in roles/) in `host`'s namespace; resolves with what it sent as ready. */
  static async start<T> (host: HostName, role: string, config: unknown, label: string = `${role}@${host}`): Promise<{ host: LabHost, ready: T }> {
    const child = spawn('ip', ['netns', 'exec', namespace(host), process.execPath, '--conditions=shs-source', join(ROLES, role), JSON.stringify(config)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc']
    })
    const started = new LabHost(label, child)
    const ready = new Promise<T>((resolve, reject) => {
      const onMessage = (message: { ready: T }): void => { child.off('message', onMessage); resolve(message.ready) }
      child.on('message', onMessage)
      void started.#exited.then(() => { child.off('message', onMessage); reject(started.#failure('ended before it was ready')) })
    })
    try {
      return { host: started, ready: await started.#bounded(ready, START_LIMIT_MS, 'start') }
    } catch (err) {
      await started.stop()
      throw err
    }
  }

  /** Calls `op` on the role; rejects with the role's error, or after `limitMs`. */
  async call<T> (op: string, args?: unknown, limitMs = CALL_LIMIT_MS): Promise<T> {
    const id = this.#nextId++
    const answer = new Promise<unknown>((resolve, reject) => { this.#pending.set(id, { resolve, reject }) })
    if (!this.#child.connected) throw this.#failure(`is gone; cannot call ${op}`)
    this.#child.send({ id, op, args })
    return await this.#bounded(answer, limitMs, op) as T
  }

  /** Asks the role to clean up and end; kills it if it has not within a few seconds. Never throws. */
  async stop (): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return
    if (this.#child.connected) {
      await this.call('stop', undefined, STOP_LIMIT_MS).catch((err: Error) => { process.stderr.write(`lab: ${err.message}\n`) })
    }
    const killed = setTimeout(() => { this.#child.kill('SIGKILL') }, STOP_LIMIT_MS)
    await this.#exited
    clearTimeout(killed)
  }

  async #bounded<T> (work: Promise<T>, limitMs: number, what: string): Promise<T> {
    return await deadline(limitMs, work, () => this.#failure(`did not answer ${what} within ${limitMs} ms`))
  }

  #failure (what: string): Error {
    return new Error(`lab role ${this.name} ${what}${this.#stderr === '' ? '' : `; its stderr ends:\n${this.#stderr}`}`)
  }
}

/** The roles one test file started, to stop together in its after() hook. */
export class Roles {
  readonly #started: LabHost[] = []

  async start<T> (host: HostName, role: string, config: unknown): Promise<{ host: LabHost, ready: T }> {
    const started = await LabHost.start<T>(host, role, config)
    this.#started.push(started.host)
    return started
  }

  async stopAll (): Promise<void> {
    await Promise.all(this.#started.splice(0).map(async (host) => { await host.stop() }))
  }
}
