/**
 * The help every command prints: within 80 columns even on a wide terminal, and one meaning
 * per short flag across all commands (so `-f` cannot be --force in one place and something
 * else in another).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { describeFailure } from '../../src/cli/errors/format.ts'
import { HELP_COLUMNS, buildProgram } from '../../src/cli/program.ts'

const WIDE_TERMINAL_COLUMNS = 200

/** The full help of a command, examples included, as a terminal this wide would show it. */
function helpOf (command: Command, columns: number): string {
  let text = ''
  command.configureOutput({ writeOut: (chunk) => { text += chunk }, getOutHelpWidth: () => columns })
  command.outputHelp()
  return text
}

describe('shs CLI: help', () => {
  const program = buildProgram()
  const commands = [program, ...program.commands]

  it('has the commands the docs describe', () => {
    assert.deepEqual(program.commands.map((command) => command.name()).sort(), ['conformance', 'connect', 'id', 'keygen', 'listen'])
  })

  for (const command of commands) {
    const name = command === program ? 'shs' : `shs ${command.name()}`
    it(`${name} --help fits in ${HELP_COLUMNS} columns, on a ${WIDE_TERMINAL_COLUMNS}-column terminal too`, () => {
      for (const columns of [HELP_COLUMNS, WIDE_TERMINAL_COLUMNS]) {
        const help = helpOf(command, columns)
        assert.match(help, /^Usage: shs/)
        const wide = help.split('\n').filter((line) => line.length > HELP_COLUMNS)
        assert.deepEqual(wide, [], `lines wider than ${HELP_COLUMNS} columns at ${columns}`)
      }
    })
  }

  it('gives each short flag one meaning across all commands', () => {
    const meanings = new Map<string, Set<string>>()
    for (const command of commands) {
      for (const option of command.options) {
        if (option.short === undefined || option.long === undefined) continue
        const longs = meanings.get(option.short) ?? new Set<string>()
        longs.add(option.long)
        meanings.set(option.short, longs)
      }
    }
    const clashes = [...meanings].filter(([, longs]) => longs.size > 1).map(([short, longs]) => `${short}: ${[...longs].join(', ')}`)
    assert.deepEqual(clashes, [])
    assert.ok(meanings.size >= 8, 'the commands have short flags to compare')
  })
})

describe('shs CLI: an unexpected error', () => {
  it('exits 1 and says where to report it: the issue tracker in package.json', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { bugs: { url: string } }
    const failure = describeFailure(new TypeError('something impossible'))
    assert.equal(failure.exitCode, 1)
    assert.match(failure.message, /^unexpected error: something impossible \(this is a bug in shs; please report it/)
    assert.ok(failure.message.includes(` at ${manifest.bugs.url})`), failure.message)
  })
})
