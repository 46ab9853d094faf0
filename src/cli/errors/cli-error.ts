/**
 * A failure the CLI itself detected (bad input, a key file problem) that already knows its
 * exit code and the one-line message to show.
 */
import type { ExitCode } from '../exit-codes.ts'

export class CliError extends Error {
  readonly exitCode: ExitCode

  constructor (exitCode: ExitCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}
