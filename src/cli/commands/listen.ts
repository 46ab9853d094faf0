/**
 * `shs listen`: an SHS server. By default the first client is joined to stdin/stdout (like
 * `nc -l`); with --exec or --forward every client gets a command or a TCP connection.
 */
import type { ChildProcess } from 'node:child_process'
import { type Command, Option } from 'commander'
import { readFile } from 'node:fs/promises'
import { type SecureStream, type ShsError, formatWsAddress } from '../../index.ts'
import { AllowList } from '../allow.ts'
import { type HostPort, formatHostPort, formatMultiserver, parseHostPort, parseListenAddress } from '../address.ts'
import { CliError } from '../errors/cli-error.ts'
import { describeFailure } from '../errors/format.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { exitOnSignal } from '../exit.ts'
import { formatId } from '../identity.ts'
import { Log } from '../log.ts'
import {
  type CommonOptions, keysOption, networkKeyOption, progressOption, timeoutOption, verboseOption
} from '../options.ts'
import { createProgress } from '../progress.ts'
import { REMOTE_ADDRESS_ENV, REMOTE_ID_ENV, relayToCommand, relayToTcp } from '../relay.ts'
import { type ConnectionInfo, type SecureServer, serve } from '../secure-net.ts'
import { loadIdentity } from '../setup.ts'
import { joinStdio } from '../stdio.ts'

interface ListenOptions extends CommonOptions {
  allow?: string
  ws?: boolean
  tlsCert?: string
  tlsKey?: string
  exec?: string
  forward?: string
  progress?: boolean
}

const EXAMPLES = `
Prints "listening on HOST:PORT" and the multiserver address clients need on stderr. HOST
defaults to 127.0.0.1; listen on 0.0.0.0 (or ::) to accept clients from other machines.

Examples:
  $ shs listen 8008 > received.bin        # first client's data to stdout, stdin to it
  $ shs listen 0.0.0.0:8008 --allow ~/.config/shs/allowed --exec 'tar xf -'
  $ shs listen 8008 --exec 'echo "hello $${REMOTE_ID_ENV}"'   # per client; also $${REMOTE_ADDRESS_ENV}
  $ shs listen 0.0.0.0:8008 --forward 127.0.0.1:80   # far end of a tunnel to a web server
  $ shs listen 8008 --timeout 2000 --verbose         # drop slow handshakes, show each stage
  $ shs listen --ws 8989                             # WebSocket clients: ws://127.0.0.1:8989~shs:KEY
  $ shs listen --ws 0.0.0.0:443 --tls-cert cert.pem --tls-key key.pem   # wss:`

export function registerListen (program: Command): void {
  program.command('listen')
    .description('accept SHS clients: join the first to stdin/stdout, or run --exec / --forward for each')
    .argument('<[host:]port>', 'where to listen; port 0 picks a free port')
    .addOption(keysOption())
    .addOption(networkKeyOption())
    .option('--ws', 'accept WebSocket clients (as multiserver\'s ws plugin serves them) instead of TCP ones')
    .option('--tls-cert <file>', 'with --ws: serve wss: with this certificate (PEM); needs --tls-key')
    .option('--tls-key <file>', 'with --ws: the private key (PEM) of --tls-cert')
    .option('-a, --allow <file>', 'accept only the client ids listed in FILE (one @….ed25519 per line, # comments)')
    .addOption(new Option('-e, --exec <command>', 'run COMMAND (with sh) for each client, the stream on its stdin/stdout').conflicts('forward'))
    .addOption(new Option('-f, --forward <host:port>', 'join each client to a new TCP connection to HOST:PORT').conflicts('exec'))
    .addOption(timeoutOption('milliseconds a client may take to finish the handshake before it is dropped'))
    .addOption(verboseOption())
    .addOption(progressOption())
    .addHelpText('after', EXAMPLES)
    .action(async (where: string, options: ListenOptions) => {
      process.exitCode = await runListen(where, options)
    })
}

type Mode =
  | { readonly kind: 'stdio' }
  | { readonly kind: 'exec', readonly command: string }
  | { readonly kind: 'forward', readonly target: HostPort }

async function runListen (where: string, options: ListenOptions): Promise<ExitCode> {
  const log = new Log(options.verbose === true)
  const address = parseListenAddress(where, '[HOST:]PORT')
  const mode: Mode = options.exec !== undefined
    ? { kind: 'exec', command: options.exec }
    : options.forward !== undefined
      ? { kind: 'forward', target: parseHostPort(options.forward, undefined, '--forward') }
      : { kind: 'stdio' }
  const webSocket = await webSocketSettings(options)
  const identity = await loadIdentity(options, log)
  const allow = options.allow === undefined ? undefined : await AllowList.load(options.allow)
  const progress = createProgress(options.progress === true)
  const children = new Set<ChildProcess>()

  let resolveDone: (code: ExitCode) => void = () => {}
  const done = new Promise<ExitCode>((resolve) => { resolveDone = resolve })
  let firstTaken = false
  let server: SecureServer | undefined

  const onStream = (stream: SecureStream, connection: ConnectionInfo): void => {
    log.info(`${connection.label} accepted ${formatId(stream.remotePublicKey)} from ${connection.peer}`)
    const context = { log, progress }
    switch (mode.kind) {
      case 'stdio':
        // Two handshakes may finish together; only the first gets stdin/stdout.
        if (firstTaken) {
          log.info(`${connection.label} dropped: stdin/stdout already belong to the first client`)
          stream.abort()
          return
        }
        firstTaken = true
        server?.stopAccepting()
        void joinStdio(stream, progress, log).then(resolveDone)
        return
      case 'exec':
        void relayToCommand(stream, connection, mode.command, children, context)
        return
      case 'forward':
        void relayToTcp(stream, connection, mode.target, context)
    }
  }

  const onHandshakeError = (err: ShsError, connection: ConnectionInfo): void => {
    // Refusals by --allow were already logged, with the client's id, by `authorize` below.
    if (err.code === 'ERR_SHS_UNAUTHORIZED') return
    // Only we abort handshakes: the stdio client took the server, or the server is stopping.
    if (err.code === 'ERR_SHS_ABORTED') {
      if (firstTaken) log.info(`${connection.label} from ${connection.peer} dropped: stdin/stdout already belong to the first client`)
      else log.verbose(`${connection.label} from ${connection.peer} dropped: the server is stopping`)
      return
    }
    log.info(`${connection.label} from ${connection.peer} failed the handshake: ${describeFailure(err).message}`)
  }

  server = await serve({
    ...identity,
    address,
    webSocket,
    timeout: options.timeout,
    log,
    onStream,
    onHandshakeError,
    authorize: async (publicKey, connection) => {
      if (allow === undefined) return true
      const id = formatId(publicKey)
      try {
        if (await allow.list.allows(publicKey)) return true
        log.info(`${connection.label} refused ${id} from ${connection.peer}: not listed in ${allow.list.path}`)
      } catch (err) {
        if (!(err instanceof CliError)) throw err
        log.info(`${connection.label} refused ${id}: ${err.message}`)
      }
      return false
    }
  })

  const bound = server.address
  const multiserver = webSocket === undefined
    ? formatMultiserver(bound, identity.keys.publicKey)
    : formatWsAddress({ host: bound.host, port: bound.port, secure: bound.secure }, identity.keys.publicKey)
  log.info(`listening on ${formatHostPort(bound)} as ${multiserver}`)
  log.info(allow === undefined
    ? 'accepting any client that knows this server\'s key (restrict with --allow FILE)'
    : `accepting only the ${allow.count} id(s) listed in ${allow.list.path}`)
  log.verbose(describeMode(mode))

  const stop = async (): Promise<void> => {
    for (const child of children) child.kill('SIGTERM')
    progress.stop()
    await server?.close()
  }
  // The process exits as soon as the output is flushed; the sockets are destroyed by then.
  exitOnSignal(() => { void stop() })
  // Only the stdio mode ends by itself; the others serve until interrupted.
  const code = await done
  await stop()
  return code
}

/** --ws, with --tls-cert and --tls-key for wss:. */
async function webSocketSettings (options: ListenOptions): Promise<{ cert?: string, key?: string } | undefined> {
  const { tlsCert, tlsKey } = options
  if (options.ws !== true) {
    if (tlsCert !== undefined || tlsKey !== undefined) throw new CliError(EXIT.USAGE, '--tls-cert and --tls-key serve wss: and need --ws')
    return undefined
  }
  if (tlsCert === undefined && tlsKey === undefined) return {}
  if (tlsCert === undefined || tlsKey === undefined) throw new CliError(EXIT.USAGE, 'wss: needs both --tls-cert FILE and --tls-key FILE')
  return { cert: await readPem(tlsCert, '--tls-cert'), key: await readPem(tlsKey, '--tls-key') }
}

async function readPem (path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new CliError(EXIT.USAGE, `cannot read ${flag} ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}): give a PEM file`, { cause: err })
  }
}

function describeMode (mode: Mode): string {
  switch (mode.kind) {
    case 'stdio': return 'the first client will be joined to stdin/stdout'
    case 'exec': return `each client runs: ${mode.command}`
    case 'forward': return `each client is forwarded to ${formatHostPort(mode.target)}`
  }
}
