/**
 * The `npm run bench:dos` rows for listenWebSocket beside listen(): slowloris at the HTTP stage
 * past the server's descriptor limit, stalled hellos, and peers that send and never read; for
 * each, how many of 24 honest clients were served during the attack and the server's peak RSS.
 * The server runs under `ulimit -n SERVER_FD_LIMIT` in a child process (its RSS is its own), the
 * attackers in another, the honest clients here; loopback only, attackers from 127.0.0.2 and
 * up. Every attack is bounded in connections and time.
 */
import { fork, spawn } from 'node:child_process'
import type net from 'node:net'
import { fileURLToPath } from 'node:url'
import { connect, connectWebSocket, generateKeyPair, listen, listenWebSocket, SSB_NETWORK_KEY, type SecureStream } from '../../src/index.ts'
import { HELLO_BYTE, openStaller, type Stallers } from './stallers.ts'

export type ServerPath = 'tcp' | 'ws'
type AttackKind = 'half-upgrade' | 'stalled-hello' | 'flood-no-read'

interface PathAttack {
  label: string
  kind: AttackKind
  sources: number
  perSource: number
}

/**
 * The server's descriptor limit, and the sockets a slowloris keeps open at once: past it, which
 * is where it stops a server that holds them all (as it did at the default 20 000 descriptors,
 * which takes longer to reach and more attacker processes).
 */
const SERVER_FD_LIMIT = 2_048
const PAST_THE_FD_LIMIT = 3_008

const ATTACKS: readonly PathAttack[] = [
  { label: `half-sent HTTP upgrades, 1 source, ${PAST_THE_FD_LIMIT} sockets`, kind: 'half-upgrade', sources: 1, perSource: PAST_THE_FD_LIMIT },
  { label: `half-sent HTTP upgrades, 16 sources, ${PAST_THE_FD_LIMIT} sockets`, kind: 'half-upgrade', sources: 16, perSource: PAST_THE_FD_LIMIT / 16 },
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

if (process.argv[2] === 'ws-serve') await serve(process.argv[3] as ServerPath)
// `node --conditions=shs-source scripts/bench/dos-ws.ts` prints these rows alone.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === undefined) await wsRows()
if (process.argv[2] === 'ws-attack') attackChild(process.argv[3] as ServerPath, Number(process.argv[4]), process.argv[5] as string, Number(process.argv[6]))

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
  const attack: Stallers & { ramped?: Promise<void> } = kind === 'flood-no-read'
    ? flooders(path, server, perSource)
    : stallers(port, stallerBytes(path, kind as AttackKind), sources, perSource)
  void (attack.ramped ?? Promise.resolve()).then(() => process.send?.({ started: true }))
  process.once('message', () => {
    attack.stop()
    process.send?.({ connections: attack.connections() }, () => { process.exit(0) })
  })
}

/** What a staller sends before it goes quiet: half an upgrade; or, for a hello, 1 byte of it (after a whole upgrade over ws). */
function stallerBytes (path: ServerPath, kind: AttackKind): Uint8Array {
  if (kind === 'half-upgrade') return Buffer.from(UPGRADE_HEAD)
  return path === 'ws' ? Buffer.from(`${UPGRADE_HEAD}\r\n`) : HELLO_BYTE
}

/**
 * Stallers that keep `perSource` sockets per source open, reconnecting when dropped. They ramp up
 * RAMP_CONCURRENCY connects at a time (all at once, most would wait in the accept backlog instead
 * of reaching the server); `ramped` resolves once every first connect is done, or RAMP_LIMIT_MS.
 */
function stallers (port: number, greeting: Uint8Array, sources: number, perSource: number): Stallers & { ramped: Promise<void> } {
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
    let settled = false
    const settle = (): void => { if (!settled) { settled = true; connecting--; next() } }
    const socket = openStaller(port, source, greeting, () => {
      settle()
      sockets.delete(socket)
      setImmediate(() => { open(source) })
    })
    socket.once('connect', settle)
    sockets.add(socket)
  }
  next()
  return { connections: () => connections, stop: () => { stopped = true; for (const socket of sockets) socket.destroy() }, ramped }
}

/** Authenticated peers that write as fast as they are let and never read what comes back. */
function flooders (path: ServerPath, server: ServerInfo, count: number): Stallers {
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
  const child = spawn('bash', ['-c', `ulimit -n ${SERVER_FD_LIMIT} && exec "$0" "$@"`, process.execPath, ...process.execArgv, self, 'ws-serve', path],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const server = await new Promise<ServerInfo>((resolve) => child.once('message', (m) => { resolve(m as ServerInfo) }))
  const memory = async (): Promise<{ peakRss: number, rss: number, arrayBuffers: number }> => await new Promise((resolve) => {
    child.once('message', (m) => { resolve(m as { peakRss: number, rss: number, arrayBuffers: number }) })
    child.send('memory')
  })
  const baselineRss = (await memory()).rss
  const attacker = fork(self, ['ws-attack', path, String(server.port), attack.kind, String(attack.perSource), String(attack.sources), JSON.stringify(server)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  await new Promise((resolve) => attacker.once('message', resolve))
  await new Promise((resolve) => setTimeout(resolve, ATTACK_SETTLE_MS))
  let served = 0
  for (let i = 0; i < HONEST_CLIENTS; i++) if (await honestRoundTrip(path, server)) served++
  const { peakRss, arrayBuffers } = await memory()
  const attackConnections = await new Promise<number>((resolve) => {
    attacker.once('message', (m) => { resolve((m as { connections: number }).connections) })
    attacker.send('stop')
  })
  child.disconnect()
  return { served, peakRss, arrayBuffers, attackConnections, baselineRss }
}

/** Prints the rows; the HTTP-stage attacks are skipped on TCP (there is no HTTP stage). */
export async function wsRows (): Promise<void> {
  const paths = ['tcp', 'ws'] as const
  console.log(`\nlisten() (tcp) and listenWebSocket() (ws) with their defaults under ulimit -n ${SERVER_FD_LIMIT}: ${HONEST_CLIENTS} sequential honest clients ` +
    `(${HONEST_TIMEOUT_MS / 1000} s each at most) during the attack, the server's memory\n`)
  console.log('| path | attack | honest served | server peak RSS | RSS over idle | arrayBuffers at the end | attacker connections |')
  console.log('|---|---|---|---|---|---|---|')
  for (const path of paths) {
    for (const attack of ATTACKS) {
      if (path === 'tcp' && attack.kind === 'half-upgrade') continue
      const r = await runPathPhase(path, attack)
      console.log(`| ${path} | ${attack.label} | ${r.served} | ${(r.peakRss / MiB).toFixed(0)} MiB | ${((r.peakRss - r.baselineRss) / MiB).toFixed(0)} MiB | ` +
        `${(r.arrayBuffers / MiB).toFixed(1)} MiB | ${r.attackConnections} |`)
    }
  }
}
