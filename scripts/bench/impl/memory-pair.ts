/** Two connected in-memory it-pipe duplexes: the handshake with no network at all. */
import { pushable } from 'it-pushable'
import type { ByteDuplex } from '../../../src/index.ts'

export function memoryPair (): [ByteDuplex, ByteDuplex] {
  const toServer = pushable<Uint8Array>()
  const toClient = pushable<Uint8Array>()
  const end = (inbox: AsyncIterable<Uint8Array>, outbox: typeof toServer): ByteDuplex => ({
    source: inbox,
    async sink (source) {
      try {
        for await (const chunk of source) outbox.push(chunk)
      } finally {
        outbox.end()
      }
    },
    abort () { outbox.end() }
  })
  return [end(toClient, toServer), end(toServer, toClient)]
}
