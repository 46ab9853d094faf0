/** An in-memory pair of connected it-pipe duplexes, for tests of the stream adapters without a network. */
import { pushable } from 'it-pushable'
import type { ByteDuplex } from '../../src/index.ts'

export interface MemoryDuplex extends ByteDuplex {
  /** Every chunk this end wrote, in order. */
  readonly written: Uint8Array[]
  /** True once this end's writing finished (like a FIN). */
  readonly ended: () => boolean
}

export function memoryDuplexPair (): [MemoryDuplex, MemoryDuplex] {
  const toServer = pushable<Uint8Array>()
  const toClient = pushable<Uint8Array>()
  return [end(toClient, toServer), end(toServer, toClient)]
}

function end (inbox: AsyncIterable<Uint8Array>, outbox: ReturnType<typeof pushable<Uint8Array>>): MemoryDuplex {
  const written: Uint8Array[] = []
  let finished = false
  return {
    written,
    ended: () => finished,
    source: inbox,
    async sink (source) {
      try {
        for await (const chunk of source) {
          written.push(chunk)
          outbox.push(chunk)
        }
      } finally {
        finished = true
        outbox.end()
      }
    },
    abort () {
      finished = true
      outbox.end()
    }
  }
}
