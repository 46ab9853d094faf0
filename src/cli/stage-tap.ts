/**
 * Watches the bytes crossing a transport during the handshake and names each SHS1 message as
 * it passes, for --verbose. The handshake machine stays untouched: message sizes are fixed
 * (shs1.md, "The four messages"), so byte counts alone say which message just went by.
 */
import type { ByteDuplex, HandshakeRole } from '../index.ts'
import type { StageTimer } from './log.ts'

interface Milestone {
  readonly bytes: number
  readonly text: string
}

const HELLO_BYTES = 64
const CLIENT_AUTH_BYTES = 112
const SERVER_ACCEPT_BYTES = 80

/** Cumulative byte counts at which each message is complete, per direction and role. */
const MILESTONES: Readonly<Record<HandshakeRole, { sent: Milestone[], received: Milestone[] }>> = {
  client: {
    sent: [
      { bytes: HELLO_BYTES, text: 'sent hello (message 1)' },
      { bytes: HELLO_BYTES + CLIENT_AUTH_BYTES, text: 'sent client authentication (message 3)' }
    ],
    received: [
      { bytes: HELLO_BYTES, text: 'received server hello (message 2)' },
      { bytes: HELLO_BYTES + SERVER_ACCEPT_BYTES, text: 'received server accept (message 4)' }
    ]
  },
  server: {
    sent: [
      { bytes: HELLO_BYTES, text: 'sent hello (message 2)' },
      { bytes: HELLO_BYTES + SERVER_ACCEPT_BYTES, text: 'sent server accept (message 4)' }
    ],
    received: [
      { bytes: HELLO_BYTES, text: 'received client hello (message 1)' },
      { bytes: HELLO_BYTES + CLIENT_AUTH_BYTES, text: 'received client authentication (message 3)' }
    ]
  }
}

export function tapHandshakeStages (duplex: ByteDuplex, role: HandshakeRole, timer: StageTimer): ByteDuplex {
  const { sent, received } = MILESTONES[role]
  const tapped: ByteDuplex = {
    source: watch(duplex.source, received, timer),
    sink: async (source) => await duplex.sink(watch(source, sent, timer))
  }
  if (duplex.abort !== undefined) {
    const abort = duplex.abort.bind(duplex)
    tapped.abort = (reason) => { abort(reason) }
  }
  return tapped
}

async function * watch (
  source: ByteDuplex['source'],
  milestones: readonly Milestone[],
  timer: StageTimer
): AsyncGenerator<Uint8Array, void, undefined> {
  let total = 0
  let next = 0
  for await (const chunk of source) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    if (next < milestones.length) {
      total += bytes.byteLength
      // One chunk may complete several messages, or a message and the first box-stream bytes.
      while (next < milestones.length && total >= (milestones[next] as Milestone).bytes) {
        timer.stage((milestones[next] as Milestone).text)
        next++
      }
    }
    yield bytes
  }
}
