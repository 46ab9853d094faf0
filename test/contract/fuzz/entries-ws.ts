/** The WebSocket entry points (Node's `ws`), as fuzz entries. */
import type { AddressInfo } from 'node:net'
import { type WebSocket, WebSocketServer } from 'ws'
import { acceptWebSocket, connectWebSocket, listenWebSocket } from '../../../src/index.ts'
import { type Accepted, type FuzzEntry, positional } from './entry.ts'
import { REKEY_OPTIONS, REKEY_VALID, SERVER_OPTIONS, SERVER_VALID } from './entries-net.ts'
import { type FuzzFixture, echo, exchange } from './fixture.ts'
import { withOption } from './values.ts'

export function wsEntries (fixture: FuzzFixture): FuzzEntry[] {
  const client = { keys: fixture.clientKeys, networkKey: fixture.networkKey, remotePublicKey: fixture.serverKeys.publicKey }
  const url = (): string => `ws://127.0.0.1:${fixture.ws.address().port}`
  return [
    {
      name: 'connectWebSocket',
      options: ['url', 'ca', 'pingInterval', 'keys', 'networkKey', 'remotePublicKey', 'timeout', 'signal', 'onHandshakeProgress', 'idleTimeout', 'earlyData', ...REKEY_OPTIONS],
      valid: REKEY_VALID,
      async call (path, value) {
        const stream = await connectWebSocket(withOption({ ...client, url: url() }, path, value) as unknown as Parameters<typeof connectWebSocket>[0])
        return { exercise: async () => { await exchange(stream) }, close: async () => { stream.abort() } }
      }
    },
    {
      name: 'listenWebSocket',
      options: [...SERVER_OPTIONS, 'cert', 'key', 'pingInterval'],
      valid: SERVER_VALID,
      async call (path, value) {
        const options = withOption({ keys: fixture.serverKeys, networkKey: fixture.networkKey, port: 0 }, path, value)
        const listener = await listenWebSocket(options as unknown as Parameters<typeof listenWebSocket>[0], positional(path, 'onStream', value, echo))
        return {
          async exercise () {
            await exchange(await connectWebSocket({ ...client, url: `ws://127.0.0.1:${listener.address().port}` }))
          },
          close: async () => { await listener.close() }
        }
      }
    },
    {
      name: 'acceptWebSocket',
      options: ['(socket)', 'keys', 'networkKey', 'timeout', 'signal', 'onHandshakeProgress', 'authorize', 'pingInterval', 'idleTimeout', ...REKEY_OPTIONS],
      valid: REKEY_VALID,
      async call (path, value): Promise<Accepted> {
        // A WebSocket server of the application's own, whose connection the entry is given.
        const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
        await new Promise((resolve) => { server.once('listening', resolve) })
        const close = async (): Promise<void> => {
          for (const socket of server.clients) socket.terminate()
          await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
        }
        const arrived = new Promise<WebSocket>((resolve) => { server.once('connection', resolve) })
        const dialling = connectWebSocket({ ...client, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` })
        // Its outcome is the exercise's, or a hang-up this entry caused itself.
        dialling.catch(() => {})
        const socket = await arrived
        let served
        try {
          served = await acceptWebSocket(positional(path, 'socket', value, socket), withOption({ keys: fixture.serverKeys, networkKey: fixture.networkKey }, path, value) as unknown as Parameters<typeof acceptWebSocket>[1])
        } catch (err) {
          await close()
          throw err
        }
        echo(served)
        return {
          exercise: async () => { await exchange(await dialling) },
          close
        }
      }
    }
  ]
}
