import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '../../src/index.ts'
import { type Sandbox, useSandbox } from './helpers.ts'
import { FAST, type Report, statuses } from './conformance/report.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const shs = `"${process.execPath}" "${MAIN}"`
/**
 * Our own server and client as commands under test, with short handshake timeouts for the stall
 * checks, and the rekey extension: each starts rekeys of its own after 1 MiB, within what
 * rk.peer-starts and rk.crossing move. The client (`prefer`) takes the plain checks after its
 * fallback: they hang up on its hello under K', as a stock server does.
 */
const OUR_SERVER = `${shs} listen "$SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT" --keys "$SHS_CONFORMANCE_KEYS_FILE" ` +
  '--network-key "$SHS_CONFORMANCE_NETWORK_KEY" --exec cat --timeout 500 --rekey-after-bytes 1M'
const OUR_CLIENT = `${shs} connect "$SHS_CONFORMANCE_ADDRESS" --keys "$SHS_CONFORMANCE_KEYS_FILE" ` +
  '--network-key "$SHS_CONFORMANCE_NETWORK_KEY" --timeout 1000 --rekey prefer --rekey-after-bytes 1M'

/** Not SHS at all: answers the first bytes of every connection with 64 random bytes, never hangs up. */
async function startWrongServer (): Promise<{ port: number, close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.once('data', () => { socket.write(randomBytes(64)) })
    socket.resume()
    // The probes reset connections on purpose; that is not a failure of this fake server.
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => { server.close(resolve) })
    }
  }
}

async function listIds (sandbox: Sandbox): Promise<Array<{ id: string, roles: string }>> {
  const listed = await sandbox.run(['conformance', '--list'])
  assert.equal(listed.code, 0, listed.stderr)
  return listed.stdout.toString('utf8').trim().split('\n').map((line) => {
    const [id, roles] = line.split(/\s+/)
    return { id: id as string, roles: roles as string }
  })
}

/**
 * Everything ours must pass. The one exception is documented in docs/CONFORMANCE.md: our
 * box-stream decoder refuses a zero-length packet, which the references accept (a warning).
 */
function assertAllPass (report: Report, listed: Array<{ id: string, roles: string }>, role: 'server' | 'client'): void {
  assert.deepEqual(report.checks.map((check) => check.id), listed.map((check) => check.id))
  for (const check of report.checks) {
    const applies = listed.find((entry) => entry.id === check.id)?.roles.split('+').includes(role) === true
    const expected = !applies ? ['skip'] : check.id === 'bs.zero-length' ? ['pass', 'warn'] : ['pass']
    assert.ok(expected.includes(check.status), `${check.id}: ${check.status}: ${check.reason}`)
    assert.match(check.title, /^the peer (must|should) /)
    assert.ok(Number.isInteger(check.ms) && check.ms >= 0)
  }
  assert.equal(report.passed, true)
}

describe('shs CLI: conformance', function () {
  // Each client-role check starts one `shs connect`: about forty short processes.
  this.timeout(120_000)
  const currentSandbox = useSandbox()
  let sandbox: Sandbox
  beforeEach(() => { sandbox = currentSandbox() })

  it('passes our own server (shs listen --exec cat) on every check, started with server --cmd; JSON and JUnit', async () => {
    const listed = await listIds(sandbox)
    const junit = sandbox.path('server.xml')
    const result = await sandbox.run(['conformance', 'server', '--cmd', OUR_SERVER, '--json', '--junit', junit, ...FAST])
    assert.equal(result.code, 0, `${result.stdout.toString('utf8')}\n${result.stderr}`)
    const report = JSON.parse(result.stdout.toString('utf8')) as Report
    assert.equal(report.role, 'server')
    assert.deepEqual(Object.keys(report), ['role', 'target', 'passed', 'summary', 'checks', 'notices'])
    assertAllPass(report, listed, 'server')
    const reasons = Object.fromEntries(report.checks.map((check) => [check.id, check.reason]))
    assert.match(reasons['hs.stall-after-hello'] ?? '', /dropped a client that stalled after the hellos after \d+\.\d\d s/)
    assert.match(reasons['bs.half-close-receive'] ?? '', /^skipped: applies to clients only/)

    const xml = await readFile(junit, 'utf8')
    assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="shs conformance" tests="\d+" failures="0"/)
    assert.equal(xml.match(/<testcase /g)?.length, report.checks.length)
    assert.equal(xml.match(/<skipped /g)?.length, report.summary.skip)
  })

  it('passes our own client (shs connect) on every check, started with client --cmd once per connection', async () => {
    const listed = await listIds(sandbox)
    const result = await sandbox.run(['conformance', 'client', '--cmd', OUR_CLIENT, '--json', ...FAST])
    assert.equal(result.code, 0, `${result.stdout.toString('utf8')}\n${result.stderr}`)
    const report = JSON.parse(result.stdout.toString('utf8')) as Report
    assert.equal(report.role, 'client')
    assertAllPass(report, listed, 'client')
    const reasons = Object.fromEntries(report.checks.map((check) => [check.id, check.reason]))
    assert.match(reasons['hs.auth-for-other-server'] ?? '', /^skipped: applies to servers only/)
    assert.match(reasons['hs.stall-mid-auth'] ?? '', /the client gave up .* after \d+\.\d\d s and exited with status 5/)
  })

  it('checks a running server by ADDRESS (the alias without "server"), streaming one line per check', async () => {
    const server = await sandbox.keygen('server.secret')
    const listen = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path, '--exec', 'cat', '--timeout', '500'])
    const { address } = await listen.listening()
    const only = 'hs.valid,hs.wrong-network-key,bs.size-4097,bs.after-goodbye'
    const text = await sandbox.run(['conformance', address ?? '', '--only', only, ...FAST])
    assert.equal(text.code, 0, text.stderr)
    const lines = text.stdout.toString('utf8').trim().split('\n')
    assert.match(lines[0] ?? '', /^conformance of the server: 127\.0\.0\.1:\d+ \(@.*\.ed25519\)$/)
    assert.deepEqual(lines.slice(1, -1).map((line) => line.split(/\s+/).slice(0, 2).join(' ')),
      only.split(',').map((id) => `PASS ${id}`))
    assert.equal(lines.at(-1), '4 passed, 0 failed')

    const skipped = await sandbox.run(['conformance', 'server', address ?? '', '--only', 'hs', '--skip', 'hs.small-order,hs.stall,hs.hangup', '--json', ...FAST])
    assert.equal(skipped.code, 0, skipped.stderr)
    const ids = (JSON.parse(skipped.stdout.toString('utf8')) as Report).checks.map((check) => check.id)
    assert.ok(ids.length > 5 && ids.every((id) => id.startsWith('hs.') && !/small-order|stall|hangup/.test(id)), ids.join())
  })

  it('against `shs listen` without --exec cat (it serves one client, then stops): exits 8, and a note says how to keep it serving', async () => {
    const server = await sandbox.keygen('server.secret')
    const listen = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path])
    const { address } = await listen.listening()
    const text = await sandbox.run(['conformance', address ?? '', ...FAST])
    assert.equal(text.code, 8, text.stderr)
    const lines = text.stdout.toString('utf8').trim().split('\n')
    // Which check meets the closed port depends on how fast shs listen exits after its client: the first or the second.
    const failed = lines.filter((line) => line.startsWith('FAIL'))
    assert.equal(failed.length, 1, lines.join('\n'))
    const during = /^FAIL {2}(hs\.valid|hs\.wrong-network-key) /.exec(failed[0] ?? '')?.[1]
    assert.ok(during !== undefined, failed[0])
    assert.match(lines.at(-2) ?? '', new RegExp(`^note: the server stopped accepting connections after \\d \\(during ${during.replace('.', '\\.')}\\), ` +
      'so the checks after it were not run\\. .*add `--exec cat`'))
    assert.match(lines.at(-1) ?? '', /^[01] passed, 1 failed, 4[56] skipped$/)
  })

  it('reports failures and exits 8 against a server that answers anything', async () => {
    const wrong = await startWrongServer()
    try {
      const serverId = `@${Buffer.from(generateKeyPair().publicKey).toString('base64')}.ed25519`
      const json = await sandbox.run(['conformance', `127.0.0.1:${wrong.port}`, '--remote', serverId, '--json',
        '--only', 'hs.valid,hs.random-hello,bs.size-1,hs.stall-before-hello', '--timeout', '1000', '--stall-timeout', '1000'])
      assert.equal(json.code, 8, json.stderr)
      const report = JSON.parse(json.stdout.toString('utf8')) as Report
      assert.equal(report.passed, false)
      assert.deepEqual(statuses(report), {
        'hs.valid': 'fail', 'hs.random-hello': 'fail', 'bs.size-1': 'fail', 'hs.stall-before-hello': 'fail'
      })
      const reasons = Object.fromEntries(report.checks.map((check) => [check.id, check.reason]))
      assert.match(reasons['hs.valid'] ?? '', /server hello \(message 2\) did not verify/)
      assert.match(reasons['hs.random-hello'] ?? '', /answered 64 random bytes with 64 bytes/)
      assert.match(reasons['hs.stall-before-hello'] ?? '', /kept a client that stalled before our hello for more than 1\.00 s/)
    } finally {
      await wrong.close()
    }
  })

  it('exits 6 when the server cannot be reached, 2 on an unknown check id or a client role without --cmd', async () => {
    const probe = net.createServer()
    await new Promise<void>((resolve) => { probe.listen(0, '127.0.0.1', resolve) })
    const { port } = probe.address() as net.AddressInfo
    await new Promise((resolve) => { probe.close(resolve) })
    const serverId = `@${Buffer.from(generateKeyPair().publicKey).toString('base64')}.ed25519`
    const unreachable = await sandbox.run(['conformance', `127.0.0.1:${port}`, '--remote', serverId])
    assert.equal(unreachable.code, 6)
    assert.match(unreachable.stderr, /could not connect to 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/)

    const unknown = await sandbox.run(['conformance', `127.0.0.1:${port}`, '--remote', serverId, '--only', 'hs.nope'])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /no check is named "hs\.nope"/)
    const noCmd = await sandbox.run(['conformance', 'client'])
    assert.equal(noCmd.code, 2)
    assert.match(noCmd.stderr, /the client role needs --cmd/)
  })

  it('documents the environment of --cmd in --help', async () => {
    const help = await sandbox.run(['conformance', '--help'])
    assert.equal(help.code, 0)
    for (const name of ['HOST', 'PORT', 'ADDRESS', 'SERVER_KEY', 'NETWORK_KEY', 'SECRET', 'KEYS_FILE']) {
      assert.match(help.stdout.toString('utf8'), new RegExp(`SHS_CONFORMANCE_${name} `))
    }
  })
})
