/**
 * The CLI rows of docs/HOSTILE-LOAD.md's table: --exec leaves no orphan and is capped, a tunnel
 * survives a burst of concurrent requests, Ctrl-C ends a stdio session with goodbye, the new flags are
 * checked. Every wait is for an event or a bounded poll.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { type ShsProcess, sha256, useSandbox } from './helpers.ts'

const POLL_LIMIT = 1500
const POLL_MS = 10

/** Polls `condition` every 10 ms, at most 1 500 times (15 s), then fails. */
async function eventually (condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < POLL_LIMIT; i++) {
    if (await condition()) return
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** A process is gone once it no longer exists or is a zombie waiting for a reaper. */
async function processGone (pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

describe('shs CLI: hostile load', function () {
  this.timeout(60_000)
  const sandbox = useSandbox()

  it('row 6: SIGTERM to `listen --exec` ends each command and everything it started (no orphans)', async () => {
    const [server, client] = await sandbox().keygenPair()
    // The shell prints its own pid and its background job's, then waits: two generations.
    const listen = sandbox().start(['listen', '127.0.0.1:0', '--keys', server.path, '--exec', 'sleep 60 & echo "$$ $!"; wait'])
    const { address } = await listen.listening()
    const connects: ShsProcess[] = []
    for (let i = 0; i < 2; i++) connects.push(sandbox().start(['connect', address ?? '', '--keys', client.path]))
    await eventually(() => connects.every((c) => /^\d+ \d+\n$/.test(c.stdout.toString('utf8'))), 'each command to report its pids')
    const pids = connects.flatMap((c) => c.stdout.toString('utf8').trim().split(' ').map(Number))
    assert.equal(pids.length, 4)
    for (const pid of pids) assert.equal(await processGone(pid), false, `process ${pid} runs before the server stops`)

    listen.child.kill('SIGTERM')
    assert.equal(await listen.exited, 143)
    for (const pid of pids) await eventually(async () => await processGone(pid), `process ${pid} to end with the server`)
  })

  it('--max-clients caps --exec commands: one more client is refused before message 4, and told the server may be full', async () => {
    const [server, client] = await sandbox().keygenPair()
    const listen = sandbox().start(['listen', '127.0.0.1:0', '--keys', server.path, '--max-clients', '1', '--exec', 'cat'])
    const { address } = await listen.listening()
    const first = sandbox().start(['connect', address ?? '', '--keys', client.path])
    first.child.stdin?.write('ping')
    await eventually(() => first.stdout.toString('utf8') === 'ping', 'the first command to echo')
    const second = await sandbox().run(['connect', address ?? '', '--keys', client.path], '')
    assert.equal(second.code, 4)
    assert.match(second.stderr, /too many clients \(try again later\)/)
    await listen.waitForStderr(/#2 from 127\.0\.0\.1:\d+ refused: 1 clients are connected \(--max-clients\)/)
    first.child.stdin?.end()
    assert.equal(await first.exited, 0)
    // The command exited, so its slot is free again.
    await eventually(async () => (await sandbox().run(['connect', address ?? '', '--keys', client.path], 'pong')).code === 0, 'a new client to be served')
  })

  it('row 7: 100 concurrent requests through `connect --local` and `listen --forward` with default limits all succeed', async () => {
    const REQUESTS = 100
    const [server, client] = await sandbox().keygenPair()
    const web = http.createServer((request, response) => { response.end(request.url) })
    await new Promise<void>((resolve) => { web.listen(0, '127.0.0.1', resolve) })
    const agent = new http.Agent({ keepAlive: false, maxSockets: REQUESTS })
    try {
      const far = sandbox().start(['listen', '127.0.0.1:0', '--keys', server.path, '--forward', `127.0.0.1:${(web.address() as AddressInfo).port}`])
      const { address } = await far.listening()
      const near = sandbox().start(['connect', address ?? '', '--keys', client.path, '--local', '127.0.0.1:0'])
      const { port } = await near.listening()
      const answers = await Promise.all(Array.from({ length: REQUESTS }, async (_, i) => await new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: `/${i}`, agent }, (response) => {
          let text = ''
          response.setEncoding('utf8')
          response.on('data', (chunk: string) => { text += chunk })
          response.on('end', () => { resolve(text) })
          response.on('error', reject)
        }).on('error', reject)
      })))
      assert.deepEqual(answers, Array.from({ length: REQUESTS }, (_, i) => `/${i}`))
      assert.doesNotMatch(far.stderr + near.stderr, /refused|dropped|could not|ended badly/)
    } finally {
      agent.destroy()
      web.closeAllConnections()
      await new Promise((resolve) => { web.close(resolve) })
    }
  })

  it('row 8: Ctrl-C on `shs connect` while stdin is open sends what it read, then goodbye, and exits 0; the peer sees a clean end', async () => {
    const [server, client] = await sandbox().keygenPair()
    const listen = sandbox().start(['listen', '127.0.0.1:0', '--keys', server.path])
    // The server sends its file and says goodbye; the client, typing on a terminal, stays open.
    listen.child.stdin?.end('welcome')
    const { address } = await listen.listening()
    const connect = sandbox().start(['connect', address ?? '', '--keys', client.path])
    connect.child.stdin?.write('typed so far')
    await eventually(() => listen.stdout.toString('utf8') === 'typed so far', 'the server to receive the first bytes')
    await eventually(() => connect.stdout.toString('utf8') === 'welcome', 'the client to receive the server\'s data')
    connect.child.kill('SIGINT')
    assert.equal(await connect.exited, 0, connect.stderr)
    assert.match(connect.stderr, /SIGINT: sending goodbye/)
    assert.equal(await listen.exited, 0, listen.stderr)
    assert.equal(listen.stdout.toString('utf8'), 'typed so far')
    assert.doesNotMatch(listen.stderr, /without the peer's goodbye|cut off/)
  })

  it('row 8: SIGTERM to `shs connect` after its stdin ended exits 0 at once (goodbye already sent); the same on `listen` in stdio mode', async () => {
    const [server, client] = await sandbox().keygenPair()
    const listen = sandbox().start(['listen', '127.0.0.1:0', '--keys', server.path])
    const { address } = await listen.listening()
    const payload = Buffer.alloc(100_000, 7)
    const connect = sandbox().start(['connect', address ?? '', '--keys', client.path])
    connect.child.stdin?.end(payload)
    await eventually(() => listen.stdout.length === payload.length, 'the server to receive everything')
    connect.child.kill('SIGTERM')
    assert.equal(await connect.exited, 0, connect.stderr)
    assert.equal(sha256(listen.stdout), sha256(payload))
    // The stdio server got our goodbye and still holds its stdin: Ctrl-C ends it with goodbye too.
    listen.child.kill('SIGINT')
    assert.equal(await listen.exited, 0, listen.stderr)
  })

  it('--forward gives up on a target that does not accept the connection within --timeout', async () => {
    const [server, client] = await sandbox().keygenPair()
    // A listening socket with a backlog of 1 in a stopped process: once its accept queue holds
    // two connections, the kernel drops further SYNs, so a connect there hangs.
    const target = spawn(process.execPath, ['-e', 'require("net").createServer().listen({ port: 0, host: "127.0.0.1", backlog: 1 }, function () { console.log(this.address().port) })'],
      { stdio: ['ignore', 'pipe', 'inherit'] })
    const fillers: net.Socket[] = []
    try {
      const [line] = await once(target.stdout, 'data') as [Buffer]
      const port = Number(line.toString('utf8'))
      target.kill('SIGSTOP')
      for (let i = 0; i < 2; i++) {
        const socket = net.connect({ host: '127.0.0.1', port })
        fillers.push(socket)
        await once(socket, 'connect')
      }
      const far = sandbox().start(['listen', '127.0.0.1:0', '--keys', server.path, '--forward', `127.0.0.1:${port}`, '--timeout', '500'])
      const { address } = await far.listening()
      const connect = sandbox().start(['connect', address ?? '', '--keys', client.path])
      await far.waitForStderr(/#1 could not reach the --forward target 127\.0\.0\.1:\d+ \(ETIMEDOUT\)/)
      assert.equal(await connect.exited, 7, connect.stderr)
      assert.equal(far.child.exitCode, null, 'the server lives on')
    } finally {
      for (const socket of fillers) socket.destroy()
      target.kill('SIGKILL')
      if (target.exitCode === null && target.signalCode === null) await once(target, 'close')
    }
  })

  it('row 8: a second Ctrl-C while the goodbye cannot be flushed aborts at once with exit 130', async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/stuck-goodbye.ts', import.meta.url))], { stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
    const printed = async (pattern: RegExp): Promise<void> => {
      await eventually(() => pattern.test(stderr), `stderr to match ${String(pattern)}; it says: ${stderr}`)
    }
    const exited = once(child, 'close') as Promise<[number | null]>
    try {
      await printed(/stuck-goodbye: ready/)
      child.kill('SIGINT')
      await printed(/input ended, goodbye cannot be flushed/)
      assert.match(stderr, /SIGINT: sending goodbye, then exiting \(again to abort at once\)/)
      assert.equal(child.exitCode, null, 'still waiting for the goodbye')
      child.kill('SIGINT')
      const [code] = await exited
      assert.equal(code, 130)
      assert.match(stderr, /SIGINT again: aborting the connection without goodbye\nstuck-goodbye: aborted/)
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exited
      }
    }
  })

  it('the limit flags are checked: exit 2 with the flag named', async () => {
    const [server] = await sandbox().keygenPair()
    for (const args of [['--max-pending', '0'], ['--max-per-source', 'x'], ['--max-clients', '-1'], ['--idle-timeout', '1.5']]) {
      const result = await sandbox().run(['listen', '127.0.0.1:0', '--keys', server.path, ...args], '')
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, new RegExp(args[0] ?? ''))
    }
  })

  it('--idle-timeout on listen drops a silent client; the client is told why (exit 5 on the server, 7 on the client)', async () => {
    const [server, client] = await sandbox().keygenPair()
    const listen = sandbox().start(['listen', '127.0.0.1:0', '--keys', server.path, '--idle-timeout', '300'])
    const { address } = await listen.listening()
    const connect = sandbox().start(['connect', address ?? '', '--keys', client.path])
    assert.equal(await listen.exited, 5, listen.stderr)
    assert.match(listen.stderr, /no byte moved either way for --idle-timeout/)
    assert.equal(await connect.exited, 7, connect.stderr)
  })
})
