/**
 * The client under test, started once per connection we want from it. Each launch gets its own
 * listener on 127.0.0.1 (so concurrent checks never mix their clients up), and everything a
 * check started is stopped when the check ends.
 */
import net from 'node:net'
import type { KeyPair } from '../crypto/keys.ts'
import type { ClientRoleContext, ClientRun, LaunchOptions } from './check.ts'
import { CrashLog, type Evidence, describeExit } from './crash.ts'
import { type KeysFolder, LOOPBACK, commandEnvironment } from './environment.ts'
import { CheckFailure } from './errors.ts'
import { PeerProcess } from './process.ts'
import type { Limits } from './types.ts'
import { extensionKey, helloUnder } from './rekey-play.ts'
import { HELLO_BYTES } from './seam.ts'
import type { RawConnection } from './wire/connection.ts'
import { acceptTcp } from './wire/tcp.ts'

export interface ClientHarnessInit extends Limits {
  readonly command: string
  readonly keys: KeyPair
  readonly clientKeys: KeyPair
  readonly networkKey: Uint8Array
  readonly folder: KeysFolder
  readonly onStderr: ((chunk: Uint8Array) => void) | undefined
}

/** One check's view of the client: a context to pass to the check, and the cleanup after it. */
export interface ClientScope {
  readonly context: ClientRoleContext
  /** Crashes of the clients this check started; complete once `stop()` resolved. */
  crashes: () => Evidence[]
  /** Stops every client this check started (also to end a check that ran out of time). */
  stop: () => Promise<void>
}

/** The client's next connection to `server`, within `timeout`; a CheckFailure saying what it did instead. */
async function accept (server: net.Server, process: PeerProcess, timeout: number, what: string): Promise<RawConnection> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await new Promise<RawConnection>((resolve, reject) => {
      server.once('connection', (socket) => { resolve(acceptTcp(socket)) })
      timer = setTimeout(() => { reject(new CheckFailure(`the client did not ${what} within ${timeout} ms`)) }, timeout)
      void process.exited.then((exit) => { reject(new CheckFailure(`the client ${describeExit(exit)} without a connection (it had to ${what})`)) })
    })
  } finally {
    clearTimeout(timer)
  }
}

/** Its hello is MAC'd with K': it asks for the rekey extension. Nothing is read. */
async function asksForExtension (connection: RawConnection, init: ClientHarnessInit): Promise<boolean> {
  const hello = await connection.peek(HELLO_BYTES, init.replyTimeout)
  return hello !== undefined && helloUnder(hello, extensionKey(init.networkKey))
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
    const crashes = new CrashLog()
    const runs: ClientRun[] = []
    let stopped = false
    const launch = async (options: LaunchOptions): Promise<ClientRun> => {
      if (stopped) throw new CheckFailure('the check was stopped before it could start another client')
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false })
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, LOOPBACK, resolve) })
      const { port } = server.address() as net.AddressInfo
      const env = commandEnvironment({ port, keys: init.clientKeys, serverKey: init.keys.publicKey, networkKey: init.networkKey }, keysFile)
      const process = new PeerProcess(init.command, env, { keepStdout: true, onStderr: init.onStderr, crashes })
      if (options.stdin !== 'open') {
        process.writeStdin(options.stdin)
        process.endStdin()
      }
      const opened: RawConnection[] = []
      try {
        let connection = await accept(server, process, init.replyTimeout, 'connect to $SHS_CONFORMANCE_ADDRESS')
        opened.push(connection)
        if (options.extension !== true && await asksForExtension(connection, init)) {
          connection.close()
          connection = await accept(server, process, init.replyTimeout, 'connect again with plain SHS1 after we hung up on its hello under K\'')
          opened.push(connection)
        }
        const run = { connection, process }
        runs.push(run)
        if (stopped) throw new CheckFailure('the check was stopped while the client connected')
        return run
      } catch (err) {
        for (const connection of opened) connection.close()
        await process.stop()
        throw err
      } finally {
        // The connections of this launch only: later ones would be someone else's.
        server.close()
      }
    }
    return {
      context: {
        keys: init.keys, clientKeys: init.clientKeys, networkKey: init.networkKey,
        replyTimeout: init.replyTimeout, stallLimit: init.stallLimit, launch
      },
      crashes: () => crashes.since(0),
      stop: async () => {
        stopped = true
        await Promise.all(runs.map(async (run) => {
          run.connection.close()
          await run.process.stop()
        }))
      }
    }
  }
}
