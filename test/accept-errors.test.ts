/**
 * A listen() or listenWebSocket() server out of file descriptors (a child process under
 * `ulimit -n`): libuv drops the connections it cannot accept without a word, so the server's probe
 * reports the shortage to onError as an AcceptError (ERR_SHS_ACCEPT_FAILED, errno EMFILE) and
 * counts it in stats(); once the stallers close, the server serves again.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type ListenerStats, SSB_NETWORK_KEY, type SecureStream, type ShsError, connect, connectWebSocket, generateKeyPair } from '../src/index.ts'
import { drain } from './helpers/adversary.ts'
import { waitFor } from './helpers/resources.ts'
import { type RawSockets, stallers } from './helpers/stallers.ts'

const CHILD = fileURLToPath(new URL('./fixtures/fd-limited-server.ts', import.meta.url))
/** Enough for Node to start and listen, far fewer than the stallers. */
const FD_LIMIT = 64
const STALLERS = 120
const WAIT_MS = 15_000

interface Report { seen: Array<{ name: string, code: string, errno: unknown, host: string }>, stats: ListenerStats }

class LimitedServer {
  readonly child: ChildProcess
  port = 0
  publicKey = new Uint8Array()

  readonly path: 'tcp' | 'ws'

  constructor (path: 'tcp' | 'ws') {
    this.path = path
    // exec keeps the IPC channel: node finds it through the environment.
    this.child = spawn('bash', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, ...process.execArgv, CHILD, path],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  }

  async ready (): Promise<void> {
    const hello = await new Promise<{ port: number, publicKey: string }>((resolve, reject) => {
      this.child.once('message', (message) => { resolve(message as { port: number, publicKey: string }) })
      this.child.once('exit', (code) => { reject(new Error(`the fd-limited server exited (${code}) before it was ready`)) })
    })
    this.port = hello.port
    this.publicKey = new Uint8Array(Buffer.from(hello.publicKey, 'hex'))
  }

  async report (): Promise<Report> {
    return await new Promise<Report>((resolve) => {
      this.child.once('message', (message) => { resolve(message as Report) })
      this.child.send('report')
    })
  }

  /** Polls the child's report until `condition` holds (bounded by WAIT_MS). */
  async until (condition: (report: Report) => boolean, what: string): Promise<Report> {
    let report = await this.report()
    const started = Date.now()
    while (!condition(report)) {
      if (Date.now() - started > WAIT_MS) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(report.stats)}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
      report = await this.report()
    }
    return report
  }

  async stop (): Promise<void> {
    if (this.child.exitCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.disconnect()
    await exited
  }
}

/** An honest client of the path's server. */
async function honestClient (server: LimitedServer): Promise<SecureStream> {
  const options = { keys: generateKeyPair(), networkKey: SSB_NETWORK_KEY, remotePublicKey: server.publicKey }
  return server.path === 'ws'
    ? await connectWebSocket({ ...options, url: `ws://127.0.0.1:${server.port}` })
    : await connect({ ...options, host: '127.0.0.1', port: server.port })
}

for (const path of ['tcp', 'ws'] as const) describe(`${path === 'ws' ? 'listenWebSocket()' : 'listen()'} out of file descriptors (a child under ulimit -n)`, function () {
  this.timeout(60_000)
  let server: LimitedServer
  let attack: RawSockets | undefined
  afterEach(async () => {
    attack?.destroyAll()
    await server.stop()
  })

  it('onError gets an AcceptError with errno EMFILE, stats count it, and the server serves again once the stallers close', async () => {
    server = new LimitedServer(path)
    await server.ready()
    attack = stallers(server.port, '127.0.0.2', STALLERS, 0)
    const short = await server.until((report) => report.stats.acceptErrors > 0, 'an accept error')
    const first = short.seen[0]
    assert.deepEqual(first, { name: 'AcceptError', code: 'ERR_SHS_ACCEPT_FAILED', errno: 'EMFILE', host: '' })
    assert.ok(short.seen.every((seen) => seen.code === 'ERR_SHS_ACCEPT_FAILED'), 'only accept errors reached onError')
    assert.ok(short.stats.pendingHandshakes < STALLERS, `${short.stats.pendingHandshakes} handshakes pending: not every staller got in`)

    attack.destroyAll()
    await waitFor(() => attack?.size === 0, 'the stallers to close', WAIT_MS)
    await server.until((report) => report.stats.pendingHandshakes === 0, 'the stallers\' handshakes to end')
    const stream = await honestClient(server)
    const message = new Uint8Array([7, 8, 9])
    const [echoed] = await Promise.all([drain(stream.source), stream.sink([message])])
    assert.equal(echoed.error as ShsError | undefined, undefined)
    assert.deepEqual(echoed.delivered, message)
  })
})
