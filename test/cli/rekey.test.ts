/**
 * The rekey extension from the shell: `shs connect --rekey [prefer|require]`, `shs listen`
 * serving clients with and without it (`--rekey require` and `--rekey off` to narrow that), the
 * settings flags, the --verbose lines that say which keys a session runs with, and the errors.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { BoxStreamError, SSB_NETWORK_KEY, type SecureStream, ShsError, formatId, generateKeyPair } from '../../src/index.ts'
import { describeFailure } from '../../src/cli/errors/format.ts'
import { type RekeyPlan, lacksRequiredRekey, rekeyPlan } from '../../src/cli/rekey.ts'
import { referenceClient, startReferenceServer } from '../helpers/reference.ts'
import { sha256, useSandboxWithKeys } from './helpers.ts'
import { assertPlainFallback, exchangeAcrossRekey } from './rekey-exchange.ts'

const NEGOTIATED = /rekey extension negotiated: fresh keys after (\S+ \S+) sent or (\S+ \S+) without a rekey/
const REKEYS = /took fresh keys (\d+) times? during the session/

function rekeysOf (stderr: string): number {
  const match = REKEYS.exec(stderr)
  assert.ok(match !== null, `no rekey count in:\n${stderr}`)
  return Number(match[1])
}

describe('shs CLI: the rekey extension', function () {
  this.timeout(30_000)
  const keyed = useSandboxWithKeys()

  describe('flags', () => {
    // Every case is refused before any socket opens: nothing listens on port 9.
    const cases: Array<{ args: string[], message: RegExp }> = [
      { args: ['connect', '127.0.0.1:9', '--rekey', '--rekey-after-bytes', '1000'], message: /--rekey-after-bytes <n>' argument '1000' is invalid\. .*at least 1M/ },
      { args: ['connect', '127.0.0.1:9', '--rekey', '--rekey-after-bytes', '3X'], message: /--rekey-after-bytes <n>' argument '3X'.*K, M or G suffix/ },
      { args: ['connect', '127.0.0.1:9', '--rekey', '--rekey-after-ms', '999'], message: /--rekey-after-ms <ms>' argument '999'.*from 1000 to 2147483647/ },
      { args: ['connect', '127.0.0.1:9', '--rekey', '--rekey-timeout', '0'], message: /--rekey-timeout <ms>' argument '0'.*from 1 to/ },
      { args: ['connect', '127.0.0.1:9', '--rekey', 'sometimes'], message: /--rekey \[mode\]' argument 'sometimes' is invalid\. expected prefer, require or off/ },
      // The optional mode swallows the address that follows it: the message says how to write it.
      { args: ['connect', '--rekey', 'net:127.0.0.1:9~shs:KEY'], message: /--rekey \[mode\]' argument 'net:.*write --rekey prefer, or put --rekey after the address/ },
      { args: ['connect', '127.0.0.1:9', '--rekey-after-bytes', '1G'], message: /--rekey-after-bytes has no effect while the rekey extension is off: add --rekey prefer/ },
      { args: ['listen', '127.0.0.1:0', '--rekey', 'always'], message: /--rekey \[mode\]' argument 'always' is invalid/ },
      { args: ['listen', '127.0.0.1:0', '--rekey', 'off', '--rekey-after-ms', '5000'], message: /--rekey-after-ms has no effect while the rekey extension is off/ }
    ]
    for (const { args, message } of cases) {
      it(`exits 2 for shs ${args.join(' ')}`, async () => {
        // listen has no --remote: it would fail on that instead.
        const more = args[0] === 'connect' ? ['--remote', keyed.server.id] : []
        const result = await keyed.sandbox.run([...args, ...more, '--keys', keyed.client.path], '')
        assert.equal(result.code, 2, result.stderr)
        assert.match(result.stderr, message)
        assert.equal(result.stdout.length, 0)
      })
    }
  })

  it('connect --rekey against listen: negotiated, rekeyed on both sides, every byte through unchanged', async () => {
    const listen = keyed.sandbox.start(['listen', '127.0.0.1:0', '--keys', keyed.server.path, '-v', '--rekey-after-ms', '90000'])
    const { address } = await listen.listening()
    await listen.waitForStderr(/serving clients with the rekey extension and plain SHS1 clients alike \(--rekey prefer\)/)
    const connect = keyed.sandbox.start(['connect', address ?? '', '--keys', keyed.client.path, '-v', '--rekey', '--rekey-after-bytes', '1M'])
    await exchangeAcrossRekey(connect, listen)
    // Each side's own triggers: the client's --rekey-after-bytes, the server's --rekey-after-ms.
    assert.deepEqual(NEGOTIATED.exec(connect.stderr)?.slice(1), ['1.0 MiB', '120 s'])
    assert.deepEqual(NEGOTIATED.exec(listen.stderr)?.slice(1), ['1.0 GiB', '90 s'])
    assert.ok(rekeysOf(connect.stderr) >= 1, connect.stderr)
    assert.ok(rekeysOf(listen.stderr) >= 1, listen.stderr)
  })

  it('without --rekey both sides say plain SHS1, and why', async () => {
    const listen = keyed.sandbox.start(['listen', '127.0.0.1:0', '--keys', keyed.server.path, '-v'])
    listen.child.stdin?.end('to the client')
    const { address } = await listen.listening()
    const connected = await keyed.sandbox.run(['connect', address ?? '', '--keys', keyed.client.path, '-v'], 'to the server')
    assert.equal(connected.code, 0, connected.stderr)
    assert.equal(await listen.exited, 0, listen.stderr)
    assert.equal(connected.stdout.toString(), 'to the client')
    assert.equal(listen.stdout.toString(), 'to the server')
    assert.match(connected.stderr, /connect \+[\d.]+ ms plain SHS1, one pair of keys for the whole session \(no --rekey\)/)
    assert.match(listen.stderr, /#1 \+[\d.]+ ms plain SHS1, one pair of keys for the whole session \(the client did not ask for the rekey extension\)/)
    assert.doesNotMatch(connected.stderr + listen.stderr, /negotiated|took fresh keys/)
  })

  it('--rekey prefer against listen --rekey off: connects again with plain SHS1, and the server says why the first try failed', async () => {
    const listen = keyed.sandbox.start(['listen', '127.0.0.1:0', '--keys', keyed.server.path, '-v', '--rekey', 'off'])
    listen.child.stdin?.end('plain')
    const { address } = await listen.listening()
    await listen.waitForStderr(/serving plain SHS1 only, without the rekey extension \(--rekey off\)/)
    const connected = await keyed.sandbox.run(['connect', address ?? '', '--keys', keyed.client.path, '-v', '--rekey', 'prefer'], 'also plain')
    await assertPlainFallback(connected, listen)
    assert.match(listen.stderr, /#2 \+[\d.]+ ms plain SHS1, one pair of keys for the whole session \(--rekey off\)/)
  })

  it('--rekey require against a server without the extension exits 4 and names the cause', async () => {
    const listen = keyed.sandbox.start(['listen', '127.0.0.1:0', '--keys', keyed.server.path, '--rekey', 'off'])
    const { address } = await listen.listening()
    const refused = await keyed.sandbox.run(['connect', address ?? '', '--keys', keyed.client.path, '--rekey', 'require'], 'never sent')
    assert.equal(refused.code, 4, refused.stderr)
    assert.equal(refused.stderr, 'shs: the server does not offer the rekey extension, which --rekey require insists on: ' +
      'it is a plain SHS1 server (or shs listen --rekey off), or it uses another --network-key; --rekey prefer would fall back to plain SHS1\n')
    assert.equal(listen.stdout.length, 0, 'nothing reached the server')
  })

  it('a plain client against listen --rekey require exits 4, and both ends say the server requires the extension', async () => {
    const listen = keyed.sandbox.start(['listen', '127.0.0.1:0', '--keys', keyed.server.path, '--rekey', 'require'])
    const { address } = await listen.listening()
    const refused = await keyed.sandbox.run(['connect', address ?? '', '--keys', keyed.client.path], 'never sent')
    assert.equal(refused.code, 4, refused.stderr)
    assert.match(refused.stderr, /hung up after our first message: .*the server requires the rekey extension \(try --rekey\)/)
    await listen.waitForStderr(/#1 from \S+ failed the handshake: the client speaks plain SHS1, and this server requires the rekey extension \(--rekey require\): the client must ask for it \(shs connect --rekey\)/)

    listen.child.stdin?.end('for a client that asks')
    const accepted = await keyed.sandbox.run(['connect', address ?? '', '--keys', keyed.client.path, '--rekey'], '')
    assert.equal(accepted.code, 0, accepted.stderr)
    assert.equal(accepted.stdout.toString(), 'for a client that asks')
    assert.equal(await listen.exited, 0, listen.stderr)
  })

  describe('against the npm reference (secret-handshake), which has no extension', () => {
    it('connect --rekey carries the bytes over plain SHS1; --rekey require exits 4', async () => {
      const serverKeys = generateKeyPair()
      const reference = await startReferenceServer(serverKeys, SSB_NETWORK_KEY, { echo: true })
      try {
        const target = [`127.0.0.1:${reference.port}`, '--remote', formatId(serverKeys.publicKey), '--keys', keyed.client.path]
        const data = randomBytes(256 * 1024)
        const echoed = await keyed.sandbox.run(['connect', ...target, '--rekey', '-v'], data)
        assert.equal(echoed.code, 0, echoed.stderr)
        assert.equal(sha256(echoed.stdout), sha256(data))
        assert.match(echoed.stderr, /plain SHS1, one pair of keys for the whole session \(the server does not offer the rekey extension\)/)

        const refused = await keyed.sandbox.run(['connect', ...target, '--rekey', 'require'], data)
        assert.equal(refused.code, 4, refused.stderr)
        assert.match(refused.stderr, /^shs: the server does not offer the rekey extension, which --rekey require insists on/)
      } finally {
        await reference.close()
      }
    })

    it('listen (prefer, the default) serves the reference client byte for byte', async () => {
      const toClient = randomBytes(128 * 1024)
      const toServer = randomBytes(96 * 1024)
      const listen = keyed.sandbox.start(['listen', '127.0.0.1:0', '--keys', keyed.server.path, '-v'])
      listen.child.stdin?.end(toClient)
      const { port } = await listen.listening()
      const serverKey = Buffer.from(keyed.server.id.slice(1, -'.ed25519'.length), 'base64')
      const session = await referenceClient(generateKeyPair(), SSB_NETWORK_KEY, serverKey, port, [toServer], toClient.byteLength)
      assert.equal(sha256(session.received), sha256(toClient))
      assert.equal(await listen.exited, 0, listen.stderr)
      assert.equal(sha256(listen.stdout), sha256(toServer))
      assert.match(listen.stderr, /plain SHS1, one pair of keys for the whole session \(the client did not ask for the rekey extension\)/)
    })
  })

  it('connect -L --rekey require: each tunnelled connection negotiates the extension', async () => {
    const echo = net.createServer({ allowHalfOpen: true }, (socket) => { socket.pipe(socket) })
    await new Promise<void>((resolve) => { echo.listen(0, '127.0.0.1', resolve) })
    try {
      const echoPort = (echo.address() as net.AddressInfo).port
      const far = keyed.sandbox.start(['listen', '127.0.0.1:0', '--keys', keyed.server.path, '-v', '--rekey', 'require',
        '--forward', `127.0.0.1:${echoPort}`])
      const { address } = await far.listening()
      const near = keyed.sandbox.start(['connect', address ?? '', '--keys', keyed.client.path, '-v', '--rekey', 'require', '-L', '127.0.0.1:0'])
      const { port } = await near.listening()
      const data = randomBytes(300 * 1024)
      assert.equal(sha256(await roundTrip(port, data)), sha256(data))
      await near.waitForStderr(/#1 \+[\d.]+ ms rekey extension negotiated/)
      await far.waitForStderr(/#1 \+[\d.]+ ms rekey extension negotiated/)
      await far.waitForStderr(/#1 took fresh keys \d+ times? during the session/)
    } finally {
      echo.close()
      await new Promise((resolve) => { echo.once('close', resolve) })
    }
  })
})

/** Sends `data` to 127.0.0.1:port, half-closes, and resolves with everything that comes back. */
async function roundTrip (port: number, data: Buffer): Promise<Buffer> {
  const socket = net.connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => { chunks.push(chunk) })
  socket.end(data)
  await new Promise<void>((resolve, reject) => {
    socket.once('close', () => { resolve() })
    socket.once('error', reject)
  })
  return Buffer.concat(chunks)
}

describe('shs CLI: rekey failures as the user sees them', () => {
  it('a rekey the peer never completes exits 7 and points to --rekey-timeout', () => {
    const failure = describeFailure(new BoxStreamError('ERR_BOX_STREAM_REKEY_TIMEOUT', 'the peer did not complete a rekey within 60000 ms (rekey.timeout)'))
    assert.equal(failure.exitCode, 7)
    assert.match(failure.message, /did not complete a rekey within --rekey-timeout: .*raise --rekey-timeout/)
    assert.doesNotMatch(failure.message, /rekey\.timeout/, 'the flag, not the API option')
  })

  it('a malformed rekey packet or a rekey flood exits 7 with the library\'s reason', () => {
    for (const code of ['ERR_BOX_STREAM_BAD_CONTROL', 'ERR_BOX_STREAM_REKEY_FLOOD'] as const) {
      const failure = describeFailure(new BoxStreamError(code, 'the peer is broken or hostile'))
      assert.deepEqual(failure, { exitCode: 7, message: 'the secure stream broke: the peer is broken or hostile' })
    }
  })

  it('under --rekey require a stream without the extension is refused, whatever the transport let through', () => {
    const require: RekeyPlan = rekeyPlan({ rekey: 'require' }, 'off')
    const prefer: RekeyPlan = rekeyPlan({ rekey: 'prefer' }, 'off')
    const plain = { rekeying: false } as unknown as SecureStream
    const rekeying = { rekeying: true } as unknown as SecureStream
    assert.equal(lacksRequiredRekey(plain, require), true)
    assert.equal(lacksRequiredRekey(rekeying, require), false)
    assert.equal(lacksRequiredRekey(plain, prefer), false)
  })

  it('a rekey on demand without the extension is a bug of ours (exit 1): shs never asks for one', () => {
    const failure = describeFailure(new ShsError('ERR_SHS_REKEY_NOT_NEGOTIATED', 'plain SHS1'))
    assert.equal(failure.exitCode, 1)
    assert.match(failure.message, /^unexpected error: plain SHS1 \(this is a bug in shs/)
  })
})
