/**
 * A transfer rig: `sink` servers for some transports, either in this process (both ends share
 * one thread) or each in a child process (the ends run on the two cores), and a client here.
 */
import { type Peer, startPeer } from './child.ts'
import { MiB } from './config.ts'
import { type BenchServer, type ImplName, type Target, type Transport, loadTransport, makeChunk } from './impl/types.ts'

export type Placement = 'one' | 'two'

export interface Rig {
  /** One timed transfer of the rig's byte count; milliseconds. */
  transfer (impl: ImplName): Promise<number>
  close (): Promise<void>
}

const chunk = makeChunk()

export async function openRig (placement: Placement, impls: readonly ImplName[], bytes: number): Promise<Rig> {
  const clients = new Map<ImplName, { transport: Transport, target: Target }>()
  const servers: BenchServer[] = []
  const peers: Peer[] = []
  for (const impl of impls) {
    const transport = await loadTransport(impl)
    if (placement === 'one') {
      const server = await transport.serve({ kind: 'sink', bytes })
      servers.push(server)
      clients.set(impl, { transport, target: server.target })
    } else {
      const peer = await startPeer('server', [impl, 'sink', String(bytes)])
      peers.push(peer)
      const { port, publicKey } = peer.ready
      if (port === undefined) throw new Error(`the ${impl} server peer did not report its port`)
      clients.set(impl, { transport, target: { port, publicKey: new Uint8Array(Buffer.from(publicKey ?? '', 'hex')) } })
    }
  }
  return {
    async transfer (impl) {
      const client = clients.get(impl)
      if (client === undefined) throw new Error(`no ${impl} server in this rig`)
      return await client.transport.transfer(client.target, bytes, chunk)
    },
    async close () {
      for (const server of servers) await server.close()
      for (const peer of peers) await peer.exit()
    }
  }
}

export const MS_PER_SECOND = 1000

/** MiB/s for `bytes` moved in `ms`. */
export function mibPerSecond (bytes: number, ms: number): number {
  return bytes / MiB / (ms / MS_PER_SECOND)
}
