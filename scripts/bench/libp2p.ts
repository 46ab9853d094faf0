/**
 * libp2p 3 over TCP + yamux, both nodes in one process, secured by shs (this library), noise and
 * plaintext (no encryption: the framework's own cost). Per run and encrypter two fresh nodes start
 * (not timed), then: dial + upgrade (`dial()` until the connection is ready: TCP, multistream-select,
 * the handshake, muxer negotiation; the median of several dials, each connection closed before the
 * next), and one stream sending the bulk bytes to a sink that answers
 * once it has read them all. Seal and open run in the same loop: the bound is
 * 1 / (1/one-thread floor + 1/plaintext), the box stream's crypto on top of libp2p's own cost;
 * an informational row adds the header boxes the one-thread floor leaves out. shs with the rekey
 * extension (`/shs-rekey/1.1.0`, a rekey every 64 MiB each way) runs beside plain shs.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p, Stream } from '@libp2p/interface'
import { plaintext } from '@libp2p/plaintext'
import { tcp } from '@libp2p/tcp'
import { type Libp2pOptions, createLibp2p } from 'libp2p'
import { shs } from '../../src/libp2p/index.ts'
import { type BenchConfig, HOST, KiB, MiB, US_PER_MS, log, mibPerSecond } from './config.ts'
import { measureHeaderBoxes, measureOpen, measureSeal, measureServerHandshakeFloor } from './floors.ts'
import type { Report } from './report.ts'
import { interleave, perRun, serial, summarize } from './stats.ts'
import { BENCH_REKEY } from './transports/ours.ts'
import { ONE_BYTE, writes } from './transports/types.ts'

type Encrypter = NonNullable<Libp2pOptions['connectionEncrypters']>[number]
export const ENCRYPTERS = {
  shs: () => shs(), 'shs-rekey': () => shs({ rekey: BENCH_REKEY }), noise: () => noise(), plaintext: () => plaintext()
} as const
export type EncrypterName = keyof typeof ENCRYPTERS

const WRITE_BYTES = 64 * KiB
/**
 * Dials per run; the run's sample is their median. One dial alone is mostly the first call of
 * cold code and a garbage collection that may or may not fall into it: its time moved by 2 x
 * from run to run, the ratio to noise from 0.4 to 0.7.
 */
const DIALS_PER_RUN = 9
const SINK_PROTOCOL = '/shs-bench/sink/1.0.0'

/** A TCP + yamux node with one encrypter and the bench's sink protocol; `listen`: on a free loopback port. */
export async function createNode (encrypter: Encrypter, listen: boolean): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: listen ? [`/ip4/${HOST}/tcp/0`] : [] },
    transports: [tcp()],
    connectionEncrypters: [encrypter],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    // libp2p resets a host's sixth inbound connection within a second (a flood guard); the dials
    // below come faster than that on purpose.
    connectionManager: { inboundConnectionThreshold: DIALS_PER_RUN + 1 }
  })
  await node.handle(SINK_PROTOCOL, sink)
  return node
}

/** Reads until the sender's half-close, then answers one byte. */
async function sink (stream: Stream): Promise<void> {
  try {
    for await (const chunk of stream) void chunk
    stream.send(ONE_BYTE)
    await stream.close()
  } catch (err) {
    stream.abort(err as Error)
  }
}

/** The next 'drain' (`stream.onDrain()` in @libp2p/utils 7.4 only waits once per stream). */
async function drained (stream: Stream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onDrain = (): void => { cleanup(); resolve() }
    const onClose = (evt: { error?: Error }): void => { cleanup(); reject(evt.error ?? new Error('stream closed while sending')) }
    const cleanup = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  })
}

async function measureOnce (name: EncrypterName, bytes: number): Promise<{ dialMs: number, rate: number }> {
  const server = await createNode(ENCRYPTERS[name](), true)
  const client = await createNode(ENCRYPTERS[name](), false)
  try {
    const address = server.getMultiaddrs()[0]
    if (address === undefined) throw new Error('the libp2p server is not listening')
    const dials: number[] = []
    for (let dial = 1; dial < DIALS_PER_RUN; dial++) {
      const dialStarted = performance.now()
      const connection = await client.dial(address)
      dials.push(performance.now() - dialStarted)
      await connection.close()
    }
    const dialStarted = performance.now()
    const connection = await client.dial(address)
    dials.push(performance.now() - dialStarted)
    const dialMs = summarize(dials).median
    const stream = await connection.newStream(SINK_PROTOCOL)
    const started = performance.now()
    const answered = (async () => {
      for await (const chunk of stream) if (chunk.byteLength > 0) return
      throw new Error('the sink closed the stream without answering')
    })()
    for (const piece of writes(bytes, WRITE_BYTES)) {
      if (!stream.send(piece)) await drained(stream)
    }
    await stream.close()
    await answered
    return { dialMs, rate: mibPerSecond(bytes, performance.now() - started) }
  } finally {
    await client.stop()
    await server.stop()
  }
}

export async function measureLibp2p (config: BenchConfig, report: Report): Promise<void> {
  const { bytes } = config
  log(`libp2p (TCP + yamux): shs, shs-rekey, noise, plaintext, ${bytes / MiB} MiB per transfer, ${config.runs} runs, seal, open and header boxes interleaved`)
  const dial: Record<EncrypterName, number[]> = { shs: [], 'shs-rekey': [], noise: [], plaintext: [] }
  const s = await interleave(config.runs, ['seal', 'open', 'headers', 'shs', 'shs-rekey', 'noise', 'plaintext'], async (name, run) => {
    if (name === 'seal') return measureSeal(bytes)
    if (name === 'open') return measureOpen(bytes)
    if (name === 'headers') return measureHeaderBoxes(bytes)
    const { dialMs, rate } = await measureOnce(name, bytes)
    dial[name].push(dialMs)
    log(`  run ${run + 1}/${config.runs}  ${name.padEnd(9)} dial + upgrade ${dialMs.toFixed(2)} ms, ${rate.toFixed(0)} MiB/s`)
    return rate
  })
  const oneThread = perRun(serial, s.seal, s.open)
  report.add({ label: 'libp2p plaintext (no encryption)', unit: 'MiB/s', ours: s.plaintext })
  report.add({
    label: 'libp2p TCP + yamux, one process', unit: 'MiB/s', ours: s.shs,
    peer: { name: 'noise', samples: s.noise },
    bound: { name: '1 / (1/one-thread floor + 1/plaintext)', samples: perRun(serial, oneThread, s.plaintext) },
    goals: [{ of: 'bound', compare: '>=', target: 0.8 }, { of: 'peer', compare: '>=', target: 1.3 }]
  })
  // As for the box stream over TCP: the goal's bound leaves out the header box every packet
  // seals and opens besides its body. What SHS1's framing allows inside libp2p, shown apart.
  report.add({
    label: 'libp2p TCP + yamux, one process, header boxes counted', unit: 'MiB/s', ours: s.shs,
    bound: { name: '1 / (1/seal + 1/open + 1/headers + 1/plaintext)', samples: perRun(serial, s.seal, s.open, s.headers, s.plaintext) },
    remark: 'informational: the bound SHS1\'s framing allows'
  })
  // Between rekeys the extension costs what SHS1 costs, as over plain TCP (throughput.ts).
  report.add({
    label: 'libp2p TCP + yamux with the rekey extension (a rekey every 64 MiB), one process', unit: 'MiB/s', ours: s['shs-rekey'],
    peer: { name: 'plain shs', samples: s.shs },
    goals: [{ of: 'peer', compare: '>=', target: 0.98 }]
  })
  // The least a dial with any encrypter can take: plaintext's dial (TCP, multistream-select, the
  // muxer) plus the libsodium calls of both sides of SHS1, which one process makes in turn.
  const pairFloorMs = dial.plaintext.map(() => 2 * measureServerHandshakeFloor() / US_PER_MS)
  report.add({ label: 'libp2p dial + upgrade, plaintext', unit: 'ms', ours: dial.plaintext })
  report.add({
    label: 'libp2p dial + upgrade', unit: 'ms', ours: dial.shs,
    peer: { name: 'noise', samples: dial.noise },
    bound: { name: 'plaintext dial + crypto floor of a pair', samples: perRun((a, b) => a + b, dial.plaintext, pairFloorMs) },
    goals: [{ of: 'peer', compare: '<=', target: 0.5 }]
  })
  report.add({
    label: 'libp2p dial + upgrade with the rekey extension', unit: 'ms', ours: dial['shs-rekey'],
    peer: { name: 'plain shs', samples: dial.shs },
    remark: 'informational: the same handshake under K\', one HMAC more'
  })
}
