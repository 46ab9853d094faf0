/**
 * Issue 5's goals, all in one place. Each is a ratio of two medians measured in the same run
 * (or of a median and a fixed budget), compared with its target.
 */
import type { Goal } from './model.ts'

/** 10 000 connections held at once by one process. */
export const HELD_CONNECTIONS_GOAL = 10_000
/** Per idle established connection: at most this much JavaScript heap, in KiB. */
const HEAP_PER_CONNECTION_KIB = 4

export const GOALS: readonly Goal[] = [
  // Box stream over TCP, both ends in one process.
  { row: 'throughput.one.ours', numerator: 'throughput.one.ours', denominator: 'floors.one', compare: '>=', target: 0.75, text: 'ours ÷ one-thread floor' },
  { row: 'throughput.one.ours', numerator: 'throughput.one.ours', denominator: 'throughput.one.reference', compare: '>=', target: 4, text: 'ours ÷ reference' },
  // Two processes.
  { row: 'throughput.two.ours', numerator: 'throughput.two.ours', denominator: 'floors.two', compare: '>=', target: 0.6, text: 'ours ÷ two-process floor' },
  { row: 'throughput.two.ours', numerator: 'throughput.two.ours', denominator: 'throughput.two.reference', compare: '>=', target: 2.5, text: 'ours ÷ reference' },
  // Inside libp2p (TCP + yamux).
  { row: 'libp2p.throughput.shs', numerator: 'libp2p.throughput.shs', denominator: 'libp2p.throughput.plaintext', compare: '>=', target: 0.8, text: 'shs ÷ plaintext' },
  { row: 'libp2p.throughput.shs', numerator: 'libp2p.throughput.shs', denominator: 'libp2p.throughput.noise', compare: '>=', target: 2, text: 'shs ÷ noise' },
  { row: 'libp2p.dial.shs', numerator: 'libp2p.dial.shs', denominator: 'libp2p.dial.plaintext', compare: '<=', target: 1.2, text: 'shs ÷ plaintext (time)' },
  { row: 'libp2p.dial.shs', numerator: 'libp2p.dial.shs', denominator: 'libp2p.dial.noise', compare: '<=', target: 0.5, text: 'shs ÷ noise (time)' },
  // Handshake.
  { row: 'handshake.memory.ours', numerator: 'handshake.memory.ours', denominator: 'handshake.floor.pair', compare: '<=', target: 1.5, text: 'ours ÷ handshake floor (time)' },
  { row: 'handshake.sequential.ours', numerator: 'handshake.sequential.reference', denominator: 'handshake.sequential.ours', compare: '>=', target: 2.5, text: 'reference time ÷ ours (speed-up)' },
  { row: 'handshake.load.ours', numerator: 'handshake.load.ours', denominator: 'handshake.floor.serverRate', compare: '>=', target: 0.7, text: 'ours ÷ server floor rate' },
  // Memory.
  { row: 'memory.heap.ours', numerator: 'memory.heap.ours', denominator: { value: HEAP_PER_CONNECTION_KIB, label: `${HEAP_PER_CONNECTION_KIB} KiB` }, compare: '<=', target: 1, text: `ours ÷ ${HEAP_PER_CONNECTION_KIB} KiB budget` },
  { row: 'memory.rss.ours', numerator: 'memory.rss.ours', denominator: 'memory.rss.tcp', compare: '<=', target: 2, text: 'ours ÷ plain TCP' },
  { row: 'memory.held.ours', numerator: 'memory.held.ours', denominator: { value: HELD_CONNECTIONS_GOAL, label: `${HELD_CONNECTIONS_GOAL} connections` }, compare: '>=', target: 1, text: `held ÷ ${HELD_CONNECTIONS_GOAL}` }
]
