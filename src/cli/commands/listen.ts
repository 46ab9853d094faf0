/**
 * `shs listen`: an SHS server. By default the first client is joined to stdin/stdout (like
 * `nc -l`; with -k each next one in turn, like `nc -lk`); with --exec, --forward or
 * --permit-open every client gets a command or a TCP connection.
 */
import type { ChildProcess } from 'node:child_process'
import { type Command, Option } from 'commander'
import { readFile } from 'node:fs/promises'
import { DEFAULT_MAX_PENDING_HANDSHAKES, DEFAULT_MAX_PENDING_PER_SOURCE, type SecureStream, type ShsError, formatWsAddress } from '../../index.ts'
import { AllowList } from '../allow.ts'
import { type HostPort, formatHostPort, formatMultiserver, parseHostPort, parseListenAddress } from '../address.ts'
import { CliError } from '../errors/cli-error.ts'
import { describeFailure } from '../errors/format.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { exitOnSignal } from '../exit.ts'
import { formatId } from '../identity.ts'
import { Log } from '../log.ts'
import {
  type CommonOptions, idleTimeoutOption, keysOption, limitOption, networkKeyOption, parsePositiveInteger, progressOption,
  timeoutOption, verboseOption
} from '../options.ts'
import { createProgress } from '../progress.ts'
import { type RekeyFlags, describeRekeyStance, rekeyOptions, rekeyPlan } from '../rekey.ts'
import { REMOTE_ADDRESS_ENV, REMOTE_ID_ENV, endCommand, relayOnRequest, relayToCommand, relayToTcp } from '../relay.ts'
import { type ConnectionInfo, type SecureServer, type ServeLimits, serve } from '../secure-net.ts'
import { loadIdentity } from '../setup.ts'
import { StdioSessions } from '../stdio-sessions.ts'

interface ListenOptions extends CommonOptions, RekeyFlags {
  allow?: string
  ws?: boolean
  tlsCert?: string
  tlsKey?: string
  exec?: string
  forward?: string
  permitOpen?: string[]
  keepListening?: boolean
  progress?: boolean
  maxPending: number
  maxPerSource: number
  maxClients?: number
  idleTimeout?: number
}

const ADMISSION_REFUSALS = new Set<ShsError['code']>(['ERR_SHS_BUSY', 'ERR_SHS_SOURCE_BUSY', 'ERR_SHS_PENALIZED'])

/** Established clients at once: each costs ~20 KiB idle (docs/HOSTILE-LOAD.md). */
const DEFAULT_MAX_CLIENTS = 1024
/** With --exec each client is a process, so far fewer. */
const DEFAULT_MAX_COMMANDS = 64
/** --exec and --forward serve strangers for long: a connection quiet this long is let go. */
const DEFAULT_SERVER_IDLE_TIMEOUT_MS = 300_000

const EXAMPLES = `
Prints "listening on HOST:PORT" and the multiserver address clients need on
stderr. HOST defaults to 127.0.0.1; listen on 0.0.0.0 (or ::) to accept clients
from other machines. --exec gives its command $${REMOTE_ID_ENV} and
$${REMOTE_ADDRESS_ENV}.

Examples:
  $ shs listen 8008 > received.bin      # first client's data to stdout
  $ shs listen -k 8008 >> log.txt       # every client in turn, like nc -lk
  $ shs listen 0.0.0.0:8008 --allow ~/.config/shs/allowed --exec 'tar xf -'
  $ shs listen 8008 --exec 'echo "hello $${REMOTE_ID_ENV}"'   # for each client
  $ shs listen 0.0.0.0:8008 --forward 127.0.0.1:80   # far end of a tunnel
  $ shs listen 0.0.0.0:8008 --permit-open 127.0.0.1:80 --permit-open db:5432
      the far end for: shs connect ADDRESS -L 8080:127.0.0.1:80 (as ssh -L)
  $ shs listen 8008 --timeout 2000 --verbose   # drop slow handshakes
  $ shs listen --ws 8989        # WebSocket clients: ws://127.0.0.1:8989~shs:KEY
  $ shs listen --ws 0.0.0.0:443 --tls-cert cert.pem --tls-key key.pem   # wss:
  $ shs listen 0.0.0.0:8008 --rekey require --forward 127.0.0.1:80
      only clients with the rekey extension (shs connect --rekey)

Under hostile load (see docs/HOSTILE-LOAD.md): a client must send its hello
within 5 s of connecting; one address may have --max-per-source handshakes in
progress, all addresses together --max-pending (from three quarters of it on,
new connections are dropped at random, as sshd's MaxStartups does). Refused
clients are told nothing: they see a hang-up and should retry. --exec commands
run in process groups of their own and end with the server. In stdin/stdout
mode, Ctrl-C (or SIGTERM) ends the session with goodbye and exit 0; a second
one aborts. With -k, a client that comes during a session waits its turn, and
stdin goes to whoever is connected until it ends; later clients get its end.`

export function registerListen (program: Command): void {
  const command = program.command('listen')
    .description('accept SHS clients: join the first to stdin/stdout (with -k each in turn), or run --exec, ' +
      '--forward or --permit-open for each')
    .argument('<[host:]port>', 'where to listen; port 0 picks a free port')
    .addOption(keysOption())
    .addOption(networkKeyOption())
    .option('--ws', 'accept WebSocket clients (as multiserver\'s ws plugin serves them) instead of TCP ones')
    .option('--tls-cert <file>', 'with --ws: serve wss: with this certificate (PEM); needs --tls-key')
    .option('--tls-key <file>', 'with --ws: the private key (PEM) of --tls-cert')
    .option('-a, --allow <file>', 'accept only the client ids listed in FILE (one @….ed25519 per line, # comments)')
    .addOption(new Option('-k, --keep-listening', 'after the stdin/stdout client, serve the next one, one at a time (like nc -lk); ' +
      '--exec, --forward and --permit-open serve every client anyway'))
    .addOption(new Option('-e, --exec <command>', 'run COMMAND (with sh) for each client, the stream on its stdin/stdout')
      .conflicts(['forward', 'permitOpen']))
    .addOption(new Option('--forward <host:port>', 'join each client to a new TCP connection to HOST:PORT (given up after --timeout ms)')
      .conflicts(['exec', 'permitOpen']))
    .addOption(new Option('--permit-open <host:port>', 'join each client to the HOST:PORT it asks for (shs connect -L ' +
      'port:host:hostport) if listed here; repeat for more targets (like sshd\'s PermitOpen)')
      .argParser(collect).conflicts(['exec', 'forward']))
    .addOption(timeoutOption('milliseconds a client may take to finish the handshake before it is dropped'))
    .addOption(limitOption('--max-pending <n>', 'handshakes in progress at once, from all addresses (~10 KiB each)', DEFAULT_MAX_PENDING_HANDSHAKES))
    .addOption(limitOption('--max-per-source <n>', 'handshakes in progress at once from one address (IPv6: one /64)', DEFAULT_MAX_PENDING_PER_SOURCE))
    .addOption(new Option('--max-clients <n>', `clients connected at once (default: ${DEFAULT_MAX_CLIENTS}; with --exec ` +
      `${DEFAULT_MAX_COMMANDS}, and a client counts until its command exits)`).argParser(parsePositiveInteger))
    .addOption(idleTimeoutOption('close a client connection after this many milliseconds without a byte either way; ' +
      `0 for never (default: ${DEFAULT_SERVER_IDLE_TIMEOUT_MS} with --exec or --forward, never for stdin/stdout)`))
  for (const option of rekeyOptions('the rekey extension (fresh keys during the session): prefer (default) serves ' +
    'clients with and without it, require turns plain SHS1 clients away, off serves plain SHS1 only')) command.addOption(option)
  command
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
  | { readonly kind: 'open', readonly permitted: readonly HostPort[] }

function collect (value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

function modeOf (options: ListenOptions): Mode {
  if (options.exec !== undefined) return { kind: 'exec', command: options.exec }
  if (options.forward !== undefined) return { kind: 'forward', target: parseHostPort(options.forward, undefined, '--forward') }
  if (options.permitOpen !== undefined) {
    return { kind: 'open', permitted: options.permitOpen.map((target) => parseHostPort(target, undefined, '--permit-open')) }
  }
  return { kind: 'stdio' }
}

async function runListen (where: string, options: ListenOptions): Promise<ExitCode> {
  const progress = createProgress(options.progress === true)
  // Log lines go above the progress line, never over it.
  const log = new Log(options.verbose === true, (line) => { progress.print(line) })
  const address = parseListenAddress(where, '[HOST:]PORT')
  const mode = modeOf(options)
  const rekey = rekeyPlan(options, 'prefer')
  const webSocket = await webSocketSettings(options)
  const identity = await loadIdentity(options, log)
  const allow = options.allow === undefined ? undefined : await AllowList.load(options.allow)
  const children = new Set<ChildProcess>()
  const limits = serveLimits(mode, options)
  /** --exec clients accepted whose command has not started yet: they count toward --max-clients too. */
  const startingCommands = new Set<ConnectionInfo>()

  let resolveDone: (code: ExitCode) => void = () => {}
  const done = new Promise<ExitCode>((resolve) => { resolveDone = resolve })
  let server: SecureServer | undefined
  let removeExitOnSignal = (): void => {}
  const stdio = new StdioSessions(options.keepListening === true, {
    log,
    progress,
    stopAccepting: () => { server?.stopAccepting() },
    // From here Ctrl-C ends this session with goodbye (joinStdio), not the whole server at once.
    sessionStarted: () => { removeExitOnSignal() },
    sessionEnded: () => { removeExitOnSignal = exitOnSignal(() => { void stop() }) },
    done: (code) => { resolveDone(code) }
  })

  const onStream = (stream: SecureStream, connection: ConnectionInfo): void => {
    log.info(`${connection.label} accepted ${formatId(stream.remotePublicKey)} from ${connection.peer}`)
    const context = { log, progress }
    switch (mode.kind) {
      case 'stdio':
        stdio.offer(stream, connection)
        return
      case 'exec':
        startingCommands.delete(connection)
        void relayToCommand(stream, connection, mode.command, children, context)
        return
      case 'forward':
        void relayToTcp(stream, connection, mode.target, { ...context, connectTimeout: options.timeout })
        return
      case 'open':
        void relayOnRequest(stream, connection, mode.permitted, { ...context, connectTimeout: options.timeout })
    }
  }

  let refusalsLogged = false
  const onHandshakeError = (err: ShsError, connection: ConnectionInfo): void => {
    startingCommands.delete(connection)
    // Under a flood these come by the thousand: one line says it is happening, --verbose says each.
    if (ADMISSION_REFUSALS.has(err.code)) {
      if (log.isVerbose) log.verbose(`${connection.label} from ${connection.peer} ${describeFailure(err).message}`)
      else if (!refusalsLogged) log.info(`${connection.label} from ${connection.peer} ${describeFailure(err).message} (further refusals only with --verbose)`)
      refusalsLogged = true
      return
    }
    if (err.code === 'ERR_SHS_TOO_MANY_CONNECTIONS') {
      log.info(`${connection.label} from ${connection.peer} refused: ${limits.maxClients} clients are connected (--max-clients)`)
      return
    }
    // Refusals by --allow were already logged, with the client's id, by `authorize` below.
    if (err.code === 'ERR_SHS_UNAUTHORIZED') return
    // Only we abort handshakes: the stdio client took the server, or the server is stopping.
    if (err.code === 'ERR_SHS_ABORTED') {
      if (stdio.taken) log.info(`${connection.label} from ${connection.peer} dropped: stdin/stdout already belong to the first client`)
      else log.verbose(`${connection.label} from ${connection.peer} dropped: the server is stopping`)
      return
    }
    log.info(`${connection.label} from ${connection.peer} failed the handshake: ` +
      describeFailure(err, { rekey: { role: 'server', mode: rekey.mode } }).message)
  }

  server = await serve({
    ...identity,
    address,
    webSocket,
    timeout: options.timeout,
    limits,
    rekey,
    log,
    onStream,
    onHandshakeError,
    authorize: async (publicKey, connection) => {
      const id = formatId(publicKey)
      if (mode.kind === 'exec') {
        if (children.size + startingCommands.size >= limits.maxClients) {
          log.info(`${connection.label} refused ${id} from ${connection.peer}: ${limits.maxClients} commands are running (--max-clients)`)
          return false
        }
        startingCommands.add(connection)
      }
      if (allow === undefined) return true
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
  log.verbose(describeRekeyStance(rekey))

  async function stop (): Promise<void> {
    for (const child of children) endCommand(child)
    progress.stop()
    await server?.close()
  }
  // The process exits as soon as the output is flushed; the sockets are destroyed by then.
  removeExitOnSignal = exitOnSignal(() => { void stop() })
  // Only the stdio mode ends by itself; the others serve until interrupted.
  const code = await done
  await stop()
  return code
}

function serveLimits (mode: Mode, options: ListenOptions): ServeLimits {
  const idle = options.idleTimeout ?? (mode.kind === 'stdio' ? 0 : DEFAULT_SERVER_IDLE_TIMEOUT_MS)
  return {
    maxPending: options.maxPending,
    maxPerSource: options.maxPerSource,
    maxClients: options.maxClients ?? (mode.kind === 'exec' ? DEFAULT_MAX_COMMANDS : DEFAULT_MAX_CLIENTS),
    idleTimeout: idle === 0 ? undefined : idle
  }
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
    case 'open': return `each client is forwarded to the target it asks for among ${mode.permitted.map(formatHostPort).join(', ')}`
  }
}
