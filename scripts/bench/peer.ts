/**
 * A bench peer in a child process, started by child.ts (not by hand); loopback only, and it exits
 * when the bench disconnects. Commands:
 *   serve <impl> <sink|echo|idle> [bytes]       listens; reports { port, publicKey }
 *   load <impl> <port> <key> <clients> <ms> [rate]  that many clients (of impl) loop connect + handshake +
 *                                               close for ms, at most `rate` connections per second if
 *                                               given; reports { ready }, then { completed, failed, busy }
 *   idle <impl> <connections>                   holds idle connections to its own server; reports the
 *                                               JS heap growth per connection end, in KiB
 */
import { KiB, MS_PER_SECOND, US_PER_MS, sleep } from './config.ts'
import { type ImplName, type Target, type Transport, fromHex, hex } from './transports/types.ts'
import { loadTransport } from './transports/load.ts'

const [command, implName, ...rest] = process.argv.slice(2)
if (process.send === undefined) throw new Error('scripts/bench/peer.ts is started by the bench: run npm run bench')
const send = (message: Record<string, number | string>): void => { process.send?.(message) }
const transport = await loadTransport(implName as ImplName)
let cleanup = async (): Promise<void> => {}
process.on('disconnect', () => { cleanup().finally(() => process.exit(0)) })

/** Connections opened and closed before the baseline, so the hot code is compiled and not counted. */
const WARMUP_CONNECTIONS = 64
/** Connections opened at once: enough to overlap round trips, few enough not to flood the accept queue. */
const OPEN_CONCURRENCY = 32
const SETTLE_MS = 200
const POLL_MS = 20
const WAIT_LIMIT_MS = 30_000
const GC_ROUNDS = 4

if (command === 'serve') {
  const [mode = 'echo', bytes = '0'] = rest
  const server = await transport.serve(mode === 'sink' ? { kind: 'sink', bytes: Number(bytes) } : { kind: mode === 'idle' ? 'idle' : 'echo' })
  cleanup = server.close
  send({ port: server.target.port, publicKey: hex(server.target.publicKey) })
} else if (command === 'load') {
  const [port = '', key = '', clients = '0', ms = '0', rate] = rest
  const target: Target = { port: Number(port), publicKey: fromHex(key) }
  const deadline = performance.now() + Number(ms)
  const cpu = process.cpuUsage()
  const started = performance.now()
  // Paced: connection n starts no earlier than n / rate seconds in, whichever client takes it.
  const msPerConnection = rate === undefined ? 0 : MS_PER_SECOND / Number(rate)
  let begun = 0
  let completed = 0
  let failed = 0
  send({ ready: 1 })
  await Promise.all(Array.from({ length: Number(clients) }, async () => {
    while (performance.now() < deadline) {
      const wait = started + begun++ * msPerConnection - performance.now()
      if (wait > 0) await sleep(wait)
      await transport.connectAndClose(target).then(() => { completed++ }, () => { failed++ })
    }
  }))
  // How busy the clients were: near 1 (a whole core), they and not the server set the rate.
  const used = process.cpuUsage(cpu)
  send({ completed, failed, busy: (used.user + used.system) / US_PER_MS / (performance.now() - started) })
} else if (command === 'idle') {
  send({ heapPerEnd: await idleHeap(transport, Number(rest[0])) })
} else {
  throw new RangeError(`unknown bench peer command "${String(command)}"`)
}

async function idleHeap (transport: Transport, count: number): Promise<number> {
  const server = await transport.serve({ kind: 'idle' })
  cleanup = server.close
  for (const close of await holdMany(transport, server.target, WARMUP_CONNECTIONS)) close()
  await waitFor(() => server.accepted() >= WARMUP_CONNECTIONS)
  await sleep(SETTLE_MS)
  const before = await settledHeap()
  const held = await holdMany(transport, server.target, count)
  await waitFor(() => server.accepted() >= WARMUP_CONNECTIONS + count)
  const after = await settledHeap()
  for (const close of held) close()
  // Each connection has two ends here, the client's and the server's.
  return (after - before) / (2 * count) / KiB
}

async function holdMany (transport: Transport, target: Target, count: number): Promise<Array<() => void>> {
  const held: Array<() => void> = []
  let started = 0
  await Promise.all(Array.from({ length: OPEN_CONCURRENCY }, async () => {
    while (started < count) {
      started++
      held.push(await transport.hold(target))
    }
  }))
  return held
}

async function waitFor (done: () => boolean): Promise<void> {
  const deadline = performance.now() + WAIT_LIMIT_MS
  while (!done()) {
    if (performance.now() > deadline) throw new Error('the server did not complete the expected handshakes in time')
    await sleep(POLL_MS)
  }
}

/** JS heap in use after full collections (several: finalizers of one free more in the next). */
async function settledHeap (): Promise<number> {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error('the idle-memory peer needs node --expose-gc')
  for (let round = 0; round < GC_ROUNDS; round++) {
    collect()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
}
