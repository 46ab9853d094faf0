/**
 * Honest handshakes per second while stallers attack (docs/HOSTILE-LOAD.md, "Measured"), next to the same server
 * unattacked, and next to a server without the per-source limit (how `listen` behaved before).
 * Not a test: it prints numbers. Run with `npm run bench:dos` (`npm run bench:dos -- paths` for only the
 * rows of the other server paths, dos-paths.ts, of a server out of descriptors, dos-fd-limit.ts,
 * and of listenWebSocket, dos-ws.ts).
 *
 * The server runs in a child process, the attackers in another, the honest client here. Stallers connect from 127.0.0.2 and up (all of 127/8 is loopback on Linux), send 1
 * byte of a hello, wait, and reconnect as soon as they are dropped. Each phase is bounded in
 * handshakes, time and attacker connections.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { connect, generateKeyPair, listen, type ListenOptions, SSB_NETWORK_KEY } from '../../src/index.ts'
import { type Attack, startStallers } from './stallers.ts'

/** Honest handshakes per phase, and the most time a phase may take. */
const HONEST_HANDSHAKES = 300
const PHASE_LIMIT_MS = 20_000
/** Attacker connections per phase at most (stallers reconnect as fast as they are dropped). */
const MAX_ATTACK_CONNECTIONS = 200_000
const HONEST_TIMEOUT_MS = 10_000

const ATTACKS: readonly Attack[] = [
  { label: 'unattacked', sources: 0, perSource: 0 },
  { label: '256 stallers, 1 source', sources: 1, perSource: 256 },
  { label: '1 024 stallers, 16 sources', sources: 16, perSource: 64 }
]

type ServerMode = 'defaults' | 'no-per-source-limit'

const SERVER_OPTIONS: Readonly<Record<ServerMode, Partial<ListenOptions>>> = {
  defaults: {},
  // What listen did before admission per source: one global cap, no per-source cap, the full timeout for a hello.
  'no-per-source-limit': { maxPendingPerSource: Infinity, earlyDropFrom: 256, helloTimeout: 10_000 }
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3] as ServerMode)
} else if (process.argv[2] === 'attack') {
  attack(Number(process.argv[3]), { label: '', sources: Number(process.argv[4]), perSource: Number(process.argv[5]) })
} else {
  // `paths` runs only the rows of the other server paths (dos-paths.ts).
  if (process.argv[2] !== 'paths') await main()
  const { pathRows } = await import('./dos-paths.ts')
  await pathRows()
  const { fdLimitRows } = await import('./dos-fd-limit.ts')
  await fdLimitRows()
  const { wsRows } = await import('./dos-ws.ts')
  await wsRows()
}

async function serve (mode: ServerMode): Promise<void> {
  const keys = generateKeyPair()
  const listener = await listen({ port: 0, keys, networkKey: SSB_NETWORK_KEY, ...SERVER_OPTIONS[mode] }, (stream) => {
    stream.sink(stream.source).catch(() => {})
  })
  process.send?.({ port: listener.address().port, publicKey: Buffer.from(keys.publicKey).toString('hex') })
  process.once('disconnect', () => { void listener.close().then(() => process.exit(0)) })
}

/** Runs the stallers until told to stop over IPC; then reports how many connections they made. */
function attack (port: number, plan: Attack): void {
  const stallers = startStallers(port, plan, MAX_ATTACK_CONNECTIONS)
  process.send?.({ started: true })
  process.once('message', () => {
    stallers.stop()
    process.send?.({ connections: stallers.connections() }, () => { process.exit(0) })
  })
}

async function startAttack (port: number, plan: Attack): Promise<{ stop: () => Promise<number> }> {
  const child = fork(fileURLToPath(import.meta.url), ['attack', String(port), String(plan.sources), String(plan.perSource)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  await new Promise((resolve) => child.once('message', resolve))
  return {
    stop: async () => await new Promise<number>((resolve) => {
      child.once('message', (message) => { resolve((message as { connections: number }).connections) })
      child.send('stop')
    })
  }
}

async function startServer (mode: ServerMode): Promise<{ port: number, publicKey: Uint8Array, stop: () => void }> {
  const child = fork(fileURLToPath(import.meta.url), ['serve', mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ready = await new Promise<{ port: number, publicKey: string }>((resolve, reject) => {
    child.once('message', (message) => { resolve(message as { port: number, publicKey: string }) })
    child.once('exit', () => { reject(new Error('the bench server exited before it was ready')) })
  })
  return { port: ready.port, publicKey: new Uint8Array(Buffer.from(ready.publicKey, 'hex')), stop: () => { child.disconnect() } }
}

interface PhaseResult {
  succeeded: number
  failed: number
  seconds: number
  attackConnections: number
}

async function runPhase (mode: ServerMode, attack: Attack): Promise<PhaseResult> {
  const server = await startServer(mode)
  const stallers = attack.sources > 0 ? await startAttack(server.port, attack) : undefined
  // Let the attack take hold before the honest client starts.
  if (attack.sources > 0) await new Promise((resolve) => setTimeout(resolve, 1000))
  const client = generateKeyPair()
  let succeeded = 0
  let failed = 0
  const started = performance.now()
  while (succeeded + failed < HONEST_HANDSHAKES && performance.now() - started < PHASE_LIMIT_MS) {
    try {
      const stream = await connect({
        host: '127.0.0.1', port: server.port, keys: client, networkKey: SSB_NETWORK_KEY, remotePublicKey: server.publicKey, timeout: HONEST_TIMEOUT_MS
      })
      await Promise.all([stream.sink([]), drainAll(stream.source)])
      succeeded++
    } catch {
      failed++
    }
  }
  const seconds = (performance.now() - started) / 1000
  const attackConnections = await stallers?.stop() ?? 0
  server.stop()
  return { succeeded, failed, seconds, attackConnections }
}

async function drainAll (source: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of source) void chunk
}

async function main (): Promise<void> {
  console.log(`honest handshakes (sequential, ${HONEST_HANDSHAKES} per phase, at most ${PHASE_LIMIT_MS / 1000} s) against an echo server in a child process\n`)
  console.log('| server | attack | honest ok | honest failed | honest ok/s | vs unattacked | attacker connections |')
  console.log('|---|---|---|---|---|---|---|')
  for (const mode of ['defaults', 'no-per-source-limit'] as const) {
    let baseline: number | undefined
    for (const attack of ATTACKS) {
      const result = await runPhase(mode, attack)
      const rate = result.succeeded / result.seconds
      baseline ??= rate
      const ratio = baseline === 0 ? 0 : rate / baseline
      console.log(`| ${mode} | ${attack.label} | ${result.succeeded} | ${result.failed} | ${rate.toFixed(0)} | ${(ratio * 100).toFixed(0)} % | ${result.attackConnections} |`)
    }
  }
}
