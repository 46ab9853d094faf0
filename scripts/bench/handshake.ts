/**
 * The handshake without a network: its floor (the libsodium calls alone, handshake-floor.ts),
 * a pair through our public stream API over in-memory duplexes, the same pair driving the
 * sans-IO machines directly (how much the adapters add), and the reference's pair over
 * pull-streams.
 */
import {
  SSB_NETWORK_KEY, SecretHandshake, clientHandshake, generateKeyPair, serverHandshake
} from '../../src/index.ts'
import type { BenchConfig } from './config.ts'
import { type HandshakeFloor, measureHandshakeFloor } from './handshake-floor.ts'
import { memoryPair } from './impl/memory-pair.ts'
import { referenceApi } from './impl/reference.ts'
import type { Results } from './model.ts'
import type { Progress } from './progress.ts'
import { logRetake, quietSample } from './quiet.ts'
import { interleave, summarize } from './stats.ts'

export const HANDSHAKE_SECTION = 'Handshake'
const US_PER_MS = 1000
const MS_PER_SECOND = 1000

const clientKeys = generateKeyPair()
const serverKeys = generateKeyPair()
const networkKey = SSB_NETWORK_KEY

/** A pair's handshake, timed, then its teardown (not timed: it is not part of the handshake). */
type Pair = () => Promise<() => void>

const NOTHING_TO_TEAR_DOWN = (): void => {}

async function streamPair (): Promise<() => void> {
  const [clientEnd, serverEnd] = memoryPair()
  const [client, server] = await Promise.all([
    clientHandshake(clientEnd, { keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey }),
    serverHandshake(serverEnd, { keys: serverKeys, networkKey })
  ])
  return () => {
    client.abort()
    server.abort()
  }
}

/** Both machines in lock step: every message written is handed to the other side at once. */
async function machinePair (): Promise<() => void> {
  const client = SecretHandshake.client({ keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey })
  const server = SecretHandshake.server({ keys: serverKeys, networkKey })
  const inboxes = new Map<SecretHandshake, Uint8Array[]>([[client, []], [server, []]])
  const other = (machine: SecretHandshake): SecretHandshake => machine === client ? server : client
  while (!client.isComplete || !server.isComplete) {
    for (const machine of [client, server]) {
      const action = machine.next()
      if (action.type === 'write') inboxes.get(other(machine))?.push(action.bytes)
      else if (action.type === 'authorize') machine.authorize(true)
      else if (action.type === 'read') {
        const message = inboxes.get(machine)?.shift()
        if (message !== undefined) machine.receive(message)
      }
    }
  }
  return NOTHING_TO_TEAR_DOWN
}

const { shs, pull, appKey, timeout, acceptAll } = referenceApi
const refClientKeys = { publicKey: Buffer.from(clientKeys.publicKey), secretKey: Buffer.from(clientKeys.secretKey) }
const refServerKeys = { publicKey: Buffer.from(serverKeys.publicKey), secretKey: Buffer.from(serverKeys.secretKey) }

async function referencePair (): Promise<() => void> {
  await new Promise<void>((resolve, reject) => {
    let done = 0
    const finished = (err: unknown): void => {
      if (err != null) reject(err instanceof Error ? err : new Error(String(err)))
      else if (++done === 2) resolve()
    }
    const client = shs.createClient(refClientKeys, appKey, timeout)(refServerKeys.publicKey, finished)
    const server = shs.createServer(refServerKeys, acceptAll, appKey, timeout)(finished)
    pull(client.source, server.sink)
    pull(server.source, client.sink)
  })
  // Nothing holds resources: the pull-streams are collected with the pair.
  return NOTHING_TO_TEAR_DOWN
}

type PairName = 'ours' | 'machine' | 'reference'
const PAIRS: Readonly<Record<PairName, Pair>> = { ours: streamPair, machine: machinePair, reference: referencePair }

export async function measureHandshakes (config: BenchConfig, results: Results, progress: Progress): Promise<void> {
  progress.section(`handshake in memory: ${config.inMemoryHandshakes} pairs per sample, interleaved with its libsodium floor`)
  const serverRates: number[] = []
  const costs: Array<Readonly<Record<string, number>>> = []
  let lastFloor: HandshakeFloor | undefined
  // The floor is one of the interleaved tasks, so it sees the same machine as the pairs it bounds.
  const tasks: Readonly<Record<'floor' | PairName, () => Promise<number>>> = {
    floor: async () => {
      lastFloor = measureHandshakeFloor()
      return lastFloor.pairUs / US_PER_MS
    },
    ours: async () => await timePairs(PAIRS.ours, config.inMemoryHandshakes),
    machine: async () => await timePairs(PAIRS.machine, config.inMemoryHandshakes),
    reference: async () => await timePairs(PAIRS.reference, config.inMemoryHandshakes)
  }
  const samples = await interleave(config.runs, ['floor', 'ours', 'machine', 'reference'] as const, async (name, run) => {
    const ms = await quietSample(tasks[name], logRetake(progress, `in-memory ${name} run ${run + 1}`))
    if (name === 'floor' && lastFloor !== undefined) {
      costs.push(lastFloor.costs)
      serverRates.push(US_PER_MS * MS_PER_SECOND / lastFloor.serverUs)
    }
    progress.log(`  run ${run + 1}/${config.runs}  in-memory pair, ${name.padEnd(9)} ${ms.toFixed(3)} ms`)
    return ms
  })
  results.raw.handshakeFloorCostsUs = costs
  const add = (id: string, label: string, unit: 'ms' | 'per s', values: number[], better: 'higher' | 'lower'): void => {
    results.add({ id, section: HANDSHAKE_SECTION, label, unit, samples: values, summary: summarize(values), better })
  }
  add('handshake.floor.pair', 'floor: libsodium calls of one handshake pair', 'ms', samples.floor, 'lower')
  add('handshake.memory.ours', 'in-memory pair, ours (clientHandshake + serverHandshake)', 'ms', samples.ours, 'lower')
  add('handshake.memory.machine', 'in-memory pair, ours, sans-IO machines only', 'ms', samples.machine, 'lower')
  add('handshake.memory.reference', 'in-memory pair, reference', 'ms', samples.reference, 'lower')
  add('handshake.floor.serverRate', 'floor: server handshakes per second (1 / server-side libsodium calls)', 'per s', serverRates, 'higher')
}

/** Milliseconds per pair over `count` pairs, teardown excluded. */
async function timePairs (pair: Pair, count: number): Promise<number> {
  let elapsed = 0
  for (let index = 0; index < count; index++) {
    const started = performance.now()
    const tearDown = await pair()
    elapsed += performance.now() - started
    tearDown()
  }
  return elapsed / count
}
