/**
 * The scale section's processes, started by scale.ts through child.ts (not by hand); loopback only,
 * each exits when the bench disconnects. Commands:
 *   serve <impl>                                  an idle server; reports { port, publicKey, fdLimit },
 *                                                 then answers each { measure } with its RSS after full
 *                                                 GCs, and its memory after a last-resort GC
 *   hold <impl> <port> <key> <count> <source> <sources>  holds `count` connections dialled from
 *                                                 127.0.0.<source> .. 127.0.0.<source + sources - 1> in
 *                                                 turn; reports { held, failed }, then answers each
 *                                                 { probe: n } with n new handshakes, each closed at once
 * Clients of both secure servers are the reference's (secret-handshake), the same client for both,
 * since it can bind a source address; clients of the plain servers are `node:net` sockets (`tcp-shaped`:
 * an echo server, and its clients first exchange the handshake's message sizes with it).
 */
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { getHeapSpaceStatistics } from 'node:v8'
import { HOST, MS_PER_SECOND, sleep } from './config.ts'
import { loadTransport } from './transports/load.ts'
import { open as openReference, pull } from './transports/reference.ts'
import { exactly } from './transports/tcp.ts'
import { type ImplName, type Target, fromHex, hex, ignore } from './transports/types.ts'

const [command, implName = 'ours', ...rest] = process.argv.slice(2)
if (process.send === undefined) throw new Error('scripts/bench/scale-peer.ts is started by the bench: run npm run bench -- --only scale')
type Message = Record<string, number | string>
const send = (message: Message): void => { process.send?.(message) }
const orders: Array<(message: Message) => Promise<void>> = []
process.on('message', (message: Message) => { void Promise.all(orders.map(async (order) => { await order(message) })) })
let cleanup = (): void => {}
process.on('disconnect', () => { cleanup(); process.exit(0) })

/** Handshakes under way at once per client process: few enough to stay clear of listen()'s pending caps. */
const OPEN_CONCURRENCY = 32
/** How long one client process may take to open all its connections before it reports what it has. */
const OPEN_LIMIT_MS = 240 * MS_PER_SECOND
const GC_ROUNDS = 4
/** `gc()`'s options under --expose-gc: a full collection, and the one V8 runs when an allocation fails. */
interface GcOptions { readonly type: 'major', readonly execution: 'sync', readonly flavor: 'regular' | 'last-resort' }
const REGULAR_GC: GcOptions = { type: 'major', execution: 'sync', flavor: 'regular' }
const LAST_RESORT_GC: GcOptions = { type: 'major', execution: 'sync', flavor: 'last-resort' }
const SETTLE_MS = 500
/** A plain `node:net` server whose clients first exchange the handshake's message sizes with it, no crypto. */
const SHAPED = 'tcp-shaped'
/** SHS1's client hello and message 3 (docs/PROTOCOL.md, "The four messages"), each echoed: the handshake's traffic without its crypto. */
const SHAPED_MESSAGES = [64, 112].map((length) => Buffer.alloc(length))

if (command === 'serve') {
  // The shaped plain server echoes, so its clients can exchange the handshake's message sizes.
  const shaped = implName === SHAPED
  const server = await (await loadTransport(shaped ? 'tcp' : implName as ImplName)).serve({ kind: shaped ? 'echo' : 'idle' })
  cleanup = () => { server.close().catch(ignore) }
  orders.push(async (message) => {
    if (message.measure === undefined) return
    await settle(REGULAR_GC)
    const { rss } = process.memoryUsage()
    const youngGeneration = newSpaceBytes()
    // What V8 does when told memory is short: it also gives back the young generation it grew.
    await settle(LAST_RESORT_GC)
    const { rss: rssAfterLastResort, heapUsed, external } = process.memoryUsage()
    send({ rss, youngGeneration, rssAfterLastResort, heapUsed, external, accepted: server.accepted() })
  })
  send({ port: server.target.port, publicKey: hex(server.target.publicKey), fdLimit: openFileLimit() })
} else if (command === 'hold') {
  const [port = '0', key = '', count = '0', source = '2', sources = '1'] = rest
  const target: Target = { port: Number(port), publicKey: fromHex(key) }
  const dial = implName === 'tcp' ? dialTcp : implName === SHAPED ? dialShaped : dialSecure
  const address = (n: number): string => `127.0.0.${Number(source) + n % Number(sources)}`
  const held: Array<() => void> = []
  cleanup = () => { for (const close of held.splice(0)) close() }
  let failed = 0
  let started = 0
  const deadline = performance.now() + OPEN_LIMIT_MS
  await Promise.all(Array.from({ length: OPEN_CONCURRENCY }, async () => {
    while (started < Number(count) && performance.now() < deadline) {
      await dial(target, address(started++)).then((close) => { held.push(close) }, () => { failed++ })
    }
  }))
  orders.push(async (message) => {
    const probes = Number(message.probe ?? 0)
    if (probes === 0) return
    const begun = performance.now()
    let completed = 0
    let probeFailed = 0
    for (let n = 0; n < probes; n++) {
      await dial(target, address(n)).then((close) => { completed++; close() }, () => { probeFailed++ })
    }
    send({ completed, failed: probeFailed, ms: performance.now() - begun })
  })
  send({ held: held.length, failed })
} else {
  throw new RangeError(`unknown scale peer command "${String(command)}"`)
}

async function dialSecure (target: Target, localAddress: string): Promise<() => void> {
  const { stream, socket } = await openReference(target, localAddress)
  pull(stream.source, pull.drain(ignore, ignore))
  return () => { socket.destroy() }
}

async function dialTcp (target: Target, localAddress: string): Promise<() => void> {
  const socket = await connectTcp(target, localAddress)
  return () => { socket.destroy() }
}

async function connectTcp (target: Target, localAddress: string): Promise<net.Socket> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect({ port: target.port, host: HOST, noDelay: true, localAddress })
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      socket.on('error', ignore)
      socket.resume()
      resolve(socket)
    })
  })
}

async function dialShaped (target: Target, localAddress: string): Promise<() => void> {
  const socket = await connectTcp(target, localAddress)
  try {
    for (const message of SHAPED_MESSAGES) {
      const echoed = exactly(socket, message.byteLength)
      socket.write(message)
      await echoed
    }
  } catch (err) {
    socket.destroy()
    throw err
  }
  return () => { socket.destroy() }
}

/** Lets closes and handshakes finish, then collects fully (several times: finalizers of one free more in the next). */
async function settle (options: GcOptions): Promise<void> {
  const collect = (globalThis as { gc?: (options: GcOptions) => void }).gc
  if (collect === undefined) throw new Error('the scale server needs node --expose-gc')
  await sleep(SETTLE_MS)
  for (let round = 0; round < GC_ROUNDS; round++) {
    collect(options)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** The young generation's size now: V8 grows it under a high allocation rate and keeps it until memory is short. */
function newSpaceBytes (): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? Number.NaN
}

/** This process's soft limit on open files (Node raises it to the hard limit at start), or -1 if unknown. */
function openFileLimit (): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((text) => text.startsWith('Max open files'))
    const soft = line?.split(/\s{2,}/)[1]
    return soft === undefined || soft === 'unlimited' ? -1 : Number(soft)
  } catch {
    // Not Linux: the bench then holds what it was asked to and says the limit is unknown.
    return -1
  }
}
