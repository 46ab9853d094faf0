/**
 * `--rekey` over WebSocket: `shs listen --ws` serves the extension (prefer by default, require,
 * off) and `shs connect` to a ws:// address asks for it, falls back with prefer and refuses with
 * require, as over TCP (test/cli/rekey.test.ts).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { type ShsProcess, sha256, useSandboxWithKeys } from './helpers.ts'

const MIB = 1024 * 1024

async function wsAddress (listen: ShsProcess): Promise<string> {
  const match = await listen.waitForStderr(/listening on \S+ as (ws:\/\/\S+)\n/)
  return match[1] as string
}

describe('shs CLI: --rekey over WebSocket', function () {
  this.timeout(30_000)
  const keyed = useSandboxWithKeys()

  it('connect --rekey require to listen --ws: negotiated, rekeyed on both sides, every byte through unchanged', async () => {
    const toServer = randomBytes(2 * MIB)
    const toClient = randomBytes(MIB)
    const listen = keyed.sandbox.start(['listen', '--ws', '127.0.0.1:0', '--keys', keyed.server.path, '-v'])
    const address = await wsAddress(listen)
    const connect = keyed.sandbox.start(['connect', address, '--keys', keyed.client.path, '-v', '--rekey', 'require', '--rekey-after-bytes', '1M'])
    // As over TCP: the client's request goes out after its first MiB; once the server printed
    // all of it, it answered; once the client printed the reply, it switched.
    connect.child.stdin?.write(toServer)
    await listen.waitForStdout(toServer.byteLength)
    listen.child.stdin?.end(toClient)
    await connect.waitForStdout(toClient.byteLength)
    connect.child.stdin?.end()
    assert.equal(await connect.exited, 0, connect.stderr)
    assert.equal(await listen.exited, 0, listen.stderr)
    assert.equal(sha256(listen.stdout), sha256(toServer))
    assert.equal(sha256(connect.stdout), sha256(toClient))
    assert.match(connect.stderr, /rekey extension negotiated: fresh keys after 1\.0 MiB sent/)
    assert.match(listen.stderr, /#1 \+[\d.]+ ms rekey extension negotiated/)
    assert.match(connect.stderr, /took fresh keys [1-9]\d* times? during the session/)
    assert.match(listen.stderr, /took fresh keys [1-9]\d* times? during the session/)
  })

  it('connect --rekey prefer to listen --ws --rekey off: a second WebSocket with plain SHS1, and the server says why the first failed', async () => {
    const listen = keyed.sandbox.start(['listen', '--ws', '127.0.0.1:0', '--keys', keyed.server.path, '-v', '--rekey', 'off'])
    listen.child.stdin?.end('plain')
    const address = await wsAddress(listen)
    const connected = await keyed.sandbox.run(['connect', address, '--keys', keyed.client.path, '-v', '--rekey', 'prefer'], 'also plain')
    assert.equal(connected.code, 0, connected.stderr)
    assert.equal(await listen.exited, 0, listen.stderr)
    assert.equal(connected.stdout.toString(), 'plain')
    assert.equal(listen.stdout.toString(), 'also plain')
    assert.match(connected.stderr, /plain SHS1, one pair of keys for the whole session \(the server does not offer the rekey extension\)/)
    assert.match(listen.stderr, /#1 from \S+ failed the handshake: .*it asked for the rekey extension, which --rekey off turns away/)
  })

  it('connect --rekey require to listen --ws --rekey off exits 4 and names the cause', async () => {
    const listen = keyed.sandbox.start(['listen', '--ws', '127.0.0.1:0', '--keys', keyed.server.path, '--rekey', 'off'])
    const address = await wsAddress(listen)
    const refused = await keyed.sandbox.run(['connect', address, '--keys', keyed.client.path, '--rekey', 'require'], 'never sent')
    assert.equal(refused.code, 4, refused.stderr)
    assert.match(refused.stderr, /^shs: the server does not offer the rekey extension, which --rekey require insists on/)
    assert.equal(listen.stdout.length, 0, 'nothing reached the server')
  })

  it('a plain connect to listen --ws --rekey require exits 4, and the server says it requires the extension', async () => {
    const listen = keyed.sandbox.start(['listen', '--ws', '127.0.0.1:0', '--keys', keyed.server.path, '--rekey', 'require'])
    const address = await wsAddress(listen)
    const refused = await keyed.sandbox.run(['connect', address, '--keys', keyed.client.path], 'never sent')
    assert.equal(refused.code, 4, refused.stderr)
    assert.match(refused.stderr, /the server requires the rekey extension \(try --rekey\)/)
    await listen.waitForStderr(/#1 from \S+ failed the handshake: the client speaks plain SHS1, and this server requires the rekey extension/)
  })
})
