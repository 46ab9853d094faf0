/**
 * The server under test: at an address someone else runs (TCP or WebSocket), or started by us
 * from a command (once, and again after it exited). Either way the checks only open connections
 * to it; only a command we started can also show its crashes (its exit, its stderr).
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { KeyPair } from '../crypto/keys.ts'
import { formatHostPort } from '../net/address.ts'
import { formatId } from '../ssb/id.ts'
import type { ShsEndpoint } from '../ssb/endpoint.ts'
import { CrashLog, describeExit } from './crash.ts'
import { type KeysFolder, LOOPBACK, commandEnvironment } from './environment.ts'
import { ConformanceError, PeerConnectError } from './errors.ts'
import { PeerProcess } from './process.ts'
import type { RawConnection } from './wire/connection.ts'
import { openTcp } from './wire/tcp.ts'
import { type TrustedCa, openWebSocket } from './wire/ws.ts'

/** Between two tries to connect to a server that is starting: short, and bounded by the start timeout. */
const START_POLL_MS = 25

export interface ServerTarget {
  /** The server, in words, for the report. */
  readonly label: string
  /** The key the server must prove it holds. */
  readonly serverKey: Uint8Array
  /** Crash reports and exits of a server we started; always empty for one we did not. */
  readonly crashes: CrashLog
  /** Whether we started it (so an exit shows as one, not as a refused connection). */
  readonly started: boolean
  /** Connections opened so far. */
  readonly opened: number
  /** How many times we started it (0 for a server at an address); more than once means it exited. */
  readonly starts: number
  open: (timeout: number) => Promise<RawConnection>
  /** Waits up to `ms` for a server we started to exit (one that stopped answering may be dying); at once otherwise. */
  waitForExit: (ms: number) => Promise<void>
  /** Starts again a server we started that has exited; nothing otherwise. */
  ensureRunning: () => Promise<void>
  close: () => Promise<void>
}

export function addressTarget (endpoint: ShsEndpoint, ca: TrustedCa | undefined): ServerTarget {
  let opened = 0
  const where = endpoint.transport === 'ws' ? endpoint.url : formatHostPort(endpoint)
  return {
    label: `${where} (${formatId(endpoint.remotePublicKey)})`,
    serverKey: endpoint.remotePublicKey,
    crashes: new CrashLog(),
    started: false,
    starts: 0,
    get opened () { return opened },
    open: async (timeout) => {
      const connection = endpoint.transport === 'ws' ? await openWebSocket(endpoint.url, timeout, ca) : await openTcp(endpoint, timeout)
      opened++
      return connection
    },
    waitForExit: async () => {},
    ensureRunning: async () => {},
    close: async () => {}
  }
}

async function freePort (): Promise<number> {
  const probe = net.createServer()
  await new Promise<void>((resolve, reject) => { probe.once('error', reject); probe.listen(0, LOOPBACK, resolve) })
  const { port } = probe.address() as net.AddressInfo
  await new Promise((resolve) => { probe.close(resolve) })
  return port
}

export interface CommandTargetOptions {
  readonly startTimeout: number
  readonly onStderr: ((chunk: Uint8Array) => void) | undefined
}

export class CommandTarget implements ServerTarget {
  readonly label: string
  readonly serverKey: Uint8Array
  readonly crashes = new CrashLog()
  readonly started = true
  readonly #command: string
  readonly #port: number
  readonly #env: NodeJS.ProcessEnv
  readonly #options: CommandTargetOptions
  #process: PeerProcess | undefined
  #starting: Promise<void> | undefined
  /** The connection that showed the server listens, kept for the next open(): closing it unused would look like a client hanging up. */
  #ready: RawConnection | undefined
  #opened = 0
  /** How many times it was started; more than one means it exited. */
  starts = 0

  private constructor (command: string, port: number, keys: KeyPair, env: NodeJS.ProcessEnv, options: CommandTargetOptions) {
    this.#command = command
    this.#port = port
    this.#env = env
    this.#options = options
    this.serverKey = keys.publicKey
    this.label = `${command} (on ${formatHostPort({ host: LOOPBACK, port })})`
  }

  /** `keys` are the server's: it gets them in its environment. */
  static async start (command: string, keys: KeyPair, networkKey: Uint8Array, folder: KeysFolder, options: CommandTargetOptions): Promise<CommandTarget> {
    const port = await freePort()
    const env = commandEnvironment({ port, keys, serverKey: keys.publicKey, networkKey }, await folder.write(keys))
    const target = new CommandTarget(command, port, keys, env, options)
    await target.ensureRunning()
    return target
  }

  get opened (): number {
    return this.#opened
  }

  async open (timeout: number): Promise<RawConnection> {
    const ready = this.#ready
    this.#ready = undefined
    const connection = ready !== undefined && !ready.hungUp ? ready : await openTcp({ host: LOOPBACK, port: this.#port }, timeout)
    this.#opened++
    return connection
  }

  async waitForExit (ms: number): Promise<void> {
    await this.#process?.waitForExit(ms)
  }

  /** Checks running side by side may all find it dead: they share one restart. */
  async ensureRunning (): Promise<void> {
    this.#starting ??= this.#restart().finally(() => { this.#starting = undefined })
    await this.#starting
  }

  async #restart (): Promise<void> {
    if (this.#process !== undefined && this.#process.exit === undefined) return
    await this.#process?.stop()
    this.#process = new PeerProcess(this.#command, this.#env, { keepStdout: false, onStderr: this.#options.onStderr, crashes: this.crashes, server: true })
    this.starts++
    await this.#waitUntilListening(this.#process)
  }

  async #waitUntilListening (server: PeerProcess): Promise<void> {
    const hint = 'check that it listens on $SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT'
    const deadline = performance.now() + this.#options.startTimeout
    while (performance.now() < deadline) {
      if (server.exit !== undefined) {
        throw new ConformanceError('ERR_CONFORMANCE_START', `the server command ${describeExit(server.exit)} before it accepted a connection on port ${this.#port}: ${hint}`)
      }
      try {
        this.#ready?.close()
        this.#ready = await openTcp({ host: LOOPBACK, port: this.#port }, Math.max(1, deadline - performance.now()))
        return
      } catch (err) {
        if (!(err instanceof PeerConnectError)) throw err
        await sleep(START_POLL_MS)
      }
    }
    await server.stop()
    throw new ConformanceError('ERR_CONFORMANCE_START', `the server command did not accept connections on port ${this.#port} within ${this.#options.startTimeout} ms: ${hint}`)
  }

  async close (): Promise<void> {
    this.#ready?.close()
    await this.#process?.stop()
  }
}
