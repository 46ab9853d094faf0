/**
 * Round trips: what opening a connection costs on a long path. Every client goes through the
 * delay proxy (delay-proxy.ts), at 0 and at 100 ms each way, and the rows give milliseconds and,
 * at 100 ms, round trips (ms / 200: the CPU time, which the 0 ms rows show, is in it too).
 *
 * - First application byte at the server: from the moment the client starts connect() to the
 *   moment the server reads the byte it sent once connected. This library's connect() and the
 *   npm reference's client against this library's server; plain TCP (the byte sent on connect)
 *   is the bound. The time connect() takes to resolve is shown apart.
 * - A rekey of the extension on an open connection: stream.rekey() until it resolves.
 * - libp2p dial + upgrade: dial() until the connection is ready (multistream-select, the
 *   encrypter's handshake, the muxer), with shs, noise and plaintext; a fresh pair of nodes per
 *   run, warmed by one direct dial.
 *
 * The proxy holds each side's TCP handshake to itself: on a real path TCP adds one more round
 * trip to every row alike (docs/PERFORMANCE.md).
 */
import net from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { SSB_NETWORK_KEY as networkKey, connect, generateKeyPair, listen } from '../../src/index.ts'
import { type BenchConfig, HOST, log } from './config.ts'
import { type DelayProxy, startDelayProxy } from './delay-proxy.ts'
import { ENCRYPTERS, type EncrypterName, createNode } from './libp2p.ts'
import type { Report, Row } from './report.ts'
import { interleave } from './stats.ts'
import { open as openReference } from './transports/reference.ts'
import { ONE_BYTE, ignore, signal } from './transports/types.ts'

const DELAYS_MS = [0, 100] as const
type Delay = typeof DELAYS_MS[number]
const LONG: Delay = 100
const RTT_MS = 2 * LONG
/** `early`: ours with the byte given as early data, behind message 3 (docs/PROTOCOL.md, "Early data"). */
const TASKS = ['ours', 'early', 'reference', 'tcp', 'rekey', 'shs', 'noise', 'plaintext'] as const
type Task = typeof TASKS[number]
/** The goal for the first byte, in round trips through such a proxy. */
const FIRST_BYTE_RTT_GOAL = 1.6

const keys = generateKeyPair()

/** A server that notes when each connection's first application byte arrives (one connection at a time). */
class FirstByteServer {
  #arrived = signal()
  #at = Number.NaN
  #close: () => Promise<void> = async () => {}
  port = 0

  async startShs (): Promise<void> {
    // 'prefer': the extension's client (the rekey task) and plain SHS1 clients alike.
    const listener = await listen({ host: HOST, port: 0, keys, networkKey, rekey: 'prefer' }, (stream) => {
      void (async () => {
        for await (const chunk of stream.source) if (chunk.byteLength > 0) { this.#note(); break }
      })().catch(ignore)
    })
    this.port = listener.address().port
    this.#close = async () => { await listener.close() }
  }

  async startTcp (): Promise<void> {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.on('error', ignore)
      socket.once('data', () => { this.#note(); socket.destroy() })
    })
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
    this.port = (server.address() as net.AddressInfo).port
    this.#close = async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }

  /** performance.now() when the next first byte arrives. */
  async next (): Promise<number> {
    await this.#arrived.promise
    this.#arrived = signal()
    return this.#at
  }

  #note (): void {
    this.#at = performance.now()
    this.#arrived.resolve()
  }

  async close (): Promise<void> { await this.#close() }
}

interface FirstByte { readonly connectedMs: number, readonly firstByteMs: number }

/** One connection through `proxy` by `client`; the byte goes out as soon as the client is connected. */
async function firstByte (client: 'ours' | 'early' | 'reference' | 'tcp', server: FirstByteServer, proxy: DelayProxy): Promise<FirstByte> {
  const arrived = server.next()
  const started = performance.now()
  let close: () => void
  if (client === 'ours' || client === 'early') {
    const early = client === 'early' ? { earlyData: ONE_BYTE } : {}
    const stream = await connect({ host: HOST, port: proxy.port, keys: generateKeyPair(), remotePublicKey: keys.publicKey, networkKey, ...early })
    if (client === 'ours') stream.sink([ONE_BYTE]).catch(ignore)
    close = () => { stream.abort() }
  } else if (client === 'reference') {
    const { stream, socket } = await openReference({ port: proxy.port, publicKey: keys.publicKey })
    let sent = false
    stream.sink((end, cb) => { if (end !== null || sent) cb(end ?? true); else { sent = true; cb(null, Buffer.from(ONE_BYTE)) } })
    close = () => { socket.destroy() }
  } else {
    const socket = net.connect({ host: HOST, port: proxy.port, noDelay: true })
    socket.on('error', ignore)
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write(ONE_BYTE)
    close = () => { socket.destroy() }
  }
  const connectedMs = performance.now() - started
  const firstByteMs = await arrived - started
  close()
  return { connectedMs, firstByteMs }
}

/** How long one `stream.rekey()` takes on a connection through `proxy` (opened first, not counted). */
async function rekeyThrough (proxy: DelayProxy): Promise<number> {
  const stream = await connect({ host: HOST, port: proxy.port, keys: generateKeyPair(), remotePublicKey: keys.publicKey, networkKey, rekey: 'require' })
  try {
    const started = performance.now()
    await stream.rekey()
    return performance.now() - started
  } finally {
    stream.abort()
  }
}

/** One libp2p dial + upgrade through a proxy at `delayMs`, with fresh nodes warmed by a direct dial. */
async function dialThrough (name: EncrypterName, delayMs: Delay, trace?: (line: string) => void): Promise<number> {
  const server = await createNode(ENCRYPTERS[name](), true)
  const client = await createNode(ENCRYPTERS[name](), false)
  const direct = server.getMultiaddrs()[0]
  if (direct === undefined) throw new Error('the libp2p server is not listening')
  const port = /\/tcp\/(\d+)/.exec(direct.toString())?.[1]
  if (port === undefined) throw new Error(`no TCP port in ${direct.toString()}`)
  const proxy = await startDelayProxy(Number(port), delayMs)
  if (trace !== undefined) proxy.traceNext(trace)
  try {
    await (await client.dial(direct)).close()
    const started = performance.now()
    const connection = await client.dial(multiaddr(`/ip4/${HOST}/tcp/${proxy.port}/p2p/${server.peerId.toString()}`))
    const elapsed = performance.now() - started
    await connection.close()
    return elapsed
  } finally {
    await client.stop()
    await server.stop()
    await proxy.close()
  }
}

export async function measureRoundTrips (config: BenchConfig, report: Report): Promise<void> {
  log(`round trips: through a loopback proxy holding each direction ${DELAYS_MS.join(' and ')} ms, ${config.runs} runs`)
  const shsServer = new FirstByteServer()
  const tcpServer = new FirstByteServer()
  await shsServer.startShs()
  await tcpServer.startTcp()
  const proxies = new Map<string, DelayProxy>()
  const connected: Record<string, number[]> = {}
  try {
    for (const delay of DELAYS_MS) {
      proxies.set(`shs ${delay}`, await startDelayProxy(shsServer.port, delay))
      proxies.set(`tcp ${delay}`, await startDelayProxy(tcpServer.port, delay))
    }
    const samples: Record<Delay, Record<Task, number[]>> = { 0: emptySamples(), 100: emptySamples() }
    for (const delay of DELAYS_MS) {
      const s = await interleave(config.runs, TASKS, async (task, run) => {
        const trace = config.trace && delay === LONG && run === 0 ? (line: string) => { log(`    ${task}: ${line}`) } : undefined
        if (task === 'shs' || task === 'noise' || task === 'plaintext') {
          const ms = await dialThrough(task, delay, trace)
          log(`  ${delay} ms  run ${run + 1}/${config.runs}  libp2p ${task.padEnd(9)} dial + upgrade ${ms.toFixed(1)} ms`)
          return ms
        }
        const proxy = proxies.get(`${task === 'tcp' ? 'tcp' : 'shs'} ${delay}`) as DelayProxy
        if (task === 'rekey') {
          const ms = await rekeyThrough(proxy)
          log(`  ${delay} ms  run ${run + 1}/${config.runs}  rekey     rekey() resolved after ${ms.toFixed(1)} ms`)
          return ms
        }
        if (trace !== undefined) proxy.traceNext(trace)
        const result = await firstByte(task, task === 'tcp' ? tcpServer : shsServer, proxy)
        ;(connected[`${task} ${delay}`] ??= []).push(result.connectedMs)
        log(`  ${delay} ms  run ${run + 1}/${config.runs}  ${task.padEnd(9)} connected ${result.connectedMs.toFixed(1)} ms, first byte at the server ${result.firstByteMs.toFixed(1)} ms`)
        return result.firstByteMs
      })
      samples[delay] = s
    }
    addRows(report, samples, connected)
  } finally {
    for (const proxy of proxies.values()) await proxy.close()
    await shsServer.close()
    await tcpServer.close()
  }
}

function emptySamples (): Record<Task, number[]> {
  return { ours: [], early: [], reference: [], tcp: [], rekey: [], shs: [], noise: [], plaintext: [] }
}

const rtt = (samples: readonly number[]): number[] => samples.map((ms) => ms / RTT_MS)

function addRows (report: Report, samples: Record<Delay, Record<Task, number[]>>, connected: Record<string, number[]>): void {
  const rows: Row[] = []
  for (const delay of DELAYS_MS) {
    const s = samples[delay]
    rows.push({
      label: `first byte at the server after connect() starts, ${delay} ms each way`, unit: 'ms', ours: s.ours,
      peer: { name: 'reference', samples: s.reference }, bound: { name: 'plain TCP', samples: s.tcp }
    })
    rows.push({
      label: `libp2p dial + upgrade through the proxy, ${delay} ms each way`, unit: 'ms', ours: s.shs,
      peer: { name: 'noise', samples: s.noise }, bound: { name: 'plaintext', samples: s.plaintext }
    })
  }
  const long = samples[LONG]
  const oneRoundTrip = { name: 'one round trip', samples: long.ours.map(() => 1) }
  rows.push({
    label: `first byte at the server after connect() starts, with earlyData, in round trips (${RTT_MS} ms)`, unit: 'RTT', ours: rtt(long.early),
    peer: { name: 'reference', samples: rtt(long.reference) }, bound: oneRoundTrip,
    goals: [{ of: 'bound', compare: '<=', target: FIRST_BYTE_RTT_GOAL }]
  })
  rows.push({
    label: `first byte at the server, written once connect() resolved, in round trips (${RTT_MS} ms)`, unit: 'RTT', ours: rtt(long.ours),
    peer: { name: 'reference', samples: rtt(long.reference) }, bound: oneRoundTrip,
    remark: 'informational: without earlyData the first byte waits for message 4'
  })
  rows.push({
    label: `connect() resolves, in round trips (${RTT_MS} ms)`, unit: 'RTT', ours: rtt(connected[`ours ${LONG}`] ?? []),
    peer: { name: 'reference', samples: rtt(connected[`reference ${LONG}`] ?? []) }, remark: 'informational: the handshake\'s own round trips'
  })
  rows.push({
    label: `rekey() of the extension resolves, in round trips (${RTT_MS} ms)`, unit: 'RTT', ours: rtt(long.rekey), bound: oneRoundTrip,
    remark: 'informational: REQUEST out, RESPONSE back; the SWITCH reaches the peer half a round trip later'
  })
  rows.push({
    label: `libp2p dial + upgrade, in round trips (${RTT_MS} ms)`, unit: 'RTT', ours: rtt(long.shs),
    peer: { name: 'noise', samples: rtt(long.noise) }, bound: { name: 'plaintext', samples: rtt(long.plaintext) },
    goals: [{ of: 'peer', compare: '<=', target: 1 }]
  })
  for (const row of rows) report.add(row)
}
