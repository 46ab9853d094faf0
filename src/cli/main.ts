#!/usr/bin/env node
/**
 * The `shs` command: keys, direct pipes and tunnels over Secure Scuttlebutt's secret handshake,
 * and conformance runs against any SHS server. Every failure ends as one line on stderr and a
 * documented exit code (exit-codes.ts), never as a stack trace.
 */
import { CommanderError } from 'commander'
import { describeFailure } from './errors/format.ts'
import { EXIT } from './exit-codes.ts'
import { flushAndExit } from './exit.ts'
import { buildProgram } from './program.ts'

const PREFIX = 'shs: '

function reportAndExit (err: unknown): void {
  // `shs --help | head`: whoever read our output left early. Not a failure of ours; the data
  // commands handle a closed stdout themselves (pipe.ts), so only such output gets here.
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' && (err as NodeJS.ErrnoException).syscall === 'write') {
    void flushAndExit(EXIT.OK)
    return
  }
  const failure = describeFailure(err)
  process.stderr.write(`${PREFIX}${failure.message}\n`)
  void flushAndExit(failure.exitCode)
}

// A failure outside any command's own handling (a bug, an error event nobody listened to) still
// ends as one line and an exit code.
process.on('uncaughtException', reportAndExit)
process.on('unhandledRejection', reportAndExit)

try {
  await buildProgram().parseAsync(process.argv)
  await flushAndExit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK)
} catch (err) {
  // Commander has already printed its own message for usage errors, and help for --help.
  if (err instanceof CommanderError) await flushAndExit(err.exitCode === 0 ? EXIT.OK : EXIT.USAGE)
  reportAndExit(err)
}
