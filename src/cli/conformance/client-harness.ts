/**
 * The client under test, started once per connection we want from it. Each launch gets its own
 * listener on 127.0.0.1 (so concurrent checks never mix their clients up), and everything a
 * check started is stopped when the check ends.
 */
import net from 'node:net'
import type { KeyPair } from '../../index.ts'
import { type KeysFolder, commandEnvironment } from './environment.ts'
import { ClientProcess, describeExit, isCrash } from './process.ts'
import { RawConnection } from './raw-connection.ts'
import { CheckFailure, type ClientRoleContext, type ClientRun, type Limits, type LaunchOptions } from './types.ts'

const LOOPBACK = '127.0.0.1'

export interface ClientHarnessInit extends Limits {
  readonly command: string
  readonly keys: KeyPair
  readonly clientKeys: KeyPair
  readonly networkKey: Uint8Array
  readonly folder: KeysFolder
  /** Pass the client's stderr through (with --verbose). */
  readonly stderr: boolean
}

/** One check's view of the client: a context to pass to the check, and the cleanup after it. */
export interface ClientScope {
  readonly context: ClientRoleContext
  /** A crash of any client this check started, in words. */
  crash: () => string | undefined
  stop: () => Promise<void>
}

export class ClientHarness {
  readonly #init: ClientHarnessInit
  #keysFile: string | undefined

  constructor (init: ClientHarnessInit) {
    this.#init = init
  }

  async scope (): Promise<ClientScope> {
    const init = this.#init
    this.#keysFile ??= await init.folder.write(init.clientKeys)
    const keysFile = this.#keysFile
    const runs: Array<{ run: ClientRun, server: net.Server }> = []
    const launch = async (options: LaunchOptions): Promise<ClientRun> => {
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false })
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, LOOPBACK, resolve) })
      const { port } = server.address() as net.AddressInfo
      const env = commandEnvironment({ host: LOOPBACK, port, keys: init.clientKeys, serverKey: init.keys.publicKey, networkKey: init.networkKey }, keysFile)
      const process = new ClientProcess(init.command, env, { stdout: true, stderr: init.stderr })
      if (options.stdin !== 'open') {
        process.writeStdin(options.stdin)
        process.endStdin()
      }
      let timer: NodeJS.Timeout | undefined
      try {
        const connection = await new Promise<RawConnection>((resolve, reject) => {
          server.once('connection', (socket) => { resolve(RawConnection.accepted(socket)) })
          timer = setTimeout(() => { reject(new CheckFailure(`the client did not connect within ${init.replyTimeout} ms`)) }, init.replyTimeout)
          void process.exited.then((exit) => {
            reject(new CheckFailure(`${isCrash(exit) ? 'CRASH: ' : ''}the client ${describeExit(exit)} without connecting to $SHS_CONFORMANCE_ADDRESS`))
          })
        })
        const run = { connection, process }
        runs.push({ run, server })
        return run
      } catch (err) {
        await process.stop()
        throw err
      } finally {
        clearTimeout(timer)
        // One connection per launch: later ones would be someone else's.
        server.close()
      }
    }
    return {
      context: {
        keys: init.keys, clientKeys: init.clientKeys, networkKey: init.networkKey,
        replyTimeout: init.replyTimeout, stallLimit: init.stallLimit, launch
      },
      crash: () => {
        for (const { run } of runs) {
          const exit = run.process.exit
          if (exit !== undefined && isCrash(exit)) return `CRASH: the client ${describeExit(exit)}`
        }
        return undefined
      },
      stop: async () => {
        await Promise.all(runs.map(async ({ run }) => {
          run.connection.close()
          await run.process.stop()
        }))
      }
    }
  }
}
