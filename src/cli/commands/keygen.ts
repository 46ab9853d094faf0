/** `shs keygen`: a new identity in an ssb-keys compatible secret file. */
import type { Command } from 'commander'
import { EXIT } from '../exit-codes.ts'
import { formatId } from '../identity.ts'
import { writeNewKeyFile } from '../keyfile.ts'
import { DEFAULT_KEYS_HELP, defaultKeysPath } from '../paths.ts'

interface KeygenOptions {
  out?: string
  force?: boolean
}

const EXAMPLES = `
Prints the new id on stdout; the file is readable by you alone (mode 0600) and
has the ssb-keys format, so Scuttlebutt software can load it (and shs loads
theirs).

Examples:
  $ shs keygen                          # default file, prints @....ed25519
  $ shs keygen --out ./server.secret    # a second identity, e.g. for a server
  $ shs keygen -o ./server.secret -f    # replace it: the old identity is lost`

export function registerKeygen (program: Command): void {
  program.command('keygen')
    .description('create a new identity (Ed25519 key pair) and print its id')
    .option('-o, --out <file>', `where to write the secret key (default: ${DEFAULT_KEYS_HELP})`)
    .option('-f, --force', 'replace an existing file (its identity is lost for good)')
    .addHelpText('after', EXAMPLES)
    .action(async (options: KeygenOptions) => {
      const path = options.out ?? defaultKeysPath()
      const keys = await writeNewKeyFile(path, options.force === true)
      process.stdout.write(`${formatId(keys.publicKey)}\n`)
      process.stderr.write(`shs: wrote the secret key to ${path}; share only the id above\n`)
      process.exitCode = EXIT.OK
    })
}
