/**
 * `--rekey` over WebSocket: `shs listen --ws` serves the extension (prefer by default, require,
 * off) and `shs connect` to a ws:// address asks for it, falls back with prefer and refuses with
 * require, as over TCP (test/cli/rekey.test.ts).
 */
import assert from 'node:assert/strict'
import { type ShsProcess, useSandboxWithKeys } from './helpers.ts'
import { assertPlainFallback, exchangeAcrossRekey } from './rekey-exchange.ts'

async function wsAddress (listen: ShsProcess): Promise<string> {
  const match = await listen.waitForStderr(/listening on \S+ as (ws:\/\/\S+)\n/)
  return match[1] as string
}

describe('shs CLI: --rekey over WebSocket', function () {
  this.timeout(30_000)
  const keyed = useSandboxWithKeys()

  it('connect --rekey require to listen --ws: negotiated, rekeyed on both sides, every byte through unchanged', async () => {
    const listen = keyed.sandbox.start(['listen', '--ws', '127.0.0.1:0', '--keys', keyed.server.path, '-v'])
    const address = await wsAddress(listen)
    const connect = keyed.sandbox.start(['connect', address, '--keys', keyed.client.path, '-v', '--rekey', 'require', '--rekey-after-bytes', '1M'])
    await exchangeAcrossRekey(connect, listen)
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
    await assertPlainFallback(connected, listen)
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
