/**
 * `npm run bench:dos`, second table: one row per server path (listen over TCP, listenWebSocket)
 * and attack, with how many of 24 honest clients were served during the attack and the server's
 * peak RSS. The server runs in a child process (its RSS is its own), the attackers in another,
 * the honest clients here; loopback only, attackers from 127.0.0.2 and up. Every attack is
 * bounded in connections and time.
 */
import { fork } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { connect, connectWebSocket, generateKeyPair, listen, listenWebSocket, SSB_NETWORK_KEY, type SecureStream } from '../../src/index.ts'

export type ServerPath = 'tcp' | 'ws'
type AttackKind = 'half-upgrade' | 'stalled-hello' | 'flood-no-read'

interface PathAttack {
  label: string
  kind: AttackKind
  sources: number
  perSource: number
}

/**
 * Sockets a slowloris keeps open at once: past the descriptor limit (`ulimit -n`, 20 000 on the
 * development machine), which is where it stops a server that holds them all. Opened from
 * ATTACKER_PROCESSES processes, each under the same limit.
 */
const UP_TO_THE_FD_LIMIT = 22_000
const ATTACKER_PROCESSES = 2

export const PATH_ATTACKS: readonly PathAttack[] = [
  { label: `half-sent HTTP upgrades, 1 source, ${UP_TO_THE_FD_LIMIT} sockets`, kind: 'half-upgrade', sources: 1, perSource: UP_TO_THE_FD_LIMIT },
  { label: `half-sent HTTP upgrades, 16 sources, ${UP_TO_THE_FD_LIMIT} sockets`, kind: 'half-upgrade', sources: 16, perSource: Math.ceil(UP_TO_THE_FD_LIMIT / 16) },
  { label: 'stalled hellos, 16 sources, 1 024 sockets', kind: 'stalled-hello', sources: 16, perSource: 64 },
  { label: '8 peers that send and never read', kind: 'flood-no-read', sources: 1, perSource: 8 }
]

const HONEST_CLIENTS = 24
const HONEST_TIMEOUT_MS = 5_000
/** Attacker connections per phase at most (stallers reconnect as fast as they are dropped). */
const MAX_ATTACK_CONNECTIONS = 200_000
/** How long the attack runs before the honest clients start, and how much a flooder sends at most. */
const ATTACK_SETTLE_MS = 1_500
/** Stallers connecting at once while they ramp up, and the longest ramp. */
const RAMP_CONCURRENCY = 256
const RAMP_LIMIT_MS = 30_000
const FLOOD_LIMIT_BYTES = 256 * 1024 * 1024
const FLOOD_CHUNK = new Uint8Array(64 * 1024)
/** Everything an upgrade request needs but its final blank line. */
const UPGRADE_HEAD = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
const MiB = 1024 * 1024

interface ServerInfo { port: number, publicKey: string }

if (process.argv[2] === 'serve-path') await serve(process.argv[3] as ServerPath)
if (process.argv[2] === 'attack-path') attackChild(process.argv[3] as ServerPath, Number(process.argv[4]), process.argv[5] as string, Number(process.argv[6]))

async function serve (path: ServerPath): Promise<void> {
  const keys = generateKeyPair()
  const options = { port: 0, keys, networkKey: SSB_NETWORK_KEY }
  const echo = (stream: SecureStream): void => { stream.sink(stream.source).catch(() => {}) }
  const listener = path === 'tcp' ? await listen(options, echo) : await listenWebSocket(options, echo)
  process.send?.({ port: listener.address().port, publicKey: Buffer.from(keys.publicKey).toString('hex') })
  process.on('message', () => {
    // maxRSS (KiB) comes from getrusage; memoryUsage() reads /proc, which needs a descriptor
    // that a server at its descriptor limit does not have: then it is reported as unknown.
    let usage: { rss: number, arrayBuffers: number } = { rss: Number.NaN, arrayBuffers: Number.NaN }
    try {
      usage = process.memoryUsage()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EMFILE') throw err
    }
    process.send?.({ peakRss: process.resourceUsage().maxRSS * 1024, rss: usage.rss, arrayBuffers: usage.arrayBuffers })
  })
  process.once('disconnect', () => { void listener.close().then(() => process.exit(0)) })
}

function attackChild (path: ServerPath, port: number, kind: string, perSource: number): void {
  const sources = Number(process.argv[7])
  const server = JSON.parse(process.argv[8] as string) as ServerInfo
  const attack: Running & { ramped?: Promise<void> } = kind === 'flood-no-read'
    ? flooders(path, server, perSource)
    : stallers(port, stallerBytes(path, kind as AttackKind), sources, perSource)
  void (attack.ramped ?? Promise.resolve()).then(() => process.send?.({ started: true }))
  process.once('message', () => {
    attack.stop()
    process.send?.({ connections: attack.connections() }, () => { process.exit(0) })
  })
}

interface Running { connections: () => number, stop: () => void }

/** What a staller sends before it goes quiet: half an upgrade; or, for a hello, 1 byte of it (after a whole upgrade over ws). */
function stallerBytes (path: ServerPath, kind: AttackKind): string | Uint8Array {
  if (kind === 'half-upgrade') return UPGRADE_HEAD
  return path === 'ws' ? `${UPGRADE_HEAD}\r\n` : new Uint8Array([0x42])
}

/**
 * Stallers that keep `perSource` sockets per source open, reconnecting when dropped. They ramp up
 * RAMP_CONCURRENCY connects at a time (all at once, most would wait in the accept backlog instead
 * of reaching the server); `ramped` resolves once every first connect is done, or RAMP_LIMIT_MS.
 */
function stallers (port: number, bytes: string | Uint8Array, sources: number, perSource: number): Running & { ramped: Promise<void> } {
  let connections = 0
  let stopped = false
  let connecting = 0
  const sockets = new Set<net.Socket>()
  const firsts: string[] = []
  for (let s = 0; s < sources; s++) for (let i = 0; i < perSource; i++) firsts.push(`127.0.0.${s + 2}`)
  let rampedNow = (): void => {}
  const ramped = new Promise<void>((resolve) => { rampedNow = resolve; setTimeout(resolve, RAMP_LIMIT_MS).unref() })
  const next = (): void => {
    while (connecting < RAMP_CONCURRENCY && firsts.length > 0) open(firsts.pop() as string)
    if (firsts.length === 0 && connecting === 0) rampedNow()
  }
  const open = (source: string): void => {
    if (stopped || connections >= MAX_ATTACK_CONNECTIONS) return
    connections++
    connecting++
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: source })
    sockets.add(socket)
    let settled = false
    const settle = (): void => { if (!settled) { settled = true; connecting--; next() } }
    socket.on('error', () => {})
    socket.once('connect', () => { socket.write(bytes); settle() })
    socket.once('close', () => {
      settle()
      sockets.delete(socket)
      setImmediate(() => { open(source) })
    })
  }
  next()
  return { connections: () => connections, stop: () => { stopped = true; for (const socket of sockets) socket.destroy() }, ramped }
}

/** Authenticated peers that write as fast as they are let and never read what comes back. */
function flooders (path: ServerPath, server: ServerInfo, count: number): Running {
  const streams: SecureStream[] = []
  for (let i = 0; i < count; i++) {
    void dial(path, server).then((stream) => {
      streams.push(stream)
      stream.sink((function * () { for (let sent = 0; sent < FLOOD_LIMIT_BYTES; sent += FLOOD_CHUNK.byteLength) yield FLOOD_CHUNK })()).catch(() => {})
    }, () => {})
  }
  return { connections: () => streams.length, stop: () => { for (const stream of streams) stream.abort() } }
}

async function dial (path: ServerPath, server: ServerInfo, timeout?: number): Promise<SecureStream> {
  const client = { keys: generateKeyPair(), networkKey: SSB_NETWORK_KEY, remotePublicKey: new Uint8Array(Buffer.from(server.publicKey, 'hex')), timeout }
  return path === 'tcp'
    ? await connect({ ...client, host: '127.0.0.1', port: server.port })
    : await connectWebSocket({ ...client, url: `ws://127.0.0.1:${server.port}` })
}

async function honestRoundTrip (path: ServerPath, server: ServerInfo): Promise<boolean> {
  try {
    const stream = await dial(path, server, HONEST_TIMEOUT_MS)
    const chunks: Uint8Array[] = []
    await Promise.all([stream.sink([new Uint8Array([1, 2, 3])]), (async () => { for await (const chunk of stream.source) chunks.push(chunk) })()])
    return Buffer.concat(chunks).equals(Buffer.from([1, 2, 3]))
  } catch {
    return false
  }
}

interface PathResult { served: number, peakRss: number, arrayBuffers: number, attackConnections: number, baselineRss: number }

async function runPathPhase (path: ServerPath, attack: PathAttack): Promise<PathResult> {
  const self = fileURLToPath(import.meta.url)
  const child = fork(self, ['serve-path', path], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const server = await new Promise<ServerInfo>((resolve) => child.once('message', (m) => { resolve(m as ServerInfo) }))
  const memory = async (): Promise<{ peakRss: number, rss: number, arrayBuffers: number }> => await new Promise((resolve) => {
    child.once('message', (m) => { resolve(m as { peakRss: number, rss: number, arrayBuffers: number }) })
    child.send('memory')
  })
  const baselineRss = (await memory()).rss
  // Slowloris past the server's descriptor limit needs more sockets than one attacker process may open.
  const processes = attack.kind === 'half-upgrade' ? ATTACKER_PROCESSES : 1
  const perProcess = String(Math.ceil(attack.perSource / processes))
  const attackers = Array.from({ length: processes }, () =>
    fork(self, ['attack-path', path, String(server.port), attack.kind, perProcess, String(attack.sources), JSON.stringify(server)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  await Promise.all(attackers.map(async (attacker) => await new Promise((resolve) => attacker.once('message', resolve))))
  await new Promise((resolve) => setTimeout(resolve, ATTACK_SETTLE_MS))
  let served = 0
  for (let i = 0; i < HONEST_CLIENTS; i++) if (await honestRoundTrip(path, server)) served++
  const { peakRss, arrayBuffers } = await memory()
  const counts = await Promise.all(attackers.map(async (attacker) => await new Promise<number>((resolve) => {
    attacker.once('message', (m) => { resolve((m as { connections: number }).connections) })
    attacker.send('stop')
  })))
  const attackConnections = counts.reduce((sum, count) => sum + count, 0)
  child.disconnect()
  return { served, peakRss, arrayBuffers, attackConnections, baselineRss }
}

/** Prints the table; the ws-only attacks are skipped on TCP (no HTTP stage there). */
export async function printPathTable (only?: string): Promise<void> {
  const paths = (['tcp', 'ws'] as const).filter((path) => only === undefined || only === path)
  console.log(`\nper server path: honest clients served (of ${HONEST_CLIENTS}, ${HONEST_TIMEOUT_MS / 1000} s each) during the attack, the server's memory (child process)\n`)
  console.log('| path | attack | honest served | server peak RSS | RSS over idle | arrayBuffers at the end | attacker connections |')
  console.log('|---|---|---|---|---|---|---|')
  for (const path of paths) {
    for (const attack of PATH_ATTACKS) {
      if (path === 'tcp' && attack.kind === 'half-upgrade') continue
      const r = await runPathPhase(path, attack)
      console.log(`| ${path} | ${attack.label} | ${r.served} | ${(r.peakRss / MiB).toFixed(0)} MiB | ${((r.peakRss - r.baselineRss) / MiB).toFixed(0)} MiB | ` +
        `${(r.arrayBuffers / MiB).toFixed(1)} MiB | ${r.attackConnections} |`)
    }
  }
}
