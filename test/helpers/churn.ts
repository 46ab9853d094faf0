/**
 * The child process behind test/hygiene.test.ts, run with `--expose-gc` so the heap can be
 * measured after real garbage collections, and in its own process so nothing of mocha's is
 * counted. It opens, uses and closes connections of every kind (good ones, and each way a
 * connection can go wrong) against three listeners, a bounded number at a time, then prints one
 * JSON report on stdout: outcomes per kind, heap before and after, and what is left alive.
 *
 *   node --expose-gc test/helpers/churn.ts CONNECTIONS CONCURRENCY
 */
import { getEventListeners } from 'node:events'
import {
  SSB_NETWORK_KEY, type SecureStream, ShsError, connect, generateKeyPair, listen, type Listener
} from '../../src/index.ts'
import { randomBytes } from '../../src/crypto/primitives.ts'
import { ClientSteps, HOST, RawPeer, craftPacket, drain, handRolledClient } from './adversary.ts'
import { countResources } from './resources.ts'

const connections = Number(process.argv[2])
const concurrency = Number(process.argv[3])
/** Connections run first so that JIT compilation and pools are warm before the heap baseline. */
const WARMUP_CONNECTIONS = 1000
/** The main listener's handshake timeout: generous, nothing honest should ever meet it. */
const MAIN_TIMEOUT_MS = 5000
/** The strict listener drops a client holding half a hello after this long. */
const STRICT_TIMEOUT_MS = 100
/** The slow listener's authorize takes this long, so clients can give up while it decides. */
const SLOW_AUTHORIZE_MS = 50
const CLIENT_ABORT_AFTER_MS = 10
const CLIENT_TIMEOUT_MS = 20
const ECHO_BYTES = 1024
const GC_ROUNDS = 4
const SETTLE_LIMIT_MS = 15_000

const gc = globalThis.gc
if (gc === undefined) throw new Error('run with --expose-gc')

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const bannedKeys = generateKeyPair()
const networkKey = SSB_NETWORK_KEY
/** Passed to every honest connect: once all are done, not one listener may remain on it. */
const sharedAbort = new AbortController()

const serverOutcomes = new Map<string, number>()
const count = (map: Map<string, number>, key: string): void => { map.set(key, (map.get(key) ?? 0) + 1) }
const codeOf = (err: unknown): string => err instanceof ShsError ? err.code : `untyped: ${String(err)}`

const onHandshakeError = (err: ShsError): void => { count(serverOutcomes, `handshake ${err.code}`) }
function echo (stream: SecureStream): void {
  stream.sink(stream.source).then(() => { count(serverOutcomes, 'stream echoed') }, (err: unknown) => { count(serverOutcomes, `stream ${codeOf(err)}`) })
}

// Every client comes from 127.0.0.1, CONCURRENCY at once: no per-source cap here.
const main = await listen({ port: 0, keys: serverKeys, networkKey, timeout: MAIN_TIMEOUT_MS, maxPendingPerSource: Infinity, onHandshakeError, authorize: (key) => !Buffer.from(key).equals(bannedKeys.publicKey) }, echo)
const strict = await listen({ port: 0, keys: serverKeys, networkKey, timeout: STRICT_TIMEOUT_MS, maxPendingPerSource: Infinity, onHandshakeError }, echo)
const slow = await listen({
  port: 0, keys: serverKeys, networkKey, maxPendingPerSource: Infinity, onHandshakeError,
  authorize: async () => { await new Promise((resolve) => setTimeout(resolve, SLOW_AUTHORIZE_MS)); return true }
}, (stream) => {
  // The client gave up during authorize, so this stream's socket is already dead: reading it
  // must fail and let everything go.
  drain(stream.source).then((result) => { count(serverOutcomes, `late stream ${result.error === undefined ? 'clean' : codeOf(result.error)}`) },
    (err: unknown) => { count(serverOutcomes, `late stream ${codeOf(err)}`) })
})
const port = (listener: Listener): number => listener.address().port
const dial = async (listener: Listener, overrides: Record<string, unknown> = {}): Promise<SecureStream> =>
  await connect({ host: HOST, port: port(listener), keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey, signal: sharedAbort.signal, ...overrides })

async function expectFailure (attempt: Promise<SecureStream>): Promise<string> {
  try {
    const stream = await attempt
    stream.abort()
    return 'unexpectedly connected'
  } catch (err) {
    return codeOf(err)
  }
}

/** Each kind of connection, and the outcome it must have. */
const KINDS: Record<string, { expect: string, run: () => Promise<string> }> = {
  echo: {
    expect: 'ok',
    run: async () => {
      const stream = await dial(main)
      const message = randomBytes(ECHO_BYTES)
      const [result] = await Promise.all([drain(stream.source), stream.sink([message])])
      return result.error === undefined && Buffer.from(result.delivered).equals(message) ? 'ok' : `bad echo ${codeOf(result.error)}`
    }
  },
  wrongNetworkKey: { expect: 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO', run: async () => await expectFailure(dial(main, { networkKey: randomBytes(32) })) },
  wrongServerKey: { expect: 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH', run: async () => await expectFailure(dial(main, { remotePublicKey: bannedKeys.publicKey })) },
  unauthorized: { expect: 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH', run: async () => await expectFailure(dial(main, { keys: bannedKeys })) },
  garbage: {
    expect: 'closed unanswered',
    run: async () => {
      const peer = await RawPeer.connect(port(main))
      peer.write(randomBytes(64))
      await peer.waitClosed()
      return peer.bytesReceived === 0 ? 'closed unanswered' : 'answered'
    }
  },
  hangUp: {
    expect: 'closed',
    run: async () => {
      const peer = await RawPeer.connect(port(main))
      peer.destroy()
      await peer.closed
      return 'closed'
    }
  },
  halfHelloThenSilence: {
    expect: 'closed unanswered',
    run: async () => {
      const peer = await RawPeer.connect(port(strict))
      peer.write(new ClientSteps(clientKeys, networkKey, serverKeys.publicKey).hello.subarray(0, 10))
      await peer.waitClosed()
      return peer.bytesReceived === 0 ? 'closed unanswered' : 'answered'
    }
  },
  abortDuringAuthorize: {
    expect: 'ERR_SHS_ABORTED',
    run: async () => {
      const controller = new AbortController()
      const timer = setTimeout(() => { controller.abort() }, CLIENT_ABORT_AFTER_MS)
      try {
        return await expectFailure(dial(slow, { signal: controller.signal }))
      } finally {
        clearTimeout(timer)
      }
    }
  },
  clientTimeout: { expect: 'ERR_SHS_HANDSHAKE_TIMEOUT', run: async () => await expectFailure(dial(slow, { timeout: CLIENT_TIMEOUT_MS })) },
  tamperedPacket: {
    expect: 'closed',
    run: async () => {
      const { peer, session } = await handRolledClient(port(main), { keys: clientKeys, networkKey, serverKey: serverKeys.publicKey })
      const packet = craftPacket(session, 0, randomBytes(100))
      packet[40] = (packet[40] as number) ^ 1
      peer.write(packet)
      await peer.waitClosed()
      return 'closed'
    }
  },
  abortedStream: {
    expect: 'ok',
    run: async () => {
      const stream = await dial(main)
      stream.abort()
      return 'ok'
    }
  }
}
/** One cycle: mostly honest echo connections, and every kind of bad one. */
const CYCLE = [
  'echo', 'echo', 'echo', 'echo', 'echo', 'echo', 'wrongNetworkKey', 'wrongNetworkKey', 'wrongServerKey', 'wrongServerKey',
  'unauthorized', 'unauthorized', 'garbage', 'garbage', 'hangUp', 'halfHelloThenSilence', 'abortDuringAuthorize',
  'clientTimeout', 'tamperedPacket', 'abortedStream'
]

async function churn (total: number): Promise<Map<string, number>> {
  const outcomes = new Map<string, number>()
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const kind = CYCLE[next++ % CYCLE.length] as string
      const { run } = KINDS[kind] as { run: () => Promise<string> }
      let outcome: string
      try {
        outcome = await run()
      } catch (err) {
        outcome = `threw ${codeOf(err)}`
      }
      count(outcomes, `${kind}: ${outcome}`)
    }
  }))
  return outcomes
}

/** The sockets, servers and timers alive, as helpers/resources.ts counts them. */
function resources (): Record<string, number> {
  return Object.fromEntries(countResources())
}

/** Waits until no socket or timer is alive (closing takes a few event-loop turns). */
async function settle (): Promise<void> {
  const started = Date.now()
  for (;;) {
    const now = resources()
    if ((now.TCPSocketWrap ?? 0) === 0 && (now.Timeout ?? 0) === 0) return
    if (Date.now() - started > SETTLE_LIMIT_MS) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function collectedHeap (): Promise<number> {
  for (let i = 0; i < GC_ROUNDS; i++) {
    gc?.()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
}

function processListeners (): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const name of process.eventNames()) counts[String(name)] = process.listenerCount(name)
  return counts
}

const listenersBefore = processListeners()
await churn(WARMUP_CONNECTIONS)
await settle()
serverOutcomes.clear()
const heapBefore = await collectedHeap()
const started = performance.now()
const outcomes = await churn(connections)
const churnMs = performance.now() - started
await settle()
const heapAfter = await collectedHeap()
const whileListening = resources()
const listenersAfter = processListeners()
const sharedSignalListeners = getEventListeners(sharedAbort.signal, 'abort').length
await Promise.all([main.close(), strict.close(), slow.close()])
await new Promise((resolve) => setImmediate(resolve))
const afterClose = resources()

const expected: Record<string, number> = {}
for (let i = 0; i < connections; i++) {
  const kind = CYCLE[i % CYCLE.length] as string
  const key = `${kind}: ${(KINDS[kind] as { expect: string }).expect}`
  expected[key] = (expected[key] ?? 0) + 1
}

process.stdout.write(JSON.stringify({
  connections,
  concurrency,
  churnMs: Math.round(churnMs),
  outcomes: Object.fromEntries(outcomes),
  expected,
  serverOutcomes: Object.fromEntries(serverOutcomes),
  heapBefore,
  heapAfter,
  whileListening,
  afterClose,
  listenersBefore,
  listenersAfter,
  sharedSignalListeners
}) + '\n')
