/** The handshakes over any it-pipe duplex: here an in-memory pipe whose sink takes its time, as a network's does. */
import { type ByteDuplex, clientHandshake, serverHandshake } from '../../../src/index.ts'
import { secureStreamApp } from './app.ts'
import { Channel, channelRaw } from './raw.ts'
import type { Opened, WayIn } from './types.ts'

/** A sink that is not instant: each chunk is taken a turn of the event loop later, so writes stay in flight. */
const nextTurn = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

export const duplex: WayIn = {
  name: 'it-pipe duplex (clientHandshake/serverHandshake)',
  roles: ['client', 'server'],
  idleTimeout: false,
  async open (role, identities, handshake): Promise<Opened> {
    const toApp = new Channel()
    const fromApp = new Channel()
    const ours: ByteDuplex = {
      source: toApp,
      async sink (source) {
        try {
          for await (const chunk of source) {
            await nextTurn()
            await fromApp.push(chunk)
          }
        } finally {
          fromApp.end()
        }
      },
      abort () {
        fromApp.end()
        toApp.end()
      }
    }
    const raw = channelRaw(fromApp, toApp)
    const options = { keys: identities.ours, networkKey: identities.networkKey }
    const [stream] = await Promise.all([
      role === 'client'
        ? clientHandshake(ours, { ...options, remotePublicKey: identities.theirs.publicKey })
        : serverHandshake(ours, options),
      handshake(raw)
    ])
    return { app: secureStreamApp(stream), raw, close: async () => {} }
  }
}
