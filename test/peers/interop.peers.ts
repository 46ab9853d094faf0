/**
 * `npm run test:peers`: data interop with the other implementations, both ways. Their netcat-like
 * client (`pipe`) against our echo server, and our client against their echo server, for a
 * byte, a whole packet and many packets. The peers get their keys and address as the
 * conformance suite gives them (SHS_CONFORMANCE_*), so the same commands serve both tests.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { toString } from 'uint8arrays/to-string'
import { type KeyPair, type SecureStream, connect, generateKeyPair, listen } from '../../src/index.ts'
import { collect } from '../helpers/bytes.ts'
import { freePort } from '../helpers/resources.ts'
import { type BuiltPeers, type Peer, buildPeers } from './peers.ts'

const SIZES = [1, 4096, 100_000]
const HOST = '127.0.0.1'
/** How long a peer's server may take to listen; only turns a hang into a failure that says so. */
const START_LIMIT_MS = 10_000
const POLL_MS = 25
const base64 = (bytes: Uint8Array): string => toString(bytes, 'base64pad')

function environment (port: number, own: KeyPair, serverKey: Uint8Array, networkKey: Uint8Array): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SHS_CONFORMANCE_HOST: HOST,
    SHS_CONFORMANCE_PORT: String(port),
    SHS_CONFORMANCE_ADDRESS: `net:${HOST}:${port}~shs:${base64(serverKey)}`,
    SHS_CONFORMANCE_SERVER_KEY: base64(serverKey),
    SHS_CONFORMANCE_NETWORK_KEY: base64(networkKey),
    SHS_CONFORMANCE_SECRET: base64(own.secretKey)
  }
}

/** `sh -c command` with `input` on stdin; its stdout and exit status. */
async function runPipe (command: string, env: NodeJS.ProcessEnv, input: Uint8Array): Promise<{ stdout: Buffer, code: number | null, stderr: string }> {
  const child = spawn('sh', ['-c', command], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  const stdout: Buffer[] = []
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout.push(chunk) })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  child.stdin.end(input)
  const code = await new Promise<number | null>((resolve, reject) => { child.once('error', reject); child.once('close', resolve) })
  return { stdout: Buffer.concat(stdout), code, stderr }
}

async function waitUntilListening (port: number): Promise<void> {
  const deadline = Date.now() + START_LIMIT_MS
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, HOST, () => { socket.destroy(); resolve(true) })
      socket.once('error', () => { socket.destroy(); resolve(false) })
    })
    if (connected) return
    if (Date.now() > deadline) throw new Error(`nothing listened on port ${port} within ${START_LIMIT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

async function echo (stream: SecureStream): Promise<void> {
  await stream.sink(stream.source)
}

describe('interop with the reference, go-secretstream, python-ssb and shs1-c (npm run test:peers)', function () {
  this.timeout(120_000)
  let built: BuiltPeers
  const networkKey = randomBytes(32)

  before(async function () {
    this.timeout(600_000)
    built = await buildPeers()
  })
  after(async () => { await built?.remove() })

  for (const name of ['reference', 'go-secretstream', 'python-ssb', 'shs1-c']) {
    const peer = (): Peer => built.peers.find((entry) => entry.name === name) as Peer

    it(`${name}'s client (pipe) against our echo server: ${SIZES.join(', ')} bytes, echoed, exit 0`, async () => {
      const serverKeys = generateKeyPair()
      const listener = await listen({ port: 0, host: HOST, keys: serverKeys, networkKey }, (stream) => { void echo(stream) })
      try {
        for (const size of SIZES) {
          const payload = randomBytes(size)
          const env = environment(listener.address().port, generateKeyPair(), serverKeys.publicKey, networkKey)
          const result = await runPipe(peer().client, env, payload)
          assert.equal(result.code, 0, `${size} bytes: ${result.stderr}`)
          assert.ok(result.stdout.equals(payload), `${size} bytes: ${result.stdout.byteLength} came back`)
        }
      } finally {
        await listener.close()
      }
    })

    it(`${name}'s client against our echo server with rekey 'prefer' (the extension offered): plain SHS1, byte for byte`, async () => {
      const serverKeys = generateKeyPair()
      const streams: SecureStream[] = []
      const listener = await listen({ port: 0, host: HOST, keys: serverKeys, networkKey, rekey: 'prefer' }, (stream) => { streams.push(stream); void echo(stream) })
      try {
        const payload = randomBytes(100_000)
        const result = await runPipe(peer().client, environment(listener.address().port, generateKeyPair(), serverKeys.publicKey, networkKey), payload)
        assert.equal(result.code, 0, result.stderr)
        assert.ok(result.stdout.equals(payload))
        assert.deepEqual(streams.map((stream) => stream.rekeying), [false])
      } finally {
        await listener.close()
      }
    })

    it(`our client with rekey 'prefer' against ${name}'s echo server gets plain SHS1; with 'require' ERR_SHS_REKEY_REQUIRED`, async () => {
      const serverKeys = generateKeyPair()
      const port = await freePort()
      const server = spawn('sh', ['-c', peer().server], { env: environment(port, serverKeys, serverKeys.publicKey, networkKey), detached: true, stdio: 'ignore' })
      try {
        await waitUntilListening(port)
        // python-ssb never answers a hello it cannot verify: the fallback waits half of this.
        const options = { host: HOST, port, keys: generateKeyPair(), remotePublicKey: serverKeys.publicKey, networkKey, timeout: 4000 }
        const stream = await connect({ ...options, rekey: 'prefer' })
        assert.equal(stream.rekeying, false)
        const payload = randomBytes(10_000)
        const [received] = await Promise.all([collect(stream.source), stream.sink([payload])])
        assert.ok(Buffer.from(received).equals(payload))
        await assert.rejects(connect({ ...options, rekey: 'require' }), { code: 'ERR_SHS_REKEY_REQUIRED' })
      } finally {
        if (server.pid !== undefined && server.exitCode === null) process.kill(-server.pid, 'SIGKILL')
      }
    })

    it(`our client against ${name}'s echo server: ${SIZES.join(', ')} bytes, echoed, then its goodbye`, async () => {
      const serverKeys = generateKeyPair()
      const port = await freePort()
      const server = spawn('sh', ['-c', peer().server], { env: environment(port, serverKeys, serverKeys.publicKey, networkKey), detached: true, stdio: 'ignore' })
      try {
        await waitUntilListening(port)
        for (const size of SIZES) {
          const stream = await connect({ host: HOST, port, keys: generateKeyPair(), remotePublicKey: serverKeys.publicKey, networkKey })
          const payload = randomBytes(size)
          const [received] = await Promise.all([collect(stream.source), stream.sink([payload])])
          assert.ok(Buffer.from(received).equals(payload), `${size} bytes: ${received.byteLength} came back`)
        }
      } finally {
        if (server.pid !== undefined && server.exitCode === null) process.kill(-server.pid, 'SIGKILL')
      }
    })
  }
})
