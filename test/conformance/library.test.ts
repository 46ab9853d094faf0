/**
 * shs-transport/conformance as a library: what it exports, and how it is built (it stands on the
 * library alone, never on the CLI; no module imports itself back; every file stays small).
 */
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  CHECK_STATUSES, COMMAND_ENVIRONMENT, ConformanceError, type ConformanceReport, checkBudget, formatJson, formatJunit, formatText,
  listChecks, runClientChecks, runServerChecks, selectChecks, summarize
} from '../../src/conformance/index.ts'
import { InvalidOptionError } from '../../src/index.ts'

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src')
const LIBRARY = path.join(SRC, 'conformance')
const MAX_LINES = 300

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name))
}

/** Every relative import of `file` (type-only ones too), as absolute paths. */
function importsOf (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/^(?:import|export)\b[^'"]*?from '(\.[^']+)'/gm)].map((match) => path.resolve(path.dirname(file), match[1] as string))
}

describe('shs-transport/conformance: the library', () => {
  it('lists every check once, with its roles, and selects by id or prefix', () => {
    const checks = listChecks()
    assert.equal(new Set(checks.map((check) => check.id)).size, checks.length)
    assert.ok(checks.length >= 39)
    for (const check of checks) {
      assert.match(check.title, /^the peer (must|should) /)
      assert.ok(check.roles.length > 0, check.id)
      for (const role of ['server', 'client'] as const) assert.equal(check.roles.includes(role), check.notApplicable[role] === undefined, check.id)
    }
    assert.deepEqual(selectChecks(checks, ['hs.small-order'], ['hs.small-order-p']).map((check) => check.id),
      ['zero', 'one', 'order8a', 'order8b', 'p-1', 'p+1'].map((name) => `hs.small-order-${name}`))
    assert.throws(() => selectChecks(checks, ['hs.nope'], undefined), (err: unknown) => err instanceof ConformanceError && err.code === 'ERR_CONFORMANCE_UNKNOWN_CHECK' && /"hs\.nope"/.test(err.message))
  })

  it('states each check\'s budget from the limits: ten replies, or the stall limit and five', () => {
    assert.equal(checkBudget({ slow: false }, { replyTimeout: 100, stallLimit: 1000 }), 1000)
    assert.equal(checkBudget({ slow: true }, { replyTimeout: 100, stallLimit: 1000 }), 1500)
  })

  it('refuses bad options at the call, typed, before it starts anything', async () => {
    await assert.rejects(runClientChecks({ command: '' }), (err: unknown) => err instanceof InvalidOptionError && err.option === 'command')
    await assert.rejects(runServerChecks({ command: 'true', replyTimeout: 0 }), (err: unknown) => err instanceof InvalidOptionError && err.option === 'replyTimeout')
    await assert.rejects(runServerChecks({ command: 'true', only: ['bs.nope'] }), (err: unknown) => err instanceof ConformanceError && err.code === 'ERR_CONFORMANCE_UNKNOWN_CHECK')
    await assert.rejects(runServerChecks({ command: 'exit 3', startTimeout: 2000 }), (err: unknown) => err instanceof ConformanceError &&
      err.code === 'ERR_CONFORMANCE_START' && /the server command exited with status 3 before it accepted a connection/.test(err.message))
  })

  it('formats one report as text, JSON and JUnit, a crash as a JUnit error', () => {
    const checks = [
      { id: 'hs.valid', title: 'the peer must complete a valid handshake', status: 'pass' as const, reason: 'completed', ms: 3 },
      { id: 'hs.random-hello', title: 'the peer must refuse a random first message', status: 'crash' as const, reason: 'the client was killed by SIGSEGV', ms: 5 }
    ]
    const report: ConformanceReport = { role: 'client', target: 'x', passed: false, summary: summarize(checks), checks, notices: ['a notice'] }
    assert.equal(formatText(report), 'conformance of the client: x\n' +
      'PASS  hs.valid                   the peer must complete a valid handshake: completed\n' +
      'CRASH hs.random-hello            the peer must refuse a random first message: the client was killed by SIGSEGV\n' +
      'note: a notice\n1 passed, 0 failed, 1 crashed\n')
    assert.deepEqual(JSON.parse(formatJson(report)), report)
    assert.match(formatJunit(report), /tests="2" failures="0" errors="1" skipped="0"/)
    assert.match(formatJunit(report), /<error type="crash" message="the client was killed by SIGSEGV"\/>/)
    assert.deepEqual(CHECK_STATUSES, ['pass', 'fail', 'warn', 'skip', 'crash'])
    assert.deepEqual(COMMAND_ENVIRONMENT.map((entry) => entry.name.replace('SHS_CONFORMANCE_', '')), ['HOST', 'PORT', 'ADDRESS', 'SERVER_KEY', 'NETWORK_KEY', 'SECRET', 'KEYS_FILE'])
  })

  it('stands on the library alone: no import of the CLI, no import cycle, no file over 300 lines', () => {
    const files = sources(LIBRARY)
    const cli = path.join(SRC, 'cli')
    for (const file of files) {
      assert.deepEqual(importsOf(file).filter((target) => target.startsWith(cli)), [], path.relative(SRC, file))
      assert.ok(readFileSync(file, 'utf8').split('\n').length <= MAX_LINES, path.relative(SRC, file))
    }
    // Depth-first over the library's own imports: a module met again on the current path is a cycle.
    const cycles: string[] = []
    const done = new Set<string>()
    const visit = (file: string, trail: string[]): void => {
      if (trail.includes(file)) { cycles.push([...trail.slice(trail.indexOf(file)), file].map((entry) => path.relative(LIBRARY, entry)).join(' -> ')); return }
      if (done.has(file)) return
      for (const target of importsOf(file).filter((entry) => entry.startsWith(LIBRARY))) visit(target, [...trail, file])
      done.add(file)
    }
    for (const file of files) visit(file, [])
    assert.deepEqual(cycles, [])
  })
})
