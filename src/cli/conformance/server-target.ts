/**
 * The server under test: at an address someone else runs, or started by us from a command (once,
 * and again after it crashed). Either way the checks only open connections to it; only a
 * command we started can also tell us that it exited.
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { KeyPair } from '../../index.ts'
import type { RemoteAddress } from '../address.ts'
import { CliError } from '../errors/cli-error.ts'
import { EXIT } from '../exit-codes.ts'
import { type KeysFolder, commandEnvironment } from './environment.ts'
import { ClientProcess, describeExit } from './process.ts'
import { RawConnection } from './raw-connection.ts'

const LOOPBACK = '127.0.0.1'
/** Between two tries to connect to a server that is starting: short, and bounded by the start timeout. */
const START_POLL_MS = 25

export interface ServerTarget {
  readonly address: RemoteAddress
  open: (timeout: number) => Promise<RawConnection>
  /** How the server process ended, once it did; always undefined for a server we did not start. */
  exitReport: () => string | undefined
  /** Waits up to `ms` for a server we started to exit (a dead server closes its port first). */
  waitForExit: (ms: number) => Promise<string | undefined>
  /** Restarts a server we started that has exited; nothing otherwise. */
  ensureRunning: () => Promise<void>
  close: () => Promise<void>
}

export function addressTarget (address: RemoteAddress): ServerTarget {
  return {
    address,
    open: async (timeout) => await RawConnection.open(address, timeout),
    exitReport: () => undefined,
    waitForExit: async () => undefined,
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

export class CommandTarget implements ServerTarget {
  readonly address: RemoteAddress
  readonly #command: string
  readonly #env: NodeJS.ProcessEnv
  readonly #startTimeout: number
  readonly #stderr: boolean
  #process: ClientProcess | undefined
  #starting: Promise<void> | undefined
  /** How many times it was started; more than one means it crashed. */
  starts = 0

  private constructor (command: string, address: RemoteAddress, env: NodeJS.ProcessEnv, startTimeout: number, stderr: boolean) {
    this.#command = command
    this.#stderr = stderr
    this.address = address
    this.#env = env
    this.#startTimeout = startTimeout
  }

  static async start (command: string, keys: KeyPair, networkKey: Uint8Array, folder: KeysFolder, options: { startTimeout: number, stderr: boolean }): Promise<CommandTarget> {
    const port = await freePort()
    const env = commandEnvironment({ host: LOOPBACK, port, keys, serverKey: keys.publicKey, networkKey }, await folder.write(keys))
    const target = new CommandTarget(command, { host: LOOPBACK, port, remotePublicKey: keys.publicKey }, env, options.startTimeout, options.stderr)
    await target.ensureRunning()
    return target
  }

  async open (timeout: number): Promise<RawConnection> {
    return await RawConnection.open(this.address, timeout)
  }

  exitReport (): string | undefined {
    const exit = this.#process?.exit
    return exit === undefined ? undefined : describeExit(exit)
  }

  async waitForExit (ms: number): Promise<string | undefined> {
    const exit = await this.#process?.waitForExit(ms)
    return exit === undefined ? undefined : describeExit(exit)
  }

  /** Checks running side by side may all find it dead: they share one restart. */
  async ensureRunning (): Promise<void> {
    this.#starting ??= this.#restart().finally(() => { this.#starting = undefined })
    await this.#starting
  }

  async #restart (): Promise<void> {
    if (this.#process !== undefined && this.#process.exit === undefined) return
    await this.#process?.stop()
    this.#process = new ClientProcess(this.#command, this.#env, { stdout: false, stderr: this.#stderr })
    this.starts++
    await this.#waitUntilListening(this.#process)
  }

  async #waitUntilListening (server: ClientProcess): Promise<void> {
    const deadline = performance.now() + this.#startTimeout
    while (performance.now() < deadline) {
      if (server.exit !== undefined) {
        throw new CliError(EXIT.NETWORK, `the server command ${describeExit(server.exit)} before it accepted a connection on ` +
          `port ${this.address.port}: check that it listens on $SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT`)
      }
      try {
        (await RawConnection.open(this.address, this.#startTimeout)).close()
        return
      } catch {
        await sleep(START_POLL_MS)
      }
    }
    await server.stop()
    throw new CliError(EXIT.NETWORK, `the server command did not accept connections on port ${this.address.port} within ` +
      `${this.#startTimeout} ms: check that it listens on $SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT`)
  }

  async close (): Promise<void> {
    await this.#process?.stop()
  }
}
