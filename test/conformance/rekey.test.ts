/**
 * The rekey checks (rk.*) against our own server and client: with the extension (and triggers
 * low enough for their own rekeys to start during the checks) every rk check passes in both
 * roles; without it every rk check is SKIPPED with the note, and the server is probed once.
 */
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { type ConformanceReport, listChecks, runClientChecks, runServerChecks } from '../../src/conformance/index.ts'
import { SSB_NETWORK_KEY, formatNetAddress, generateKeyPair, listen } from '../../src/index.ts'
import { useLeakChecks } from '../helpers/resources.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const shs = `"${process.execPath}" --conditions=shs-source "${MAIN}"`
const SERVER = `${shs} listen "$SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT" --keys "$SHS_CONFORMANCE_KEYS_FILE" ` +
  '--network-key "$SHS_CONFORMANCE_NETWORK_KEY" --exec cat --timeout 2000'
const CLIENT = `${shs} connect "$SHS_CONFORMANCE_ADDRESS" --keys "$SHS_CONFORMANCE_KEYS_FILE" ` +
  '--network-key "$SHS_CONFORMANCE_NETWORK_KEY" --timeout 2000'
/** Their own rekeys start after 1 MiB sent, within the 2 MiB the rk.peer-starts and rk.crossing checks move. */
const TRIGGERS = '--rekey-after-bytes 1M'
const RK = listChecks().filter((check) => check.id.startsWith('rk.')).map((check) => check.id)
const LIMITS = { replyTimeout: 3000, stallLimit: 3000 }

const statuses = (report: ConformanceReport): Record<string, string> => Object.fromEntries(report.checks.map((check) => [check.id, check.status]))
const all = (status: string): Record<string, string> => Object.fromEntries(RK.map((id) => [id, status]))

describe('shs-transport/conformance: the rekey checks against ours', function () {
  this.timeout(120_000)
  useLeakChecks()

  it('lists the rekey checks, in both roles', () => {
    assert.deepEqual(RK, ['rk.rekey', 'rk.fresh-ephemeral', 'rk.peer-starts', 'rk.crossing', 'rk.tampered-control', 'rk.unknown-control', 'rk.short-control', 'rk.unexpected-switch'])
    for (const check of listChecks().filter((entry) => RK.includes(entry.id))) assert.deepEqual(check.roles, ['server', 'client'])
  })

  it('our server with the extension (shs listen --rekey prefer) passes every rk check', async () => {
    const report = await runServerChecks({ command: `${SERVER} --rekey prefer ${TRIGGERS}`, only: ['rk'], ...LIMITS })
    assert.deepEqual(statuses(report), all('pass'), JSON.stringify(report.checks, null, 2))
    assert.deepEqual(report.notices, [])
  })

  it('a listen() with the extension, checked by address: every rk check passes, over the probe of an address target', async () => {
    const keys = generateKeyPair()
    const listener = await listen({ port: 0, keys, networkKey: SSB_NETWORK_KEY, rekey: { mode: 'prefer', afterBytes: 1024 * 1024 } },
      (stream) => { void stream.sink(stream.source) })
    try {
      const report = await runServerChecks({ address: formatNetAddress(listener.address(), keys.publicKey), only: ['rk'], ...LIMITS })
      assert.deepEqual(statuses(report), all('pass'), JSON.stringify(report.checks, null, 2))
    } finally {
      await listener.close()
    }
  })

  it('our client with the extension (shs connect --rekey prefer) passes every rk check, and the plain ones after its fallback', async () => {
    // A plain check hangs up on its hello under K', as a stock server does; the check gets the client's plain retry.
    const plain = ['hs.valid', 'hs.wrong-network-key', 'bs.size-4097', 'bs.cut']
    const report = await runClientChecks({ command: `${CLIENT} --rekey prefer ${TRIGGERS}`, only: ['rk', ...plain], ...LIMITS })
    assert.deepEqual(statuses(report), { ...Object.fromEntries(plain.map((id) => [id, 'pass'])), ...all('pass') }, JSON.stringify(report.checks, null, 2))
  })

  it('a client that requires the extension fails the plain checks: it does not connect again with SHS1', async () => {
    const report = await runClientChecks({ command: `${CLIENT} --rekey require`, only: ['hs.valid', 'rk.rekey'], ...LIMITS })
    assert.deepEqual(statuses(report), { 'hs.valid': 'fail', 'rk.rekey': 'pass' })
    assert.match(report.checks[0]?.reason ?? '', /^the client exited with status \d+ without a connection \(it had to connect again with plain SHS1 after we hung up on its hello under K'\)$/)
  })

  it('a server without it (--rekey off): every rk check SKIPPED, the probe said why', async () => {
    const report = await runServerChecks({ command: `${SERVER} --rekey off`, only: ['rk', 'hs.valid'], ...LIMITS })
    assert.deepEqual(statuses(report), { 'hs.valid': 'pass', ...all('skip') })
    for (const check of report.checks.filter((entry) => entry.id.startsWith('rk.'))) {
      assert.equal(check.reason, 'the peer does not offer shs-rekey/1 (it hung up on a hello under K\')')
    }
    assert.equal(report.passed, true)
  })

  it('a client without it (no --rekey): every rk check SKIPPED after a clean plain session', async () => {
    const report = await runClientChecks({ command: CLIENT, only: ['rk'], ...LIMITS })
    assert.deepEqual(statuses(report), all('skip'), JSON.stringify(report.checks, null, 2))
    for (const check of report.checks) assert.equal(check.reason, 'the peer does not offer shs-rekey/1 (its hello verified under K, not K\')')
  })
})
