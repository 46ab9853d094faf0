/**
 * The shs command with Scuttlebutt addresses: listen --ws (and wss: with a certificate),
 * connect to ws:// addresses, address lists, nc's HOST PORT form, and shs:KEY:SEED.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generate } from 'selfsigned'
import { formatId, generateKeyPair } from '../../src/index.ts'
import { freePort } from '../helpers/resources.ts'
import { type KeyFile, type Sandbox, type ShsProcess, useSandbox } from './helpers.ts'

describe('shs CLI: Scuttlebutt addresses', function () {
  this.timeout(30_000)
  const currentSandbox = useSandbox()
  let sandbox: Sandbox
  let server: KeyFile
  let client: KeyFile

  beforeEach(async () => {
    sandbox = currentSandbox()
    ;[server, client] = await sandbox.keygenPair()
  })

  async function wsAddress (listen: ShsProcess): Promise<string> {
    const match = await listen.waitForStderr(/listening on \S+ as (wss?:\/\/\S+)\n/)
    return match[1] as string
  }

  it('listen --ws prints its ws:// address, and connect carries data both ways over it', async () => {
    const listen = sandbox.start(['listen', '--ws', '127.0.0.1:0', '--keys', server.path])
    listen.child.stdin?.end('from the server')
    const address = await wsAddress(listen)
    assert.match(address, new RegExp(`^ws://127\\.0\\.0\\.1:\\d+~shs:${escape(server.id.slice(1, -'.ed25519'.length))}$`))
    const connected = await sandbox.run(['connect', address, '--keys', client.path], 'from the client')
    assert.equal(connected.code, 0, connected.stderr)
    assert.equal(connected.stdout.toString(), 'from the server')
    assert.equal(await listen.exited, 0, listen.stderr)
    assert.equal(listen.stdout.toString(), 'from the client')
  })

  it('wss: with --tls-cert/--tls-key, trusted by the client with --ca', async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec', algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
    })
    const cert = join(sandbox.dir, 'cert.pem')
    const key = join(sandbox.dir, 'key.pem')
    await writeFile(cert, pems.cert)
    await writeFile(key, pems.private)
    const listen = sandbox.start(['listen', '--ws', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', key, '--keys', server.path])
    listen.child.stdin?.end('over tls')
    const address = await wsAddress(listen)
    assert.match(address, /^wss:\/\//)
    const untrusted = await sandbox.run(['connect', address, '--keys', client.path], '')
    assert.equal(untrusted.code, 6, untrusted.stderr)
    assert.match(untrusted.stderr, /certificate/)
    const connected = await sandbox.run(['connect', address, '--keys', client.path, '--ca', cert], '')
    assert.equal(connected.code, 0, connected.stderr)
    assert.equal(connected.stdout.toString(), 'over tls')
  })

  it('tries the alternatives of an address list in order, and lists each failure when none works', async () => {
    const closed = await freePort()
    const listen = sandbox.start(['listen', '--ws', '127.0.0.1:0', '--keys', server.path])
    listen.child.stdin?.end('second one')
    const ws = await wsAddress(listen)
    const key = server.id.slice(1, -'.ed25519'.length)
    const connected = await sandbox.run(['connect', `net:127.0.0.1:${closed}~shs:${key};${ws}`, '--keys', client.path], '')
    assert.equal(connected.code, 0, connected.stderr)
    assert.equal(connected.stdout.toString(), 'second one')

    const failed = await sandbox.run(['connect', `net:127.0.0.1:${closed}~shs:${key};ws://127.0.0.1:${closed}~shs:${key}`, '--keys', client.path], '')
    assert.equal(failed.code, 6)
    assert.match(failed.stderr, /none of the 2 addresses worked:\n {2}1\. net:127\.0\.0\.1:\d+~shs:\S+: .*\n {2}2\. ws:\/\/127\.0\.0\.1:\d+~shs:\S+: /)
  })

  it('takes nc\'s HOST PORT with --remote, and without it shows the address form to use', async () => {
    const listen = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path])
    listen.child.stdin?.end('nc style')
    const { port } = await listen.listening()
    const connected = await sandbox.run(['connect', '127.0.0.1', String(port), '--remote', server.id, '--keys', client.path], '')
    assert.equal(connected.code, 0, connected.stderr)
    assert.equal(connected.stdout.toString(), 'nc style')
    const hint = await sandbox.run(['connect', '127.0.0.1', String(port), '--keys', client.path], '')
    assert.equal(hint.code, 2)
    assert.match(hint.stderr, new RegExp(`net:127\\.0\\.0\\.1:${port}~shs:KEY`))
  })

  it('connects with shs:KEY:SEED as the seed\'s identity, as multiserver does', async () => {
    const seed = Buffer.alloc(32, 3)
    const seededId = formatId(generateKeyPair(seed).publicKey)
    const listen = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path])
    listen.child.stdin?.end('')
    const { address } = await listen.listening()
    const connected = await sandbox.run(['connect', `${address ?? ''}:${seed.toString('base64')}`, '--keys', client.path], '')
    assert.equal(connected.code, 0, connected.stderr)
    await listen.exited
    assert.match(listen.stderr, new RegExp(`accepted ${escape(seededId)}`))
  })
})

function escape (text: string): string {
  return text.replace(/[+/=.]/g, (c) => `\\${c}`)
}
