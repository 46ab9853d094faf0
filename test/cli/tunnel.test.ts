import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { assertNoLeaks, countResources } from '../helpers/resources.ts'
import { Sandbox, type ShsProcess, killAll, sha256 } from './helpers.ts'

const MIB = 1024 * 1024

/** A web service that answers with what it saw: method, path and the sha256 of the body. */
function startHttpServer (): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => { chunks.push(chunk) })
    request.on('end', () => {
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ method: request.method, path: request.url, sha256: sha256(Buffer.concat(chunks)) }))
    })
  })
  return new Promise((resolve) => { server.listen(0, '127.0.0.1', () => { resolve(server) }) })
}

interface Answer {
  method: string
  path: string
  sha256: string
}

function request (port: number, method: string, path: string, body: Buffer | undefined, agent: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: '127.0.0.1', port, method, path, agent }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => { chunks.push(chunk) })
      response.on('end', () => { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer) })
      response.on('error', reject)
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

describe('shs CLI: tunnels (listen --forward or --permit-open + connect -L)', function () {
  let sandbox: Sandbox
  let baseline: Map<string, number>
  let web: http.Server
  const agents: http.Agent[] = []

  beforeEach(async () => {
    // After one turn, so the baseline includes mocha's own timer for this hook (as afterEach will).
    await new Promise((resolve) => setImmediate(resolve))
    baseline = countResources()
    sandbox = await Sandbox.create()
    web = await startHttpServer()
  })
  afterEach(async () => {
    for (const agent of agents.splice(0)) agent.destroy()
    await killAll()
    web.closeAllConnections()
    await new Promise((resolve) => { web.close(resolve) })
    await sandbox.remove()
    await assertNoLeaks(baseline)
  })

  it('carries HTTP requests, one connection each and kept alive, in parallel, with bodies', async () => {
    const [server, client] = await sandbox.keygenPair()
    const webPort = (web.address() as AddressInfo).port
    const far = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path, '--forward', `127.0.0.1:${webPort}`])
    const { address } = await far.listening()
    const near = sandbox.start(['connect', address ?? '', '--keys', client.path, '-L', '127.0.0.1:0'])
    const { port } = await near.listening()

    const fresh = new http.Agent({ keepAlive: false })
    const kept = new http.Agent({ keepAlive: true, maxSockets: 1 })
    agents.push(fresh, kept)
    const body = randomBytes(MIB)
    const answers = await Promise.all([
      request(port, 'GET', '/one', undefined, fresh),
      request(port, 'POST', '/upload', body, fresh),
      request(port, 'GET', '/two', undefined, fresh)
    ])
    assert.deepEqual(answers.map((answer) => `${answer.method} ${answer.path}`), ['GET /one', 'POST /upload', 'GET /two'])
    assert.equal(answers[1]?.sha256, sha256(body))

    // Several requests over one kept-alive connection share one secure connection.
    for (const path of ['/a', '/b', '/c']) {
      const answer = await request(port, 'PUT', path, Buffer.from(path), kept)
      assert.equal(answer.path, path)
      assert.equal(answer.sha256, sha256(Buffer.from(path)))
    }
    assert.equal(far.child.exitCode, null)
    assert.equal(near.child.exitCode, null)
    assert.doesNotMatch(far.stderr + near.stderr, /ended badly|could not/)
  })

  /** A far end with --permit-open TARGET, and a near end with `spec` (a -L or --local value) in front of it. */
  async function permitTunnel (flag: '-L' | '--local', spec: (webPort: number) => string, permitted: (webPort: number) => string): Promise<{ far: ShsProcess, near: ShsProcess, port: number, agent: http.Agent }> {
    const [server, client] = await sandbox.keygenPair()
    const webPort = (web.address() as AddressInfo).port
    const far = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path, '--permit-open', permitted(webPort), '--verbose'])
    const { address } = await far.listening()
    const near = sandbox.start(['connect', address ?? '', '--keys', client.path, flag, spec(webPort)])
    const { port } = await near.listening()
    const agent = new http.Agent({ keepAlive: false })
    agents.push(agent)
    return { far, near, port, agent }
  }

  for (const flag of ['-L', '--local'] as const) {
    it(`${flag} [bind:]port:host:hostport (as ssh -L): the far end opens host:hostport for each connection`, async () => {
      const { far, near, port, agent } = await permitTunnel(flag, (webPort) => `127.0.0.1:0:127.0.0.1:${webPort}`, (webPort) => `127.0.0.1:${webPort}`)
      const body = randomBytes(MIB)
      const answers = await Promise.all([request(port, 'POST', '/upload', body, agent), request(port, 'GET', '/two', undefined, agent)])
      assert.deepEqual(answers.map((answer) => `${answer.method} ${answer.path}`), ['POST /upload', 'GET /two'])
      assert.equal(answers[0]?.sha256, sha256(body))
      const webPort = (web.address() as AddressInfo).port
      await far.waitForStderr(new RegExp(`#2 asks for 127\\.0\\.0\\.1:${webPort}`))
      assert.match(near.stderr, new RegExp(`which is asked to open 127\\.0\\.0\\.1:${webPort}`))
      assert.doesNotMatch(far.stderr + near.stderr, /ended badly|could not|refused/)
    })
  }

  it('-L port:host:hostport (no bind address: loopback) for a target the far end does not permit is refused, with the reason on both sides', async () => {
    const { far, near, port, agent } = await permitTunnel('-L', (webPort) => `0:127.0.0.1:${webPort + 1}`, (webPort) => `127.0.0.1:${webPort}`)
    assert.equal((await near.listening()).host, '127.0.0.1')
    await assert.rejects(request(port, 'GET', '/', undefined, agent), /socket hang up|ECONNRESET/)
    await near.waitForStderr(/#1 from \S+ ended badly: the far end refused to open 127\.0\.0\.1:\d+: 127\.0\.0\.1:\d+ is not among its --permit-open targets/)
    await far.waitForStderr(/#1 from \S+ refused: 127\.0\.0\.1:\d+ is not among its --permit-open targets/)
    assert.equal(near.child.exitCode, null)
  })

  it('a permitted target that is not running is refused with the reason, not cut off', async () => {
    const closed = http.createServer()
    await new Promise<void>((resolve) => { closed.listen(0, '127.0.0.1', resolve) })
    const gone = (closed.address() as AddressInfo).port
    await new Promise((resolve) => { closed.close(resolve) })
    const { near, port, agent } = await permitTunnel('-L', () => `0:127.0.0.1:${gone}`, () => `127.0.0.1:${gone}`)
    await assert.rejects(request(port, 'GET', '/', undefined, agent), /socket hang up|ECONNRESET/)
    await near.waitForStderr(/the far end refused to open 127\.0\.0\.1:\d+: could not connect to 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/)
  })

  it('ends that do not match say so: host:hostport against --forward, and [bind:]port alone against --permit-open', async () => {
    const [server, client] = await sandbox.keygenPair()
    const webPort = (web.address() as AddressInfo).port
    const agent = new http.Agent({ keepAlive: false })
    agents.push(agent)

    const fixed = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path, '--forward', `127.0.0.1:${webPort}`])
    const asking = sandbox.start(['connect', (await fixed.listening()).address ?? '', '--keys', client.path, '-L', `0:127.0.0.1:${webPort}`])
    await assert.rejects(request((await asking.listening()).port, 'GET', '/', undefined, agent), /socket hang up|ECONNRESET/)
    await asking.waitForStderr(/the far end did not answer the request to open 127\.0\.0\.1:\d+: it forwards to a target of its own/)

    const choosing = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path, '--permit-open', `127.0.0.1:${webPort}`])
    const plain = sandbox.start(['connect', (await choosing.listening()).address ?? '', '--keys', client.path, '-L', '0'])
    await assert.rejects(request((await plain.listening()).port, 'GET', '/', undefined, agent), /socket hang up|ECONNRESET/)
    await choosing.waitForStderr(/#1 from \S+ named no target \(shs connect -L \[bind:\]port needs a server with --forward/)
  })

  it('-L that is not ssh\'s spelling is a usage error (exit 2) that shows it', async () => {
    const [server] = await sandbox.keygenPair()
    for (const spec of ['8080:127.0.0.1', '1:2:3:4:5', '8080:127.0.0.1:0', '[::1:8080']) {
      const result = await sandbox.run(['connect', 'net:127.0.0.1:1~shs:' + server.id.slice(1, -'.ed25519'.length), '-L', spec], '')
      assert.equal(result.code, 2, `${spec}: ${result.stderr}`)
      assert.match(result.stderr, /^shs: -L "[^"]+" (is not \[bind:\]port:host:hostport \(for example 8080:127\.0\.0\.1:80, as ssh -L spells it\) or \[bind:\]port|asks for port 0 on the far end|has port)/)
    }
  })

  it('a local connection whose secure connection is refused is closed and logged, and the tunnel lives on', async () => {
    const [server, client] = await sandbox.keygenPair()
    const allowFile = sandbox.path('nobody')
    await writeFile(allowFile, '# nobody is allowed\n')
    const webPort = (web.address() as AddressInfo).port
    const far = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path, '--allow', allowFile, '--forward', `127.0.0.1:${webPort}`])
    const { address } = await far.listening()
    const near = sandbox.start(['connect', address ?? '', '--keys', client.path, '-L', '127.0.0.1:0'])
    const { port } = await near.listening()
    const agent = new http.Agent({ keepAlive: false })
    agents.push(agent)
    await assert.rejects(request(port, 'GET', '/', undefined, agent), /socket hang up|ECONNRESET/)
    await near.waitForStderr(/#1 could not open the secure connection: .*does not allow our id/)
    assert.equal(near.child.exitCode, null)
  })
})
