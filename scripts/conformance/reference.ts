/**
 * Scuttlebutt's reference implementation (secret-handshake@1.1.21 + pull-box-stream@1.0.13,
 * wired to TCP with stream-to-pull-stream, as the packages' READMEs show) as the two commands
 * `shs conformance` expects: an echo server and a netcat-like client. Keys and addresses come
 * from the SHS_CONFORMANCE_* environment. The handshake timeout is the reference's own default.
 */
import { createRequire } from 'node:module'
import net from 'node:net'

const require = createRequire(import.meta.url)

type PullSource = (end: unknown, cb: (end: unknown, data?: Buffer) => void) => void
type PullSink = (source: PullSource) => void
interface PullDuplex { source: PullSource, sink: PullSink }
type Done = (err: unknown, stream?: PullDuplex) => void
interface Keys { publicKey: Buffer, secretKey: Buffer }

const shs = require('secret-handshake') as {
  createServer: (keys: Keys, authorize: (id: Buffer, cb: (err: unknown, ok?: boolean) => void) => void, appKey: Buffer) => (done: Done) => PullDuplex
  createClient: (keys: Keys, appKey: Buffer) => (serverKey: Buffer, done: Done) => PullDuplex
}
const pull = require('pull-stream') as (...streams: unknown[]) => unknown
const toPull = require('stream-to-pull-stream') as {
  duplex: (socket: net.Socket) => PullDuplex
  source: (stream: NodeJS.ReadableStream) => PullSource
  sink: (stream: NodeJS.WritableStream, done: (err: unknown) => void) => PullSink
}

function env (name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is not set: run this under shs conformance`)
  return value
}

function keysFromEnvironment (): Keys {
  const secretKey = Buffer.from(env('SHS_CONFORMANCE_SECRET'), 'base64')
  // An Ed25519 secret key is seed ‖ public key.
  return { publicKey: secretKey.subarray(32), secretKey }
}

function report (what: string, err: unknown): void {
  process.stderr.write(`reference ${what}: ${err instanceof Error ? err.message : String(err)}\n`)
}

/** Echo server: everything the client sends goes back, and its goodbye is answered with ours. */
export function runServer (): void {
  const createStream = shs.createServer(keysFromEnvironment(), (_id, cb) => { cb(null, true) }, Buffer.from(env('SHS_CONFORMANCE_NETWORK_KEY'), 'base64'))
  const server = net.createServer((socket) => {
    // Errors reach the pull streams too; this only keeps an event without listeners from throwing.
    socket.on('error', (err) => { report('server socket', err) })
    const stream = toPull.duplex(socket)
    pull(stream, createStream((err, secure) => {
      if (err != null || secure === undefined) { report('server handshake', err); return }
      pull(secure, secure)
    }), stream)
  })
  server.listen(Number(env('SHS_CONFORMANCE_PORT')), env('SHS_CONFORMANCE_HOST'))
}

/** netcat: stdin into the stream (goodbye at its end), the stream to stdout; exit 0 only after a clean goodbye. */
export function runClient (): void {
  const connect = shs.createClient(keysFromEnvironment(), Buffer.from(env('SHS_CONFORMANCE_NETWORK_KEY'), 'base64'))
  const socket = net.connect(Number(env('SHS_CONFORMANCE_PORT')), env('SHS_CONFORMANCE_HOST'))
  socket.on('error', (err) => { report('client socket', err) })
  const fail = (what: string, err: unknown): void => {
    report(what, err)
    process.exit(1)
  }
  const stream = toPull.duplex(socket)
  pull(stream, connect(Buffer.from(env('SHS_CONFORMANCE_SERVER_KEY'), 'base64'), (err, secure) => {
    if (err != null || secure === undefined) { fail('client handshake', err); return }
    pull(toPull.source(process.stdin), secure.sink)
    pull(secure.source, toPull.sink(process.stdout, (streamErr) => {
      if (streamErr != null && streamErr !== true) fail('client stream', streamErr)
    }))
  }), stream)
}
