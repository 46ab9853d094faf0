/**
 * `shs conformance`: checks an SHS implementation in either role, handshake and box stream,
 * correct and hostile peers, PASS/FAIL/WARN/SKIP per check.
 *
 *   shs conformance [server] ADDRESS        a server someone runs
 *   shs conformance server --cmd 'CMD'      a server we start (once, and again after a crash)
 *   shs conformance client --cmd 'CMD'      a netcat-like client we start once per connection
 */
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { Option } from 'commander'
import { type KeyPair, generateKeyPair } from '../../index.ts'
import { formatHostPort, parseRemoteAddress } from '../address.ts'
import { CliError } from '../errors/cli-error.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { formatId } from '../identity.ts'
import { loadKeyFile } from '../keyfile.ts'
import { Log } from '../log.ts'
import { networkKeyOption, parsePositiveInteger, verboseOption } from '../options.ts'
import { parseNetworkKey } from '../network-key.ts'
import { ClientHarness } from '../conformance/client-harness.ts'
import { ENVIRONMENT_HELP, KeysFolder } from '../conformance/environment.ts'
import { ProbeConnectError } from '../conformance/raw-connection.ts'
import { allChecks, runClientRole, runServerRole, selectChecks } from '../conformance/run.ts'
import { type ServerTarget, CommandTarget, addressTarget } from '../conformance/server-target.ts'
import { formatHeader, formatJson, formatJunit, formatResultLine, formatSummary } from '../conformance/report.ts'
import type { CheckResult, Role } from '../conformance/types.ts'

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

const DEFAULT_REPLY_TIMEOUT_MS = 5_000
/**
 * The stall limit: a peer that keeps a stalled handshake longer fails. 20 s is twice the
 * handshake timeout of shs (10 s) and four times the reference secret-handshake's (5 s): a
 * peer past it holds half-done handshakes long enough for a slow flood to exhaust it.
 */
const DEFAULT_STALL_LIMIT_MS = 20_000
const DEFAULT_START_TIMEOUT_MS = 10_000
const NETWORK_KEY_BYTES = 32

const HELP = `
Roles and modes:
  shs conformance server ADDRESS    check a running server
                                    (also: shs conformance ADDRESS)
  shs conformance server --cmd CMD  start the server under test with CMD (via
                                    sh), once, and again after a crash (which
                                    fails the check)
  shs conformance client --cmd CMD  start the client under test with CMD for
                                    each connection; we play correct, mistaken
                                    and hostile servers on 127.0.0.1
A server under test must echo (like "shs listen --exec cat"). A client under
test must behave like netcat: connect to $SHS_CONFORMANCE_ADDRESS, copy stdin
into the stream (goodbye at end of input), the stream to stdout, exit 0 when
both directions ended cleanly, non-zero otherwise.
${ENVIRONMENT_HELP}

Checks (--list prints them all): hs.* handshake, bs.* box stream. Every hostile
check in the server role is followed by a valid handshake: a server that
stopped answering or exited fails it (an exit is named a CRASH). The stall
checks fail a peer that keeps a stalled handshake longer than --stall-timeout
(default ${DEFAULT_STALL_LIMIT_MS} ms). A check that cannot apply to a role is
skipped and says why. WARN (a zero-length packet refused) does not fail the run.

Output: a line per check as it finishes, --json for one document, --junit FILE
for CI. With --verbose, the stderr of CMD is passed through (else discarded).
Exit status: 0 if no check failed, 8 if any did, 6 if the server cannot be
reached.

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
    .argument('[address]', 'net:HOST:PORT~shs:KEY, or HOST:PORT with --remote (server role without --cmd)')
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

function listChecks (): string {
  return allChecks().map((check) => {
    const roles = (['server', 'client'] as const).filter((role) => typeof check[role] !== 'string').join('+')
    return `${check.id.padEnd(26)} ${roles.padEnd(14)} ${check.title}\n`
  }).join('')
}

async function runConformanceCommand (first: string | undefined, second: string | undefined, options: ConformanceOptions): Promise<ExitCode> {
  if (options.list === true) {
    process.stdout.write(listChecks())
    return EXIT.OK
  }
  const log = new Log(options.verbose === true)
  const { role, address } = parseRole(first, second)
  let checks
  try {
    checks = selectChecks(allChecks(), list(options.only), list(options.skip) ?? [])
  } catch (err) {
    if (!(err instanceof RangeError)) throw err
    throw new CliError(EXIT.USAGE, `${err.message}: shs conformance --list shows the ids`)
  }
  if (options.cmd === undefined && (role === 'client' || address === undefined)) {
    throw new CliError(EXIT.USAGE, role === 'client'
      ? 'the client role needs --cmd: the command that starts the client under test'
      : 'give the ADDRESS of the server under test, or --cmd to start it')
  }
  if (options.cmd !== undefined && address !== undefined) throw new CliError(EXIT.USAGE, 'give ADDRESS or --cmd, not both')
  if (options.cmd !== undefined && (options.keys !== undefined || options.remote !== undefined)) {
    throw new CliError(EXIT.USAGE, '--keys and --remote go with an ADDRESS: with --cmd, shs makes every key and hands them to CMD')
  }

  const limits = { replyTimeout: options.timeout, stallLimit: options.stallTimeout }
  const json = options.json === true
  const onResult = (result: CheckResult): void => {
    if (!json) process.stdout.write(formatResultLine(result))
    else log.verbose(formatResultLine(result).trimEnd())
  }
  const folder = await KeysFolder.create()
  let label: string
  let results: CheckResult[]
  try {
    if (role === 'client') {
      const networkKey = options.networkKey === undefined ? randomBytes(NETWORK_KEY_BYTES) : parseNetworkKey(options.networkKey)
      const harness = new ClientHarness({ ...limits, command: options.cmd as string, keys: generateKeyPair(), clientKeys: generateKeyPair(), networkKey, folder, stderr: log.isVerbose })
      label = options.cmd as string
      if (!json) process.stdout.write(formatHeader(role, label))
      results = await runClientRole(harness, checks, onResult)
    } else {
      let target: ServerTarget
      let keys: KeyPair
      let networkKey: Uint8Array
      if (options.cmd !== undefined) {
        networkKey = options.networkKey === undefined ? randomBytes(NETWORK_KEY_BYTES) : parseNetworkKey(options.networkKey)
        // Our identity as the client; the server's is made inside, for its environment.
        keys = generateKeyPair()
        target = await CommandTarget.start(options.cmd, generateKeyPair(), networkKey, folder, { startTimeout: options.startTimeout, stderr: log.isVerbose })
        label = `${options.cmd} (on ${formatHostPort(target.address)})`
      } else {
        const remote = parseRemoteAddress(address as string, options.remote)
        networkKey = parseNetworkKey(options.networkKey)
        keys = options.keys === undefined ? generateKeyPair() : (await loadKeyFile(options.keys, (message) => { log.warn(message) })).keys
        target = addressTarget(remote)
        label = `${formatHostPort(remote)} (${formatId(remote.remotePublicKey)})`
      }
      try {
        if (!json) process.stdout.write(formatHeader(role, label))
        results = await runServerRole({ ...limits, target, keys, networkKey }, checks, onResult)
      } catch (err) {
        if (!(err instanceof ProbeConnectError)) throw err
        throw new CliError(EXIT.NETWORK, `${err.message}: check the address and that the server runs`, { cause: err })
      } finally {
        await target.close()
      }
    }
  } finally {
    await folder.remove()
  }
  process.stdout.write(json ? formatJson(role, label, results) : formatSummary(results))
  if (options.junit !== undefined) await writeFile(options.junit, formatJunit(role, label, results))
  return results.some((result) => result.status === 'fail') ? EXIT.CONFORMANCE_FAILED : EXIT.OK
}
