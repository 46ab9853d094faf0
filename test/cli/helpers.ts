/**
 * Runs the real `shs` binary (src/cli/main.ts under this Node, so no build is needed) as child
 * processes, and keeps track of them so every test can kill what it started.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { assertNoLeaks, countResources } from '../helpers/resources.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
/** Long enough for a slow CI machine; a wait that runs out fails the test instead of hanging it. */
const WAIT_MS = 15_000

const running = new Set<ShsProcess>()

export class ShsProcess {
  readonly child: ChildProcess
  readonly #stdout: Buffer[] = []
  #stderr = ''
  readonly exited: Promise<number | null>
  #stdoutBytes = 0
  /** Checks to run whenever output arrives or the process ends (see #until). */
  readonly #waiters = new Set<() => void>()

  constructor (args: readonly string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.#stdout.push(chunk)
      this.#stdoutBytes += chunk.byteLength
      for (const waiter of this.#waiters) waiter()
    })
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString('utf8')
      for (const waiter of this.#waiters) waiter()
    })
    // The child may exit before reading all we wrote (that is what some tests check).
    this.child.stdin?.on('error', () => {})
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code) => {
        running.delete(this)
        for (const waiter of this.#waiters) waiter()
        resolve(code)
      })
    })
    running.add(this)
  }

  get stdout (): Buffer {
    return Buffer.concat(this.#stdout)
  }

  get stderr (): string {
    return this.#stderr
  }

  /** Resolves with the first match of `pattern` on stderr; rejects if the process exits or time runs out. */
  async waitForStderr (pattern: RegExp): Promise<RegExpMatchArray> {
    return await this.#until(() => this.#stderr.match(pattern) ?? undefined, `printing ${String(pattern)}`)
  }

  /** Resolves once stdout has carried at least `bytes` bytes; rejects if the process exits or time runs out first. */
  async waitForStdout (bytes: number): Promise<void> {
    await this.#until(() => this.#stdoutBytes >= bytes ? true : undefined, `writing ${bytes} bytes to stdout`)
  }

  /** The first defined result of `probe`, tried now and whenever output arrives. */
  async #until<T> (probe: () => T | undefined, what: string): Promise<T> {
    return await new Promise((resolve, reject) => {
      const check = (): void => {
        const result = probe()
        if (result !== undefined) finish(() => { resolve(result) })
        else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          finish(() => { reject(new Error(`shs exited before ${what}; stderr:\n${this.#stderr}`)) })
        }
      }
      const timer = setTimeout(() => {
        finish(() => { reject(new Error(`shs did not finish ${what} within ${WAIT_MS} ms; stderr:\n${this.#stderr}`)) })
      }, WAIT_MS)
      const finish = (settle: () => void): void => {
        clearTimeout(timer)
        this.#waiters.delete(check)
        settle()
      }
      this.#waiters.add(check)
      check()
    })
  }

  /** The `listening on HOST:PORT` line every server mode prints. */
  async listening (): Promise<{ host: string, port: number, address: string | undefined }> {
    // Up to the end of the line: a chunk boundary must not cut the port or the address short.
    const match = await this.waitForStderr(/listening on (\S+?):(\d+)(?: as (net:\S+))?[,\n]/)
    return { host: match[1] as string, port: Number(match[2]), address: match[3] }
  }

  kill (): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }
}

export interface ShsResult {
  code: number | null
  stdout: Buffer
  stderr: string
}

/** A key file the sandbox made, and the identity it holds. */
export interface KeyFile { path: string, id: string }

export class Sandbox {
  readonly dir: string
  readonly env: NodeJS.ProcessEnv

  private constructor (dir: string) {
    this.dir = dir
    // A private HOME and config dir: the tests never read or write the user's real identity.
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') }
    delete env.SHS_KEYS
    delete env.SHS_PROGRESS
    this.env = env
  }

  static async create (): Promise<Sandbox> {
    return new Sandbox(await mkdtemp(join(tmpdir(), 'shs-cli-test-')))
  }

  path (name: string): string {
    return join(this.dir, name)
  }

  start (args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): ShsProcess {
    return new ShsProcess(args, { ...this.env, ...extraEnv })
  }

  async run (args: readonly string[], input?: Buffer | string, extraEnv: NodeJS.ProcessEnv = {}): Promise<ShsResult> {
    const shs = this.start(args, extraEnv)
    shs.child.stdin?.end(input)
    const code = await shs.exited
    return { code, stdout: shs.stdout, stderr: shs.stderr }
  }

  /** A new identity; returns its key file path and id. */
  async keygen (name: string): Promise<KeyFile> {
    const path = this.path(name)
    const result = await this.run(['keygen', '--out', path])
    if (result.code !== 0) throw new Error(`keygen failed: ${result.stderr}`)
    return { path, id: result.stdout.toString('utf8').trim() }
  }

  /** A server and a client identity (server.secret, client.secret), made at once. */
  async keygenPair (): Promise<[server: KeyFile, client: KeyFile]> {
    return await Promise.all([this.keygen('server.secret'), this.keygen('client.secret')])
  }

  async remove (): Promise<void> {
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** Kills every shs process still running; call from afterEach. */
/**
 * Registers, for every test of the surrounding describe(), a fresh sandbox and a check that the
 * test left no socket, server or timer behind; returns a getter for the current sandbox.
 */
export function useSandbox (): () => Sandbox {
  let sandbox: Sandbox | undefined
  let baseline: Map<string, number>
  beforeEach(async () => {
    // After one turn, so the baseline includes mocha's own timer for this hook (as afterEach will).
    await new Promise((resolve) => setImmediate(resolve))
    baseline = countResources()
    sandbox = await Sandbox.create()
  })
  afterEach(async () => {
    await killAll()
    await sandbox?.remove()
    await assertNoLeaks(baseline)
  })
  return () => {
    if (sandbox === undefined) throw new Error('useSandbox(): the sandbox exists only inside a test')
    return sandbox
  }
}

/** useSandbox(), with a server and a client identity (server.secret, client.secret) made before each test. */
export function useSandboxWithKeys (): { readonly sandbox: Sandbox, readonly server: KeyFile, readonly client: KeyFile } {
  const currentSandbox = useSandbox()
  const current = {} as { sandbox: Sandbox, server: KeyFile, client: KeyFile }
  beforeEach(async () => {
    current.sandbox = currentSandbox()
    ;[current.server, current.client] = await current.sandbox.keygenPair()
  })
  return current
}

export async function killAll (): Promise<void> {
  const left = [...running]
  for (const shs of left) shs.kill()
  await Promise.all(left.map(async (shs) => await shs.exited))
}

export function sha256 (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}
