import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { assertNoLeaks, countResources } from '../helpers/resources.ts'
import { Sandbox, killAll, sha256 } from './helpers.ts'

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

describe('shs CLI: tunnels (listen --forward + connect --local)', function () {
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
    const near = sandbox.start(['connect', address ?? '', '--keys', client.path, '--local', '127.0.0.1:0'])
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

  it('a local connection whose secure connection is refused is closed and logged, and the tunnel lives on', async () => {
    const [server, client] = await sandbox.keygenPair()
    const allowFile = sandbox.path('nobody')
    await writeFile(allowFile, '# nobody is allowed\n')
    const webPort = (web.address() as AddressInfo).port
    const far = sandbox.start(['listen', '127.0.0.1:0', '--keys', server.path, '--allow', allowFile, '--forward', `127.0.0.1:${webPort}`])
    const { address } = await far.listening()
    const near = sandbox.start(['connect', address ?? '', '--keys', client.path, '--local', '127.0.0.1:0'])
    const { port } = await near.listening()
    const agent = new http.Agent({ keepAlive: false })
    agents.push(agent)
    await assert.rejects(request(port, 'GET', '/', undefined, agent), /socket hang up|ECONNRESET/)
    await near.waitForStderr(/#1 could not open the secure connection: .*does not allow our id/)
    assert.equal(near.child.exitCode, null)
  })
})
