#!/usr/bin/env node
/**
 * libp2p benchmark: the same two-node TCP + yamux harness secured with shs, noise and plaintext
 * (no encryption at all: the framework's own ceiling), in one run.
 *
 * For each run and each encrypter, two fresh nodes start on loopback (not timed), then:
 *  - dial + upgrade: `dial()` of the server's /p2p address until the connection is ready
 *    (TCP connect, multistream-select, the handshake, muxer negotiation);
 *  - throughput: one stream sends N bytes to a sink that answers once it has read them all;
 *    measured from the first write to that answer.
 * Runs are interleaved across encrypters so drift (thermal, other load) hits all alike. Reports
 * the median and min–max of each, and the ratios shs/noise and shs/plaintext of the medians.
 *
 * Usage: node scripts/bench/libp2p.ts [--mib N] [--runs N] [--json FILE]
 *   SHS_BENCH_MIB=N shrinks the transfer the same way (for smoke runs in CI).
 */
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p, Stream } from '@libp2p/interface'
import { plaintext } from '@libp2p/plaintext'
import { tcp } from '@libp2p/tcp'
import { type Libp2pOptions, createLibp2p } from 'libp2p'
import { shs } from '../../src/libp2p/index.ts'

export type EncrypterName = 'shs' | 'noise' | 'plaintext'
type Encrypter = NonNullable<Libp2pOptions['connectionEncrypters']>[number]

const ENCRYPTERS: Readonly<Record<EncrypterName, () => Encrypter>> = {
  shs: () => shs(),
  noise: () => noise(),
  plaintext: () => plaintext()
}

const MiB = 1024 * 1024
const DEFAULT_MIB = 256
const DEFAULT_RUNS = 5
/** Written again and again; the size of a typical application write, not tied to any framing. */
const WRITE_CHUNK_BYTES = 64 * 1024
const SINK_PROTOCOL = '/shs-bench/sink/1.0.0'
/** The sink's answer: one byte, sent once it has read everything. */
const DONE = new Uint8Array([1])

export interface MeasureOptions {
  /** Bytes per throughput run (default 256 MiB). */
  bytes?: number
  /** Runs per encrypter (default 5). */
  runs?: number
  encrypters?: readonly EncrypterName[]
  /** Called after each run, for progress output. */
  onRun?: (name: EncrypterName, run: number, sample: Sample) => void
}

export interface Sample {
  dialMs: number
  throughputMiBps: number
}

export interface Summary {
  median: number
  min: number
  max: number
}

export interface EncrypterResult {
  name: EncrypterName
  dialMs: Summary
  throughputMiBps: Summary
  samples: Sample[]
}

export interface Libp2pBenchResult {
  bytes: number
  runs: number
  node: string
  /** Both nodes share one process, so the numbers are per core; other load on the machine skews them. */
  machine: { cpus: number, model: string, loadAverageBefore: number[], loadAverageAfter: number[] }
  results: EncrypterResult[]
  /** Ratios of medians; throughput above 1 and dial time below 1 mean shs is faster. */
  ratios: {
    throughputShsOverNoise?: number
    throughputShsOverPlaintext?: number
    dialShsOverNoise?: number
    dialShsOverPlaintext?: number
  }
}

/** Runs the whole benchmark and returns its numbers (importable by a `npm run bench` runner). */
export async function measureLibp2p (options: MeasureOptions = {}): Promise<Libp2pBenchResult> {
  const bytes = options.bytes ?? DEFAULT_MIB * MiB
  const runs = options.runs ?? DEFAULT_RUNS
  const names = options.encrypters ?? ['shs', 'noise', 'plaintext']
  const samples = new Map<EncrypterName, Sample[]>(names.map((name) => [name, []]))
  const chunk = new Uint8Array(WRITE_CHUNK_BYTES).map((_, index) => index * 31)
  const loadAverageBefore = os.loadavg()

  for (let run = 0; run < runs; run++) {
    for (const name of names) {
      const sample = await measureOnce(ENCRYPTERS[name](), bytes, chunk)
      samples.get(name)?.push(sample)
      options.onRun?.(name, run, sample)
    }
  }

  const results = names.map((name): EncrypterResult => {
    const list = samples.get(name) ?? []
    return {
      name,
      dialMs: summarize(list.map((sample) => sample.dialMs)),
      throughputMiBps: summarize(list.map((sample) => sample.throughputMiBps)),
      samples: list
    }
  })
  const find = (name: EncrypterName): EncrypterResult | undefined => results.find((result) => result.name === name)
  const shsResult = find('shs')
  const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined ? undefined : a / b
  return {
    bytes,
    runs,
    node: process.version,
    machine: {
      cpus: os.availableParallelism(),
      model: os.cpus()[0]?.model ?? 'unknown',
      loadAverageBefore,
      loadAverageAfter: os.loadavg()
    },
    results,
    ratios: {
      throughputShsOverNoise: ratio(shsResult?.throughputMiBps.median, find('noise')?.throughputMiBps.median),
      throughputShsOverPlaintext: ratio(shsResult?.throughputMiBps.median, find('plaintext')?.throughputMiBps.median),
      dialShsOverNoise: ratio(shsResult?.dialMs.median, find('noise')?.dialMs.median),
      dialShsOverPlaintext: ratio(shsResult?.dialMs.median, find('plaintext')?.dialMs.median)
    }
  }
}

async function measureOnce (encrypter: Encrypter, bytes: number, chunk: Uint8Array): Promise<Sample> {
  const server = await createNode(encrypter, true)
  const client = await createNode(encrypter, false)
  try {
    const address = server.getMultiaddrs()[0]
    if (address === undefined) throw new Error('the server is not listening')

    const dialStart = performance.now()
    const connection = await client.dial(address)
    const dialMs = performance.now() - dialStart

    const stream = await connection.newStream(SINK_PROTOCOL)
    const sendStart = performance.now()
    const answered = firstMessage(stream)
    for (let sent = 0; sent < bytes; sent += chunk.byteLength) {
      const piece = bytes - sent >= chunk.byteLength ? chunk : chunk.subarray(0, bytes - sent)
      if (!stream.send(piece)) await drained(stream)
    }
    await stream.close()
    await answered
    const seconds = (performance.now() - sendStart) / 1000
    return { dialMs, throughputMiBps: bytes / MiB / seconds }
  } finally {
    await client.stop()
    await server.stop()
  }
}

async function createNode (encrypter: Encrypter, listen: boolean): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [encrypter],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false }
  })
  await node.handle(SINK_PROTOCOL, sink)
  return node
}

/** Reads until the sender's half-close, then answers with one byte. */
async function sink (stream: Stream): Promise<void> {
  try {
    for await (const chunk of stream) {
      // Discard: only the arrival of every byte is measured.
      void chunk
    }
    stream.send(DONE)
    await stream.close()
  } catch (err) {
    stream.abort(err as Error)
  }
}

async function firstMessage (stream: Stream): Promise<void> {
  for await (const chunk of stream) {
    if (chunk.byteLength > 0) return
  }
  throw new Error('the sink closed the stream without confirming receipt')
}

/** The next 'drain' (`stream.onDrain()` in @libp2p/utils 7.4 only waits once per stream). */
async function drained (stream: Stream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
    }
    const onDrain = (): void => { cleanup(); resolve() }
    const onClose = (evt: { error?: Error }): void => { cleanup(); reject(evt.error ?? new Error('stream closed while sending')) }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  })
}

function summarize (values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1
    ? sorted[middle] as number
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
  return { median, min: sorted[0] ?? Number.NaN, max: sorted[sorted.length - 1] ?? Number.NaN }
}

/** The Markdown table docs/PERFORMANCE.md shows. */
export function formatTable (result: Libp2pBenchResult): string {
  const rows = [
    '| encrypter | dial + upgrade, ms (median, min–max) | throughput, MiB/s (median, min–max) |',
    '|---|---|---|',
    ...result.results.map(({ name, dialMs, throughputMiBps }) =>
      `| ${name} | ${dialMs.median.toFixed(2)} (${dialMs.min.toFixed(2)}–${dialMs.max.toFixed(2)}) ` +
      `| ${throughputMiBps.median.toFixed(0)} (${throughputMiBps.min.toFixed(0)}–${throughputMiBps.max.toFixed(0)}) |`)
  ]
  const { ratios } = result
  const ratioLine = (label: string, value: number | undefined): string[] =>
    value === undefined ? [] : [`- ${label}: ${value.toFixed(2)}×`]
  return [
    ...rows,
    '',
    ...ratioLine('throughput shs / noise', ratios.throughputShsOverNoise),
    ...ratioLine('throughput shs / plaintext', ratios.throughputShsOverPlaintext),
    ...ratioLine('dial + upgrade time shs / noise', ratios.dialShsOverNoise),
    ...ratioLine('dial + upgrade time shs / plaintext', ratios.dialShsOverPlaintext)
  ].join('\n')
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      mib: { type: 'string' },
      runs: { type: 'string' },
      json: { type: 'string' }
    }
  })
  const mib = positiveNumber(values.mib ?? process.env.SHS_BENCH_MIB ?? String(DEFAULT_MIB), '--mib / SHS_BENCH_MIB')
  const runs = positiveNumber(values.runs ?? String(DEFAULT_RUNS), '--runs')
  console.error(`libp2p TCP + yamux, ${mib} MiB per throughput run, ${runs} runs each, ${process.version}`)
  const result = await measureLibp2p({
    bytes: Math.round(mib * MiB),
    runs: Math.round(runs),
    onRun: (name, run, sample) => {
      console.error(`  run ${run + 1} ${name.padEnd(9)} dial ${sample.dialMs.toFixed(2)} ms, ${sample.throughputMiBps.toFixed(0)} MiB/s`)
    }
  })
  console.log(formatTable(result))
  const busiest = Math.max(...result.machine.loadAverageBefore.slice(0, 1), ...result.machine.loadAverageAfter.slice(0, 1))
  if (busiest > result.machine.cpus / 2) {
    console.error(`warning: load average ${busiest.toFixed(1)} on ${result.machine.cpus} CPUs: other work skewed these numbers`)
  }
  if (values.json !== undefined) {
    await writeFile(values.json, JSON.stringify(result, null, 2) + '\n')
    console.error(`wrote ${values.json}`)
  }
}

function positiveNumber (text: string, name: string): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${text}`)
  return value
}

if (import.meta.main) {
  await main()
}
