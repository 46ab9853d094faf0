import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { generateKeyPair } from '../../src/index.ts'
import { type Sandbox, useSandbox } from './helpers.ts'

interface Report {
  passed: boolean
  summary: { pass: number, fail: number, skip: number }
  checks: Array<{ id: string, status: 'pass' | 'fail' | 'skip', reason: string }>
}

const ALL_CHECKS = ['handshake', 'box-stream', 'wrong-network-key', 'wrong-server-key', 'random-hello',
  'truncated-hello', 'random-client-auth', 'stalling-client']

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

function statuses (report: Report): Record<string, string> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check.status]))
}

describe('shs CLI: conformance', function () {
  const currentSandbox = useSandbox()
  let sandbox: Sandbox
  beforeEach(() => { sandbox = currentSandbox() })

  it('passes every check against our own listen (an echo server that drops stalled handshakes), as JSON and as text', async () => {
    const server = await sandbox.keygen('server.secret')
    const listen = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path, '--exec', 'cat', '--timeout', '500'])
    const { address } = await listen.listening()

    const result = await sandbox.run(['conformance', address ?? '', '--json', '--timeout', '5000', '--stall-timeout', '10000'])
    assert.equal(result.code, 0, `${result.stdout.toString('utf8')}\n${result.stderr}`)
    const report = JSON.parse(result.stdout.toString('utf8')) as Report
    assert.equal(report.passed, true)
    assert.deepEqual(report.checks.map((check) => check.id), ALL_CHECKS)
    assert.deepEqual(report.summary, { pass: ALL_CHECKS.length, fail: 0, skip: 0 })
    const reasons = Object.fromEntries(report.checks.map((check) => [check.id, check.reason]))
    assert.match(reasons['box-stream'] ?? '', /our 5000-byte payload back, then goodbye/)
    assert.match(reasons['stalling-client'] ?? '', /dropped us after \d+\.\d\d s/)

    const text = await sandbox.run(['conformance', address ?? '', '--stall-timeout', '10000'])
    assert.equal(text.code, 0, text.stderr)
    const lines = text.stdout.toString('utf8').trim().split('\n')
    assert.match(lines[0] ?? '', /^conformance of 127\.0\.0\.1:\d+ \(@.*\.ed25519\)$/)
    assert.deepEqual(lines.slice(1, -1).map((line) => line.split(/\s+/).slice(0, 2).join(' ')),
      ALL_CHECKS.map((id) => `PASS ${id}`))
    assert.equal(lines.at(-1), `${ALL_CHECKS.length} passed, 0 failed`)
  })

  it('reports failures and exits 8 against a server that answers anything', async () => {
    const wrong = await startWrongServer()
    try {
      const { port } = wrong
      const serverId = `@${Buffer.from(generateKeyPair().publicKey).toString('base64')}.ed25519`
      const args = ['conformance', `127.0.0.1:${port}`, '--remote', serverId, '--timeout', '1000', '--stall-timeout', '1000']

      const json = await sandbox.run([...args, '--json'])
      assert.equal(json.code, 8, json.stderr)
      const report = JSON.parse(json.stdout.toString('utf8')) as Report
      assert.equal(report.passed, false)
      assert.deepEqual(statuses(report), {
        handshake: 'fail',
        'box-stream': 'skip',
        'wrong-network-key': 'fail',
        'wrong-server-key': 'fail',
        'random-hello': 'fail',
        'truncated-hello': 'fail',
        'random-client-auth': 'fail',
        'stalling-client': 'fail'
      })
      const reasons = Object.fromEntries(report.checks.map((check) => [check.id, check.reason]))
      assert.match(reasons.handshake ?? '', /server hello \(message 2\) did not verify/)
      assert.match(reasons['random-hello'] ?? '', /answered 64 random bytes with 64 bytes/)
    } finally {
      await wrong.close()
    }
  })

  it('exits 6 when the server cannot be reached', async () => {
    const probe = net.createServer()
    await new Promise<void>((resolve) => { probe.listen(0, '127.0.0.1', resolve) })
    const { port } = probe.address() as net.AddressInfo
    await new Promise((resolve) => { probe.close(resolve) })
    const serverId = `@${Buffer.from(generateKeyPair().publicKey).toString('base64')}.ed25519`
    const result = await sandbox.run(['conformance', `127.0.0.1:${port}`, '--remote', serverId])
    assert.equal(result.code, 6)
    assert.match(result.stderr, /could not connect to 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/)
  })
})
