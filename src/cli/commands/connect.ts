/**
 * `shs connect`: an SHS client. By default stdin/stdout are joined to the server (like `nc`);
 * with -L every local TCP connection gets its own secure connection (like `ssh -L`), and with
 * ssh's `-L [bind:]port:host:hostport` asks the far end to open host:hostport for it.
 */
import type { Command } from 'commander'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import { type DialTarget, type LocalForward, formatHostPort, parseDialTarget, parseLocalForward } from '../address.ts'
import { CliError } from '../errors/cli-error.ts'
import { type FailureContext, describeFailure } from '../errors/format.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { exitOnSignal } from '../exit.ts'
import { requestForward } from '../forward-request.ts'
import { formatId } from '../identity.ts'
import { Log } from '../log.ts'
import {
  type CommonOptions, idleTimeoutOption, keysOption, networkKeyOption, progressOption, timeoutOption, verboseOption
} from '../options.ts'
import { type Progress, createProgress } from '../progress.ts'
import { type RekeyFlags, type RekeyPlan, rekeyOptions, rekeyPlan } from '../rekey.ts'
import { relay } from '../relay.ts'
import { type Identity, dial } from '../secure-net.ts'
import { loadIdentity } from '../setup.ts'
import { joinStdio } from '../stdio.ts'

interface ConnectOptions extends CommonOptions, RekeyFlags {
  remote?: string
  ca?: string
  local?: string
  progress?: boolean
  idleTimeout?: number
}

/**
 * Handshakes a --local tunnel runs at once. Below the server's per-source limit (8 by default),
 * so a burst of local connections queues here instead of being refused over there.
 */
const MAX_TUNNEL_DIALS = 4

const EXAMPLES = `
ADDRESS is a multiserver address, net:HOST:PORT~shs:KEY or
ws://HOST:PORT~shs:KEY (what "shs listen" prints, and what Scuttlebutt pubs
publish); several joined by ";" are tried in order. Or HOST:PORT, or HOST PORT
as with nc, together with --remote @KEY.ed25519.

Examples:
  $ shs connect net:pub.example.org:8008~shs:KEY < file.bin   # send a file
  $ tar cf - dir | shs connect 10.0.0.2:8008 --remote @KEY.ed25519
  $ shs connect net:HOST:8008~shs:KEY -L 8080   # then: curl 127.0.0.1:8080
  $ shs connect net:HOST:8008~shs:KEY -L 8080:127.0.0.1:80   # as ssh -L, when
      the far end runs: shs listen 0.0.0.0:8008 --permit-open 127.0.0.1:80
  $ shs connect net:HOST:8008~shs:KEY -v < /dev/null   # just test the handshake
  $ shs connect 'ws://HOST:8989~shs:KEY'               # over a WebSocket
  $ shs connect 'wss://HOST~shs:KEY' --ca server.pem   # a self-signed server
  $ shs connect 'net:HOST:8008~shs:KEY;ws://HOST:8989~shs:KEY'   # in order
  $ shs connect HOST 8008 --remote @KEY.ed25519
  $ shs connect net:HOST:8008~shs:KEY --rekey -L 8080   # fresh keys as it runs

-L without host:hostport leaves the target to the far end (shs listen
--forward HOST:PORT). There is no -R (reverse tunnel): it would need one
connection to carry many, and docs/CLI.md says what to use instead.

Ctrl-C (or SIGTERM) ends the session cleanly: what stdin gave so far is sent,
then goodbye, and shs exits 0 (at once if stdin had already ended). A second
Ctrl-C aborts at once (exit 130) and the server sees the stream cut off.`

export function registerConnect (program: Command): void {
  const command = program.command('connect')
    .description('connect to an SHS server: join stdin/stdout to it, or tunnel -L connections')
    .argument('<address>', 'net:HOST:PORT~shs:KEY, ws://HOST:PORT~shs:KEY (several joined by ;), or HOST:PORT with --remote')
    .argument('[port]', 'PORT, when ADDRESS is just a HOST (like nc HOST PORT); needs --remote')
    .option('-r, --remote <id>', 'the server\'s id (@<base64>.ed25519) when ADDRESS is HOST:PORT')
    .addOption(keysOption())
    .addOption(networkKeyOption())
    .option('--ca <file>', 'for wss: addresses, trust the certificate authority (or self-signed certificate) in FILE (PEM)')
    .option('-L, --local <spec>', 'as ssh -L [bind:]port:host:hostport: listen on [bind:]port and carry each local ' +
      'connection to the server, which opens host:hostport for it; [bind:]port alone: to its --forward target')
    .addOption(timeoutOption('milliseconds for the TCP connection and the handshake together'))
    .addOption(idleTimeoutOption('close the connection after this many milliseconds without a byte either way; 0 for never (default)'))
  for (const option of rekeyOptions('ask for the rekey extension (fresh keys during the session): prefer falls back ' +
    'to plain SHS1 where the server lacks it, require fails there; default off')) command.addOption(option)
  command
    .addOption(verboseOption())
    .addOption(progressOption())
    .addHelpText('after', EXAMPLES)
    .action(async (address: string, port: string | undefined, options: ConnectOptions) => {
      process.exitCode = await runConnect(address, port, options)
    })
}

async function runConnect (addressText: string, port: string | undefined, options: ConnectOptions): Promise<ExitCode> {
  const progress = createProgress(options.progress === true)
  // Log lines go above the progress line, never over it.
  const log = new Log(options.verbose === true, (line) => { progress.print(line) })
  const address = parseDialTarget(addressText, port, options.remote)
  const rekey = rekeyPlan(options, 'off')
  const ca = options.ca === undefined ? undefined : await readCa(options.ca)
  const local = options.local === undefined ? undefined : parseLocalForward(options.local, '-L')
  const identity = await loadIdentity(options, log)
  const context: FailureContext = { ourId: formatId(identity.keys.publicKey), rekey: { role: 'client', mode: rekey.mode } }
  const idleTimeout = options.idleTimeout === undefined || options.idleTimeout === 0 ? undefined : options.idleTimeout
  const dialOptions = { ...identity, timeout: options.timeout, idleTimeout, log, ca, rekey }
  if (local !== undefined) return await runTunnel(local, address, dialOptions, progress, context)

  let stream
  try {
    stream = await dial(address, { ...dialOptions, label: 'connect' })
  } catch (err) {
    progress.stop()
    const failure = describeFailure(err, context)
    throw new CliError(failure.exitCode, failure.message, { cause: err })
  }
  return await joinStdio(stream, progress, log, { context })
}

interface DialSettings extends Identity {
  timeout: number
  idleTimeout: number | undefined
  log: Log
  ca: string | undefined
  rekey: RekeyPlan
}

async function readCa (path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new CliError(EXIT.USAGE, `cannot read --ca ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}): ` +
      'give the PEM file of the server\'s certificate or of its certificate authority', { cause: err })
  }
}

/** Serves until interrupted; a local connection whose handshake fails is closed and logged. */
async function runTunnel (local: LocalForward, address: DialTarget, settings: DialSettings, progress: Progress, context: FailureContext): Promise<ExitCode> {
  const { log } = settings
  const sockets = new Set<net.Socket>()
  const dials = new DialQueue(MAX_TUNNEL_DIALS)
  let count = 0
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    count++
    const connection = {
      label: `#${count}`,
      peer: formatHostPort({ host: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 })
    }
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    // Errors reach us through the join below; without a listener they would crash the process.
    socket.on('error', (err) => { log.verbose(`${connection.label} local socket: ${err.message}`) })
    // Hold local bytes until the secure side exists to take them.
    socket.pause()
    dials.run(async () => await dial(address, { ...settings, label: connection.label })).then(
      async (secure) => {
        const stream = local.target === undefined ? secure : requestForward(secure, local.target)
        await relay(stream, connection, socket, socket, { log, progress }, () => { socket.destroy() })
      },
      (err: unknown) => {
        log.info(`${connection.label} could not open the secure connection: ${describeFailure(err, context).message}`)
        socket.destroy()
      })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new CliError(EXIT.NETWORK, `could not listen on ${formatHostPort(local.listen)} for -L (${err.code ?? err.message}): ` +
        (err.code === 'EADDRINUSE' ? 'the port is taken; pick another' : 'check the host and port'), { cause: err }))
    })
    server.listen(local.listen.port, local.listen.host, () => {
      server.removeAllListeners('error')
      resolve()
    })
  })
  server.on('error', (err: Error) => { log.warn(`the local listening socket failed: ${err.message}`) })
  const bound = server.address() as net.AddressInfo
  log.info(`listening on ${formatHostPort({ host: bound.address, port: bound.port })}, ` +
    `carrying each connection to ${address.address}` +
    (local.target === undefined ? '' : `, which is asked to open ${formatHostPort(local.target)}`))
  await new Promise<never>(() => {
    exitOnSignal(() => {
      server.close()
      for (const socket of sockets) socket.destroy()
      progress.stop()
    })
  })
  return EXIT.OK
}

/** Runs at most `limit` dials at once; the rest wait their turn, in order. */
class DialQueue {
  readonly #limit: number
  readonly #waiting: Array<() => void> = []
  #running = 0

  constructor (limit: number) {
    this.#limit = limit
  }

  async run<T> (task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) await new Promise<void>((resolve) => { this.#waiting.push(resolve) })
    else this.#running++
    try {
      return await task()
    } finally {
      // Hand the slot straight to the next in line, or give it back.
      const next = this.#waiting.shift()
      if (next !== undefined) next()
      else this.#running--
    }
  }
}
