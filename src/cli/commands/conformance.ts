/**
 * `shs conformance`: a thin wrapper around shs-transport/conformance. It parses the flags, prints
 * a line per check as it finishes (or one JSON document), writes JUnit XML, and maps the outcome
 * to an exit status.
 *
 *   shs conformance [server] ADDRESS        a server someone runs (net:, ws:, wss:)
 *   shs conformance server --cmd 'CMD'      a server we start (once, and again after it exited)
 *   shs conformance client --cmd 'CMD'      a netcat-like client we start once per connection
 */
import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { Option } from 'commander'
import {
  COMMAND_ENVIRONMENT, ConformanceError, type ConformanceReport, DEFAULT_REPLY_TIMEOUT_MS, DEFAULT_STALL_LIMIT_MS,
  DEFAULT_START_TIMEOUT_MS, type RunOptions, formatHeader, formatJson, formatJunit, formatResultLine, formatSummary, listChecks,
  runClientChecks, runServerChecks
} from '../../conformance/index.ts'
import { parseDialTarget } from '../address.ts'
import { CliError } from '../errors/cli-error.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { loadKeyFile } from '../keyfile.ts'
import { Log } from '../log.ts'
import { networkKeyOption, parsePositiveInteger, verboseOption } from '../options.ts'
import { parseNetworkKey } from '../network-key.ts'

type Role = 'server' | 'client'

interface ConformanceOptions {
  cmd?: string
  remote?: string
  keys?: string
  networkKey?: string
  json?: boolean
  junit?: string
  only?: string
  skip?: string
  list?: boolean
  timeout: number
  stallTimeout: number
  startTimeout: number
  verbose?: boolean
}

const ENV_COLUMN = 31
const HELP_WIDTH = 80

/** `text` in lines of at most `width` columns, each after `indent` spaces but the first. */
function wrap (text: string, width: number, indent: number): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  lines.push(line)
  return lines.join(`\n${' '.repeat(indent)}`)
}

const ENVIRONMENT_HELP = COMMAND_ENVIRONMENT
  .map(({ name, meaning }) => `  ${name.padEnd(ENV_COLUMN - 2)}${wrap(meaning, HELP_WIDTH - ENV_COLUMN, ENV_COLUMN)}`).join('\n')

const HELP = `
Roles and modes:
  shs conformance server ADDRESS    check a running server (also: shs
                                    conformance ADDRESS); ADDRESS is
                                    net:HOST:PORT~shs:KEY or ws(s)://…~shs:KEY
  shs conformance server --cmd CMD  start the server under test with CMD (via
                                    sh), once, and again after it exited (which
                                    fails the check, as a CRASH unless status 0)
  shs conformance client --cmd CMD  start the client under test with CMD for
                                    each connection; we play correct, mistaken
                                    and hostile servers on 127.0.0.1
A server under test must echo (like "shs listen --exec cat") and keep serving
every client. A client under test must behave like netcat: connect to
$SHS_CONFORMANCE_ADDRESS, copy stdin into the stream (goodbye at end of input),
the stream to stdout, exit 0 when both directions ended cleanly, non-zero
otherwise.

Environment of CMD:
${ENVIRONMENT_HELP}

Checks (--list prints them all): hs.* handshake, bs.* box stream, rk.* the
rekey extension (shs-rekey/1): a server is asked once whether it offers it (one
hello under K'; --skip rk leaves that out), a client shows it in its hello, and
a peer without it has every rk.* check SKIPPED. Every check
in the server role is followed by a valid handshake: a server that stopped
answering fails it. CRASH: the peer died on a signal, exited with a panic
status (101) or an abort, printed a panic or traceback on stderr, or (a server
started with --cmd) exited. The stall checks fail a peer that keeps a stalled
handshake longer than --stall-timeout (default ${DEFAULT_STALL_LIMIT_MS} ms). A check
that cannot apply to a role is skipped and says why. WARN does not fail the run.

Output: a line per check as it finishes, --json for one document, --junit FILE
for CI. With --verbose, the stderr of CMD is passed through (it is always
scanned for crash reports). For wss: with a private CA, set NODE_EXTRA_CA_CERTS.
Exit status: 0 if no check failed or crashed, 8 if any did, 6 if the server
cannot be reached or started.

Examples:
  $ shs conformance net:pub.example.org:8008~shs:KEY
  $ shs conformance server --cmd 'shs listen \\
      "$SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT" \\
      --keys "$SHS_CONFORMANCE_KEYS_FILE" \\
      --network-key "$SHS_CONFORMANCE_NETWORK_KEY" --exec cat'
  $ shs conformance client --cmd 'shs connect "$SHS_CONFORMANCE_ADDRESS" \\
      --keys "$SHS_CONFORMANCE_KEYS_FILE" \\
      --network-key "$SHS_CONFORMANCE_NETWORK_KEY"'
  $ shs conformance client --cmd '...' --only hs.small-order --json \\
      --junit report.xml`

function list (text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined
  return text.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

export function registerConformance (program: Command): void {
  program.command('conformance')
    .description('check an SHS server or client, handshake and box stream, against correct and hostile peers')
    .usage('[server|client] [ADDRESS] [options]')
    .argument('[role]', 'server (default) or client; or the ADDRESS of a server')
    .argument('[address]', 'net:HOST:PORT~shs:KEY, ws://HOST:PORT~shs:KEY, or HOST:PORT with --remote (server role without --cmd)')
    .option('-c, --cmd <command>', 'start the implementation under test with this shell command')
    .option('-r, --remote <id>', 'the server\'s id (@<base64>.ed25519) when ADDRESS is HOST:PORT')
    .option('-i, --keys <file>', 'with ADDRESS: the client identity to use (default: a fresh random one); ' +
      'needed when the server only accepts listed clients')
    .addOption(networkKeyOption())
    .option('--json', 'print the results as one JSON document')
    .option('--junit <file>', 'also write the results as JUnit XML to FILE')
    .option('--only <ids>', 'run only these checks (comma-separated ids or prefixes such as hs.small-order)')
    .option('--skip <ids>', 'skip these checks (comma-separated ids or prefixes)')
    .option('--list', 'list the checks and exit')
    .addOption(new Option('-t, --timeout <ms>', 'how long to wait for each reply, for a hang-up after a bad message, or for a client to exit')
      .default(DEFAULT_REPLY_TIMEOUT_MS).argParser(parsePositiveInteger))
    .addOption(new Option('--stall-timeout <ms>', 'the stall limit: the longest a peer may keep a stalled handshake')
      .default(DEFAULT_STALL_LIMIT_MS).argParser(parsePositiveInteger))
    .addOption(new Option('--start-timeout <ms>', 'with server --cmd: how long the server may take to accept connections')
      .default(DEFAULT_START_TIMEOUT_MS).argParser(parsePositiveInteger))
    .addOption(verboseOption())
    .addHelpText('after', HELP)
    .action(async (first: string | undefined, second: string | undefined, options: ConformanceOptions) => {
      process.exitCode = await runConformanceCommand(first, second, options)
    })
}

function parseRole (first: string | undefined, second: string | undefined): { role: Role, address: string | undefined } {
  if (first === 'server' || first === 'client') return { role: first, address: second }
  if (second !== undefined) throw new CliError(EXIT.USAGE, `unexpected "${second}": the role comes first (shs conformance server ADDRESS)`)
  return { role: 'server', address: first }
}

function formatList (): string {
  return listChecks().map((check) => `${check.id.padEnd(26)} ${check.roles.join('+').padEnd(14)} ${check.title}\n`).join('')
}

function checkUsage (role: Role, address: string | undefined, options: ConformanceOptions): void {
  if (options.cmd === undefined && (role === 'client' || address === undefined)) {
    throw new CliError(EXIT.USAGE, role === 'client'
      ? 'the client role needs --cmd: the command that starts the client under test'
      : 'give the ADDRESS of the server under test, or --cmd to start it')
  }
  if (options.cmd !== undefined && address !== undefined) throw new CliError(EXIT.USAGE, 'give ADDRESS or --cmd, not both')
  if (options.cmd !== undefined && (options.keys !== undefined || options.remote !== undefined)) {
    throw new CliError(EXIT.USAGE, '--keys and --remote go with an ADDRESS: with --cmd, shs makes every key and hands them to CMD')
  }
}

async function run (role: Role, address: string | undefined, options: ConformanceOptions, common: RunOptions, log: Log): Promise<ConformanceReport> {
  const networkKey = options.networkKey === undefined ? undefined : parseNetworkKey(options.networkKey)
  if (role === 'client') return await runClientChecks({ ...common, command: options.cmd as string, networkKey })
  if (options.cmd !== undefined) return await runServerChecks({ ...common, command: options.cmd, networkKey, startTimeout: options.startTimeout })
  const endpoint = parseDialTarget(address as string, undefined, options.remote).endpoints[0]
  if (endpoint === undefined) throw new CliError(EXIT.USAGE, `"${String(address)}" names no server to check`)
  const keys = options.keys === undefined ? undefined : (await loadKeyFile(options.keys, (message) => { log.warn(message) })).keys
  return await runServerChecks({ ...common, address: endpoint, networkKey: parseNetworkKey(options.networkKey), keys })
}

async function runConformanceCommand (first: string | undefined, second: string | undefined, options: ConformanceOptions): Promise<ExitCode> {
  if (options.list === true) {
    process.stdout.write(formatList())
    return EXIT.OK
  }
  const log = new Log(options.verbose === true)
  const { role, address } = parseRole(first, second)
  checkUsage(role, address, options)
  const json = options.json === true
  const common: RunOptions = {
    only: list(options.only),
    skip: list(options.skip),
    replyTimeout: options.timeout,
    stallLimit: options.stallTimeout,
    onStart: (target) => { if (!json) process.stdout.write(formatHeader(role, target)) },
    onResult: (result) => {
      if (!json) process.stdout.write(formatResultLine(result))
      else log.verbose(formatResultLine(result).trimEnd())
    },
    onPeerStderr: log.isVerbose ? (chunk) => { process.stderr.write(chunk) } : undefined
  }
  let report: ConformanceReport
  try {
    report = await run(role, address, options, common, log)
  } catch (err) {
    if (!(err instanceof ConformanceError)) throw err
    const usage = err.code === 'ERR_CONFORMANCE_UNKNOWN_CHECK'
    throw new CliError(usage ? EXIT.USAGE : EXIT.NETWORK, err.message, { cause: err })
  }
  process.stdout.write(json ? formatJson(report) : formatSummary(report))
  if (options.junit !== undefined) await writeFile(options.junit, formatJunit(report))
  return report.passed ? EXIT.OK : EXIT.CONFORMANCE_FAILED
}
