/** The command tree: global settings once, then each command from its own module. */
import { Command } from 'commander'
import { registerConformance } from './commands/conformance.ts'
import { registerConnect } from './commands/connect.ts'
import { registerId } from './commands/id.ts'
import { registerKeygen } from './commands/keygen.ts'
import { registerListen } from './commands/listen.ts'
import { packageInfo } from './package-info.ts'

const OVERVIEW = `
Examples:
  $ shs keygen                              # make your identity, print its id
  $ shs listen 8008 > received.bin          # like nc -l; its address on stderr
  $ shs connect net:HOST:8008~shs:KEY < file.bin        # like nc HOST 8008
  $ shs listen -k 8008 >> log.txt           # each client in turn, like nc -lk
  $ shs listen 0.0.0.0:8008 --permit-open 127.0.0.1:80  # far end of a tunnel
  $ shs connect net:HOST:8008~shs:KEY -L 8080:127.0.0.1:80   # near end: ssh -L
  $ shs conformance net:HOST:8008~shs:KEY   # check any SHS server
  $ shs conformance client --cmd 'CMD'   # check an SHS client (see its --help)

Exit codes: 0 ok, 1 bug, 2 usage, 3 key file, 4 handshake refused, 5 timeout,
6 network failure, 7 secure stream broken, 8 conformance check failed,
130/143 interrupted (SIGINT/SIGTERM).

Without --network-key, every command uses the Secure Scuttlebutt main network
key.`

/** Help lines never run wider than this, whatever the terminal: a classic terminal's width. */
export const HELP_COLUMNS = 80

export function buildProgram (): Command {
  const program = new Command('shs')
    .description('Secure Scuttlebutt secret handshake (SHS1) and box stream from the shell: ' +
      'keys, encrypted pipes, tunnels and conformance checks')
    .version(packageInfo().version, '-V, --version')
    .addHelpText('after', OVERVIEW)
    // Option descriptions wrap at 80 columns even on a wider terminal, like the texts above.
    // The command list shows each command's arguments without "[options]" (its own help lists
    // them), so the longest entry still leaves commander room to wrap the descriptions beside it.
    .configureHelp({ helpWidth: HELP_COLUMNS, subcommandTerm: commandTerm })
    // Subcommands inherit these settings: they must be set before the commands are added.
    .exitOverride()
    .configureOutput({
      outputError: (message, write) => {
        write(`shs: ${message.replace(/^error: /, '').trimEnd()} (see --help)\n`)
      }
    })
  registerKeygen(program)
  registerId(program)
  registerListen(program)
  registerConnect(program)
  registerConformance(program)
  return program
}

function commandTerm (command: Command): string {
  const args = command.registeredArguments.map((arg) => {
    const name = arg.name() + (arg.variadic ? '...' : '')
    return arg.required ? `<${name}>` : `[${name}]`
  })
  return [command.name(), ...args].join(' ')
}
