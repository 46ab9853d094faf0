/**
 * `npm run test:peers`: `shs conformance` in both roles against three implementations, ours, the
 * npm reference (secret-handshake + pull-box-stream, scripts/conformance/) and go-secretstream
 * (../shared/peers, built with Go), with the default limits. Each run must give exactly the
 * results docs/CONFORMANCE.md publishes; a changed result means the matrix there is out of date.
 * Not part of `npm test`: it needs ../shared and Go (build.sh installs Debian's golang-go as root).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type Report, parseReport } from '../cli/conformance/report.ts'

const run = promisify(execFile)
const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))))
const NODE = `"${process.execPath}"`
const SHS = `${NODE} "${join(ROOT, 'src/cli/main.ts')}"`
const REFERENCE = (role: string): string => `${NODE} "${join(ROOT, `scripts/conformance/reference-${role}.ts`)}" 2>/dev/null`

/** ../shared next to the checkout, or two levels up from a git worktree; SHS_SHARED overrides. */
function sharedDir (): string {
  const candidates = [process.env.SHS_SHARED, join(ROOT, '..', 'shared'), join(ROOT, '..', '..', 'shared')]
  const found = candidates.find((dir) => dir !== undefined && existsSync(join(dir, 'peers', 'go-secretstream', 'build.sh')))
  if (found === undefined) throw new Error(`no ../shared/peers/go-secretstream (looked in ${candidates.filter(Boolean).join(', ')}); set SHS_SHARED`)
  return found
}

const SMALL_ORDER = ['zero', 'one', 'order8a', 'order8b', 'p-1', 'p', 'p+1'].map((name) => `hs.small-order-${name}`)
const STALLS = ['hs.stall-before-hello', 'hs.stall-after-hello', 'hs.stall-mid-auth']

interface Expected {
  readonly fail: readonly string[]
  readonly warn: readonly string[]
  /** A reason every failure must match. */
  readonly reasons?: Readonly<Record<string, RegExp>>
}

/** The published matrix (docs/CONFORMANCE.md): everything not listed passes, or is skipped as not applicable. */
const MATRIX: Record<string, { command: (go: string) => string, expected: Expected, role: 'server' | 'client' }> = {
  'ours server': {
    role: 'server',
    command: () => `${SHS} listen "$SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT" --keys "$SHS_CONFORMANCE_KEYS_FILE" --network-key "$SHS_CONFORMANCE_NETWORK_KEY" --exec cat`,
    expected: { fail: [], warn: [] }
  },
  'ours client': {
    role: 'client',
    command: () => `${SHS} connect "$SHS_CONFORMANCE_ADDRESS" --keys "$SHS_CONFORMANCE_KEYS_FILE" --network-key "$SHS_CONFORMANCE_NETWORK_KEY"`,
    expected: { fail: [], warn: [] }
  },
  'reference server': {
    role: 'server',
    command: () => REFERENCE('server'),
    expected: {
      fail: [...SMALL_ORDER, 'bs.oversized-length'],
      warn: [],
      reasons: Object.fromEntries([...SMALL_ORDER.map((id) => [id, /^CRASH: the server process exited/]), ['bs.oversized-length', /echoed 5000 bytes/]])
    }
  },
  'reference client': {
    role: 'client',
    command: () => REFERENCE('client'),
    expected: { fail: ['bs.oversized-length'], warn: [], reasons: { 'bs.oversized-length': /printed 5000 bytes/ } }
  },
  'go-secretstream server': {
    role: 'server',
    command: (go) => `"${go}" server -listen "$SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT" -netkey "$SHS_CONFORMANCE_NETWORK_KEY" -secret "$SHS_CONFORMANCE_SECRET" -mode raw >/dev/null 2>&1`,
    expected: {
      fail: [...SMALL_ORDER, ...STALLS],
      warn: [],
      reasons: Object.fromEntries([...SMALL_ORDER.map((id) => [id, /answered .* with 64 bytes/]), ...STALLS.map((id) => [id, /for more than 20\.00 s/])])
    }
  },
  'go-secretstream client': {
    role: 'client',
    command: (go) => `"${go}" pipe -addr "$SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT" -netkey "$SHS_CONFORMANCE_NETWORK_KEY" -remote "$SHS_CONFORMANCE_SERVER_KEY" -secret "$SHS_CONFORMANCE_SECRET" 2>/dev/null`,
    expected: {
      fail: [...SMALL_ORDER, ...STALLS],
      warn: [],
      reasons: Object.fromEntries([...SMALL_ORDER.map((id) => [id, /answered .* with 112 bytes/]), ...STALLS.map((id) => [id, /still waiting .* after 20\.00 s/])])
    }
  }
}

describe('shs conformance against ours, the reference and go-secretstream (npm run test:peers)', function () {
  this.timeout(600_000)
  const reports = new Map<string, Promise<Report>>()
  let buildDir: string

  before(async () => {
    buildDir = await mkdtemp(join(tmpdir(), 'shs-peers-'))
    const { stdout } = await run(join(sharedDir(), 'peers', 'go-secretstream', 'build.sh'), [join(buildDir, 'shsgo')])
    const go = stdout.trim()
    // Side by side: each run mostly waits (the stall checks wait out the 20 s limit).
    for (const [name, { role, command }] of Object.entries(MATRIX)) {
      const report = run(process.execPath, [join(ROOT, 'src/cli/main.ts'), 'conformance', role, '--cmd', command(go), '--json'], { maxBuffer: 1 << 24 })
        .catch((err: { code?: number, stdout?: string }) => {
          // Exit 8: some check failed, which the matrix expects for some peers.
          if (err.code === 8 && err.stdout !== undefined) return { stdout: err.stdout }
          throw err
        })
        .then(({ stdout }) => parseReport(Buffer.from(stdout)))
      report.catch(() => {})
      reports.set(name, report)
    }
  })

  after(async () => {
    await Promise.allSettled(reports.values())
    await rm(buildDir, { recursive: true, force: true })
  })

  for (const [name, { expected }] of Object.entries(MATRIX)) {
    it(`${name}: fails ${expected.fail.length === 0 ? 'nothing' : expected.fail.join(', ')}${expected.warn.length > 0 ? `; warns ${expected.warn.join(', ')}` : ''}`, async () => {
      const report = await (reports.get(name) as Promise<Report>)
      const by = (status: string): string[] => report.checks.filter((check) => check.status === status).map((check) => check.id)
      const details = JSON.stringify(report.checks.filter((check) => check.status !== 'pass'), null, 2)
      assert.deepEqual(by('fail').sort(), [...expected.fail].sort(), details)
      assert.deepEqual(by('warn').sort(), [...expected.warn].sort(), details)
      assert.ok(by('skip').length === 1, details)
      for (const check of report.checks) {
        const pattern = expected.reasons?.[check.id]
        if (pattern !== undefined) assert.match(check.reason, pattern)
      }
    })
  }
})
