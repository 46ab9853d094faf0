/** `shs conformance`: a battery of handshake checks against any SHS server, PASS/FAIL per check. */
import type { Command } from 'commander'
import { Option } from 'commander'
import { generateKeyPair } from '../../index.ts'
import { parseRemoteAddress } from '../address.ts'
import { CliError } from '../errors/cli-error.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { loadKeyFile } from '../keyfile.ts'
import { Log } from '../log.ts'
import { networkKeyOption, parsePositiveInteger, verboseOption } from '../options.ts'
import { parseNetworkKey } from '../network-key.ts'
import { ProbeConnectError } from '../conformance/raw-connection.ts'
import { runConformance } from '../conformance/run.ts'
import { formatHeader, formatJson, formatResultLine, formatSummary } from '../conformance/report.ts'

interface ConformanceOptions {
  remote?: string
  keys?: string
  networkKey?: string
  json?: boolean
  timeout: number
  stallTimeout: number
  verbose?: boolean
}

const DEFAULT_REPLY_TIMEOUT_MS = 5_000
const DEFAULT_STALL_TIMEOUT_MS = 30_000

const EXAMPLES = `
Checks, each on its own connection:
  handshake, box-stream  a valid handshake completes; data and goodbye cross
  wrong-network-key      a hello with another network key: no reply, hang-up
  wrong-server-key       message 3 for another server key: refused, hang-up
  random-hello           64 random bytes: no reply, hang-up
  truncated-hello        half a hello, then end of stream: no reply, hang-up
  random-client-auth     a valid hello, then 112 random bytes: no reply, hang-up
  stalling-client        a valid hello, then silence: dropped (after how long)
Exits 0 if every check passed, 8 if any failed. Against "shs listen", use
--exec or --forward: the default stdio mode takes only one client. An echo
server (--exec cat) also shows the box stream carrying our payload back.

Examples:
  $ shs conformance net:pub.example.org:8008~shs:KEY
  $ shs conformance 127.0.0.1:8008 -r @KEY.ed25519 --json --stall-timeout 5000`

export function registerConformance (program: Command): void {
  program.command('conformance')
    .description('check that an SHS server completes valid handshakes and refuses bad ones')
    .argument('<address>', 'net:HOST:PORT~shs:KEY, or HOST:PORT with --remote')
    .option('-r, --remote <id>', 'the server\'s id (@<base64>.ed25519) when ADDRESS is HOST:PORT')
    .option('-k, --keys <file>', 'client identity to use (default: a fresh random one for this run); ' +
      'needed when the server only accepts listed clients')
    .addOption(networkKeyOption())
    .option('--json', 'print the results as one JSON document')
    .addOption(new Option('-t, --timeout <ms>', 'how long to wait for each reply, or for the hang-up after a bad message')
      .default(DEFAULT_REPLY_TIMEOUT_MS).argParser(parsePositiveInteger))
    .addOption(new Option('--stall-timeout <ms>', 'how long the stall check waits for the server to drop a silent client')
      .default(DEFAULT_STALL_TIMEOUT_MS).argParser(parsePositiveInteger))
    .addOption(verboseOption())
    .addHelpText('after', EXAMPLES)
    .action(async (address: string, options: ConformanceOptions) => {
      process.exitCode = await runConformanceCommand(address, options)
    })
}

async function runConformanceCommand (addressText: string, options: ConformanceOptions): Promise<ExitCode> {
  const log = new Log(options.verbose === true)
  const target = parseRemoteAddress(addressText, options.remote)
  const networkKey = parseNetworkKey(options.networkKey)
  const keys = options.keys === undefined
    ? generateKeyPair()
    : (await loadKeyFile(options.keys, (message) => { log.warn(message) })).keys
  const json = options.json === true
  const context = { target, keys, networkKey, replyTimeout: options.timeout, stallTimeout: options.stallTimeout }
  if (!json) process.stdout.write(formatHeader(target))
  let results
  try {
    results = await runConformance(context, (result) => {
      if (!json) process.stdout.write(formatResultLine(result))
      else log.verbose(formatResultLine(result).trimEnd())
    })
  } catch (err) {
    if (!(err instanceof ProbeConnectError)) throw err
    throw new CliError(EXIT.NETWORK, `${err.message}: check the address and that the server runs`, { cause: err })
  }
  process.stdout.write(json ? formatJson(target, results) : formatSummary(results))
  return results.some((result) => result.status === 'fail') ? EXIT.CONFORMANCE_FAILED : EXIT.OK
}
