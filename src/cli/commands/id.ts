/** `shs id`: your id (or another one's) and a fingerprint to compare by reading it aloud. */
import type { Command } from 'commander'
import { EXIT } from '../exit-codes.ts'
import { fingerprint, formatId, parseId } from '../identity.ts'
import { loadKeyFile } from '../keyfile.ts'
import { Log } from '../log.ts'
import { keysOption } from '../options.ts'
import { defaultKeysPath } from '../paths.ts'

interface IdOptions {
  keys?: string
}

const EXAMPLES = `
Prints the id on the first line and its fingerprint on the second. To check
that the id someone sent you is really theirs, run "shs id THEIR_ID" and compare
the digits with the ones they read from "shs id" on their machine (on the
phone, or in person).

Examples:
  $ shs id                              # your id and fingerprint
  $ shs id --keys ./server.secret       # the id of another key file
  $ shs id @FYQ...=.ed25519             # the fingerprint of someone else's id`

export function registerId (program: Command): void {
  program.command('id')
    .description('print the id of a key file (or of ID) and its fingerprint')
    .argument('[id]', 'an id (@<base64>.ed25519) to fingerprint instead of a key file')
    .addOption(keysOption())
    .addHelpText('after', EXAMPLES)
    .action(async (id: string | undefined, options: IdOptions) => {
      const publicKey = id !== undefined
        ? parseId(id, 'ID')
        : (await loadKeyFile(options.keys ?? defaultKeysPath(), (message) => { new Log(false).warn(message) })).keys.publicKey
      process.stdout.write(`${formatId(publicKey)}\nfingerprint: ${fingerprint(publicKey)}\n`)
      process.exitCode = EXIT.OK
    })
}
