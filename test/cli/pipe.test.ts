import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import net from 'node:net'
import { type KeyFile, type Sandbox, sha256, useSandbox } from './helpers.ts'

const MIB = 1024 * 1024

describe('shs CLI: listen and connect', function () {
  const currentSandbox = useSandbox()
  let sandbox: Sandbox
  let server: KeyFile
  let client: KeyFile

  beforeEach(async () => {
    sandbox = currentSandbox()
    ;[server, client] = await sandbox.keygenPair()
  })

  it('carries several MB both ways through stdin/stdout, with --progress only where forced', async () => {
    const toClient = randomBytes(4 * MIB)
    const toServer = randomBytes(3 * MIB)
    const listen = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path, '--progress'], { SHS_PROGRESS: 'force' })
    listen.child.stdin?.end(toClient)
    const { address } = await listen.listening()
    assert.ok(address !== undefined)

    const connected = await sandbox.run(['connect', address, '--keys', client.path, '--progress'], toServer)
    assert.equal(connected.code, 0, connected.stderr)
    assert.equal(await listen.exited, 0, listen.stderr)
    assert.equal(sha256(connected.stdout), sha256(toClient))
    assert.equal(sha256(listen.stdout), sha256(toServer))

    // stderr is a pipe here: --progress stays silent unless SHS_PROGRESS=force.
    assert.match(listen.stderr, /received \d+(\.\d)? \w*B .*sent /)
    assert.doesNotMatch(connected.stderr, /received /)
    assert.equal(connected.stderr, '', 'a clean run prints nothing on the client side')
  })

  it('--verbose names the handshake stages on stderr and keeps stdout for data', async () => {
    const listen = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path, '--verbose'])
    listen.child.stdin?.end('from the server')
    const { address } = await listen.listening()
    const connected = await sandbox.run(['connect', address ?? '', '--keys', client.path, '--verbose'], 'from the client')
    assert.equal(connected.code, 0, connected.stderr)
    assert.equal(connected.stdout.toString('utf8'), 'from the server')
    for (const stage of ['tcp connected', 'sent hello (message 1)', 'received server hello (message 2)',
      'sent client authentication (message 3)', 'received server accept (message 4)', 'handshake complete']) {
      assert.match(connected.stderr, new RegExp(`\\+[\\d.]+ ms ${stage.replace(/[()]/g, '\\$&')}`), stage)
    }
    assert.equal(await listen.exited, 0)
    assert.equal(listen.stdout.toString('utf8'), 'from the client')
    assert.match(listen.stderr, /received client authentication \(message 3\)/)
  })

  it('--exec runs the command for each client with the stream on its stdin/stdout', async () => {
    const listen = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path,
      '--exec', 'printf "%s\\n" "$SHS_REMOTE_ID"; tr a-z A-Z'])
    const { address } = await listen.listening()
    for (const text of ['first client', 'second client']) {
      const connected = await sandbox.run(['connect', address ?? '', '--keys', client.path], `${text}\n`)
      assert.equal(connected.code, 0, connected.stderr)
      assert.equal(connected.stdout.toString('utf8'), `${client.id}\n${text.toUpperCase()}\n`)
    }
    assert.equal(listen.child.exitCode, null, 'an --exec server keeps serving')
  })

  it('a wrong network key ends with exit code 4 and names the likely cause', async () => {
    const listen = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path])
    const { address } = await listen.listening()
    const connected = await sandbox.run(['connect', address ?? '', '--keys', client.path,
      '--network-key', randomBytes(32).toString('hex')], '')
    assert.equal(connected.code, 4)
    assert.equal(connected.stderr, 'shs: the server hung up after our first message: wrong --network-key, ' +
      'not an SHS server at that address (check the port), the server requires the rekey extension (try --rekey), ' +
      'or the server is busy (try again)\n')
    await listen.waitForStderr(/failed the handshake: .*network-key/)
  })

  it('--allow refuses an unknown client (exit 4) and accepts a listed one', async () => {
    const stranger = await sandbox.keygen('stranger.secret')
    const allowFile = sandbox.path('allowed')
    await writeFile(allowFile, `# who may connect\n${client.id} the client\n\n`)
    const listen = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path, '--allow', allowFile])
    listen.child.stdin?.end('welcome')
    const { address } = await listen.listening()
    await listen.waitForStderr(/accepting only the 1 id\(s\) listed in/)

    const refused = await sandbox.run(['connect', address ?? '', '--keys', stranger.path], '')
    assert.equal(refused.code, 4)
    assert.match(refused.stderr, /hung up after our authentication.*does not allow our id/)
    assert.ok(refused.stderr.includes(stranger.id), 'the message names the id to send the operator')
    await listen.waitForStderr(new RegExp(`refused ${stranger.id.replace(/[+/.]/g, '\\$&')}`))

    const accepted = await sandbox.run(['connect', address ?? '', '--keys', client.path], '')
    assert.equal(accepted.code, 0, accepted.stderr)
    assert.equal(accepted.stdout.toString('utf8'), 'welcome')
    assert.equal(await listen.exited, 0)
  })

  it('a peer that vanishes without goodbye ends the other side with exit code 7', async () => {
    const listen = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path])
    const { address } = await listen.listening()
    // stdin stays open, so the client never says goodbye on its own.
    const connect = sandbox.start(['connect', address ?? '', '--keys', client.path])
    await listen.waitForStderr(/#1 accepted/)
    connect.kill()
    assert.equal(await listen.exited, 7)
    // FIN or reset, depending on whether the killed client had unread bytes: both mean "cut off".
    assert.match(listen.stderr, /ended without the peer's goodbye|secure stream was cut off/)
  })

  it('exits 2 for a --timeout beyond 2^31-1 ms, which Node would clamp to 1 ms', async () => {
    // Nothing listens on this port and nothing is sent: the option is refused before any socket opens.
    const result = await sandbox.run(['connect', '127.0.0.1:9', '--remote', server.id, '--keys', client.path, '--timeout', '99999999999'], '')
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /timeout must be a whole number of milliseconds from 1 to 2147483647/)
  })

  it('exits 6 when nothing listens and 5 when the handshake times out', async () => {
    // Reads and ignores everything: a TCP service that never speaks SHS.
    const silent = net.createServer((socket) => { socket.resume() })
    await new Promise<void>((resolve) => { silent.listen(0, '127.0.0.1', resolve) })
    const { port } = silent.address() as net.AddressInfo
    try {
      const timedOut = await sandbox.run(['connect', `127.0.0.1:${port}`, '--remote', server.id,
        '--keys', client.path, '--timeout', '300'], '')
      assert.equal(timedOut.code, 5)
      assert.match(timedOut.stderr, /did not finish within 300 ms.*--timeout/)
    } finally {
      silent.close()
      await new Promise((resolve) => { silent.once('close', resolve) })
    }
    const refused = await sandbox.run(['connect', `127.0.0.1:${port}`, '--remote', server.id, '--keys', client.path], '')
    assert.equal(refused.code, 6)
    assert.match(refused.stderr, /ECONNREFUSED.*nothing is listening/)
  })
})
