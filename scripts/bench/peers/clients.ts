/**
 * Child-process clients: `clients.ts <ours|reference|tcp> <port> <server key hex>`. On request:
 * - `hold n`: opens connections (a few at a time) until n are held, all idle;
 * - `measure`: its memory after full GCs;
 * - `start-load n` / `stop-load`: n concurrent loops of connect + handshake + close, then the count
 *   and the share of a core this process used;
 * - `release`: closes every held connection;
 * - `send n`: one transfer of n bytes to a `sink` server (for profiling the receiving side).
 */
import { type Held, type ImplName, type Target, loadTransport, makeChunk } from '../impl/types.ts'
import { servePeer } from './ipc.ts'
import { settledMemory } from './protocol.ts'

const [implArg, portArg, keyArg] = process.argv.slice(2)
const transport = await loadTransport(implArg as ImplName)
const target: Target = { port: Number(portArg), publicKey: new Uint8Array(Buffer.from(keyArg ?? '', 'hex')) }
/** Connections opened at once while filling up: enough to overlap round trips, few enough not to flood the accept queue. */
const OPEN_CONCURRENCY = 32

const held: Held[] = []
let loading = false
let loops: Array<Promise<void>> = []
let completed = 0
let failed = 0
let loadStarted = { cpu: process.cpuUsage(), at: 0 }
const US_PER_MS = 1000

async function hold (count: number): Promise<Record<string, number>> {
  const started = performance.now()
  const worker = async (): Promise<void> => {
    while (held.length < count) {
      // Reserve the slot before the await so the workers never overshoot.
      const slot = held.length
      held.push({ close: () => {} })
      held[slot] = await transport.hold(target)
    }
  }
  await Promise.all(Array.from({ length: OPEN_CONCURRENCY }, worker))
  return { held: held.length, ms: performance.now() - started }
}

async function loop (): Promise<void> {
  while (loading) {
    try {
      await transport.connectAndClose(target)
      completed++
    } catch {
      failed++
    }
  }
}

function release (): void {
  for (const connection of held.splice(0)) connection.close()
}

servePeer({}, {
  hold,
  measure: async () => ({ ...await settledMemory(), held: held.length }),
  release: async () => { release(); return { held: 0 } },
  send: async (bytes) => ({ ms: await transport.transfer(target, bytes, makeChunk()) }),
  'start-load': async (concurrency) => {
    loading = true
    completed = 0
    failed = 0
    loadStarted = { cpu: process.cpuUsage(), at: performance.now() }
    loops = Array.from({ length: concurrency }, loop)
    return { started: concurrency }
  },
  'stop-load': async () => {
    loading = false
    await Promise.all(loops)
    // How busy this process was: if it is near 1, the clients and not the server set the rate.
    const cpu = process.cpuUsage(loadStarted.cpu)
    const busy = (cpu.user + cpu.system) / US_PER_MS / (performance.now() - loadStarted.at)
    return { completed, failed, busy }
  }
}, async () => {
  loading = false
  release()
})
