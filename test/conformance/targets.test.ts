/**
 * The suite as a library against servers at an address: ours over TCP, ws: and wss: (framed as
 * multiserver's ws transport), the stock multiserver ws + shs server, and a server that stops
 * accepting connections part of the way through (the run says so, and how to keep it serving).
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { generate } from 'selfsigned'
import {
  type ConformanceReport, ConformanceError, type ServerAddressOptions, listChecks, runServerChecks
} from '../../src/conformance/index.ts'
import {
  SSB_NETWORK_KEY, type SecureStream, formatNetAddress, formatWsAddress, generateKeyPair, listen, listenWebSocket
} from '../../src/index.ts'
import { freePort, useLeakChecks } from '../helpers/resources.ts'
import { pull, startStockServer, stockShs } from '../helpers/multiserver.ts'

const serverKeys = generateKeyPair()
const networkKey = SSB_NETWORK_KEY
const FAST = { replyTimeout: 2000, stallLimit: 2000 }
/** Ours refuses what a stall check waits on within its handshake timeout; keep it under the stall limit. */
const SERVER_TIMEOUT_MS = 500

async function echo (stream: SecureStream): Promise<void> {
  await stream.sink(stream.source)
}

/** Every check applies passes, but a zero-length packet may be a warning (docs/CONFORMANCE.md). */
function assertAllPass (report: ConformanceReport): void {
  const failed = report.checks.filter((check) => !(check.status === 'pass' || check.status === 'skip' || (check.id === 'bs.zero-length' && check.status === 'warn')))
  assert.deepEqual(failed, [])
  const roles = new Map(listChecks().map((check) => [check.id, check.roles]))
  // The rekey checks are skipped with this note where the server does not offer the extension (listen() without `rekey`).
  const lacksRekey = (check: { id: string, reason: string }): boolean => check.id.startsWith('rk.') && check.reason.startsWith('the peer does not offer shs-rekey/1 (')
  for (const check of report.checks) assert.equal(check.status === 'skip', roles.get(check.id)?.includes('server') !== true || lacksRekey(check), check.id)
  assert.equal(report.passed, true)
  assert.deepEqual(report.notices, [])
}

async function run (options: ServerAddressOptions): Promise<ConformanceReport> {
  return await runServerChecks({ ...FAST, networkKey, ...options })
}

describe('shs-transport/conformance: servers at an address (net:, ws:, wss:)', function () {
  this.timeout(120_000)
  useLeakChecks()

  it('ours over TCP passes every check; onStart names the target before the first result, onResult streams each in turn', async () => {
    const listener = await listen({ port: 0, keys: serverKeys, networkKey, timeout: SERVER_TIMEOUT_MS }, (stream) => { void echo(stream) })
    try {
      const events: string[] = []
      const report = await run({
        address: formatNetAddress(listener.address(), serverKeys.publicKey),
        onStart: (target) => { events.push(`start ${target}`) },
        onResult: (result) => { events.push(result.id) }
      })
      assertAllPass(report)
      assert.match(events[0] ?? '', /^start 127\.0\.0\.1:\d+ \(@.+\.ed25519\)$/)
      assert.deepEqual(new Set(events.slice(1)), new Set(report.checks.map((check) => check.id)))
    } finally {
      await listener.close()
    }
  })

  it('ours over ws: passes every check: each write one binary message, the messages read as one byte stream', async () => {
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey, timeout: SERVER_TIMEOUT_MS }, (stream) => { void echo(stream) })
    try {
      const { host, port } = listener.address()
      const report = await run({ address: formatWsAddress({ host, port }, serverKeys.publicKey) })
      assertAllPass(report)
      assert.match(report.target, /^ws:\/\/127\.0\.0\.1:\d+\/ \(@/)
    } finally {
      await listener.close()
    }
  })

  it('ours over wss: with a self-signed certificate passes the handshake and box-stream checks, trusting it through `ca`', async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec', algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
    })
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey, timeout: SERVER_TIMEOUT_MS, cert: pems.cert, key: pems.private }, (stream) => { void echo(stream) })
    try {
      const { host, port } = listener.address()
      const address = formatWsAddress({ host, port, secure: true }, serverKeys.publicKey)
      assert.match(address, /^wss:/)
      assertAllPass(await run({ address, ca: pems.cert, skip: ['hs.stall'] }))
      // Without the certificate's authority, nothing can be checked: a typed error that says why.
      await assert.rejects(run({ address, only: ['hs.valid'] }), (err: unknown) => err instanceof ConformanceError &&
        err.code === 'ERR_CONFORMANCE_UNREACHABLE' && /could not open the WebSocket wss:.*is its certificate trusted \(ca\)\?/.test(err.message))
    } finally {
      await listener.close()
    }
  })

  it('the stock multiserver ws + shs server (the reference) passes the handshake and data checks it is known to pass', async () => {
    const stock = await startStockServer('ws', stockShs(serverKeys, networkKey), (stream) => { pull(stream, stream) })
    try {
      // Not the small-order checks: the reference throws on them, uncaught, which would take this process down.
      const only = ['hs.valid', 'hs.wrong-network-key', 'hs.random-hello', 'hs.random-auth', 'bs.size', 'bs.half-close-send', 'bs.flipped-body']
      const report = await run({ address: formatWsAddress({ host: '127.0.0.1', port: stock.port }, serverKeys.publicKey), only })
      assert.deepEqual(report.checks.filter((check) => check.status !== 'pass'), [])
      assert.equal(report.checks.length, 11)
    } finally {
      await stock.close()
    }
  })

  it('a server that stops accepting connections: the check that met it fails, the rest are not run, and a notice says how to keep it serving', async () => {
    const listener = await listen({ port: 0, keys: serverKeys, networkKey, timeout: SERVER_TIMEOUT_MS }, (stream) => { void echo(stream) })
    // In front of it, a door that lets four connections through and then closes (those four go on).
    const sockets = new Set<net.Socket>()
    let accepted = 0
    const door = net.createServer((socket) => {
      if (++accepted === 4) door.close()
      const inner = net.connect(listener.address().port, '127.0.0.1')
      sockets.add(socket).add(inner)
      socket.pipe(inner).pipe(socket)
      for (const end of [socket, inner]) end.on('error', () => { socket.destroy(); inner.destroy() })
    })
    await new Promise<void>((resolve) => { door.listen(0, '127.0.0.1', resolve) })
    try {
      const report = await run({ address: formatNetAddress({ host: '127.0.0.1', port: (door.address() as net.AddressInfo).port }, serverKeys.publicKey) })
      assert.equal(report.passed, false)
      const byStatus = (status: string): string[] => report.checks.filter((check) => check.status === status).map((check) => check.id)
      // The reachability probe, the rekey probe, hs.valid and its liveness probe got through; the next check met the closed door.
      assert.deepEqual(byStatus('pass'), ['hs.valid'])
      assert.deepEqual(byStatus('fail'), ['hs.wrong-network-key'])
      assert.match(report.checks[1]?.reason ?? '', /^could not connect to 127\.0\.0\.1:\d+ \(ECONNREFUSED\): the server stopped accepting connections$/)
      for (const check of report.checks.slice(2).filter((entry) => entry.id !== 'bs.half-close-receive')) {
        assert.match(check.reason, /^not run: the server stopped accepting connections during hs\.wrong-network-key$/, check.id)
      }
      assert.equal(report.notices.length, 1)
      assert.match(report.notices[0] ?? '', /^the server stopped accepting connections after 4 \(during hs\.wrong-network-key\), so the checks after it were not run\. .*add `--exec cat`/)
    } finally {
      for (const socket of sockets) socket.destroy()
      await listener.close()
    }
  })

  it('a server that is not there at all: a typed error, and no check runs', async () => {
    const port = await freePort()
    const results: string[] = []
    await assert.rejects(run({ address: formatNetAddress({ host: '127.0.0.1', port }, serverKeys.publicKey), onResult: (result) => { results.push(result.id) } }),
      (err: unknown) => err instanceof ConformanceError && err.code === 'ERR_CONFORMANCE_UNREACHABLE' &&
        /^could not connect to 127\.0\.0\.1:\d+ \(ECONNREFUSED\): check the address and that the server runs$/.test(err.message))
    assert.deepEqual(results, [])
  })
})
